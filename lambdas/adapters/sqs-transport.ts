/**
 * What the consumer does to queue messages besides acknowledging them: keep a message away for
 * a wait it owes (ChangeMessageVisibility) and move a rejected message to the DLQ with its reason.
 */
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

/** SQS's own ceiling for a visibility timeout. */
export const MAX_VISIBILITY_SECONDS = 43_200;
/** Message attribute values are capped well below SQS's 256 KiB; reasons are short anyway. */
const MAX_REASON_LENGTH = 4_000;

export interface Rejection {
  eventId: string;
  code: string;
  reason: string;
  rejectedAt: string;
}

export class SqsTransport {
  constructor(
    private readonly sqs: SQSClient,
    private readonly deadLetterQueueUrl: string,
    private readonly fifo: boolean,
  ) {}

  /** The message comes back no earlier than `seconds` from now. */
  async delayRedelivery(record: SQSRecord, seconds: number): Promise<void> {
    await this.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrlFromArn(record.eventSourceARN),
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(seconds))),
      }),
    );
  }

  /** The original body, unchanged, with why it was rejected as message attributes. */
  async moveToDeadLetterQueue(record: SQSRecord, rejection: Rejection): Promise<void> {
    const text = (value: string) => ({ DataType: 'String', StringValue: value });
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.deadLetterQueueUrl,
        MessageBody: record.body,
        MessageAttributes: {
          rejectionCode: text(rejection.code),
          rejectionReason: text(rejection.reason.slice(0, MAX_REASON_LENGTH)),
          eventId: text(rejection.eventId),
          rejectedAt: text(rejection.rejectedAt),
          sourceMessageId: text(record.messageId),
        },
        ...(this.fifo && {
          MessageGroupId: record.attributes.MessageGroupId ?? 'rejected',
          MessageDeduplicationId: record.messageId,
        }),
      }),
    );
  }
}

/** arn:aws:sqs:<region>:<account>:<name> -> https://sqs.<region>.amazonaws.com/<account>/<name> */
export function queueUrlFromArn(arn: string): string {
  const [, partition, service, region, account, name] = arn.split(':');
  if (service !== 'sqs' || !region || !account || !name) throw new Error(`not an SQS queue ARN: ${arn}`);
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}
