/**
 * What the consumer does to queue messages besides acknowledging them: keep a message away for
 * a wait it owes (ChangeMessageVisibility) and move a rejected message to the DLQ with its reason.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

/** SQS's own ceiling for a visibility timeout. */
export const MAX_VISIBILITY_SECONDS = 43_200;
/** Errors that mean "this queue is not one you received from", not "try again". */
const NOT_OUR_QUEUE_ERRORS = new Set(['AccessDenied', 'AccessDeniedException', 'QueueDoesNotExist', 'InvalidAddress', 'InvalidSecurity']);
/** SQS batch calls take at most 10 entries. */
const MAX_BATCH_ENTRIES = 10;

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

  /**
   * Asks SQS to confirm that each record was really received from the queue it names: only a
   * message received from that queue has a live receipt handle there, and the function may change
   * visibility on its own source queues only. Keeps each confirmed message away for `seconds` (the
   * rest of the invocation and a margin). Returns the records SQS did not confirm, with why; throws
   * when SQS could not answer (the batch is then retried as a whole).
   */
  async confirmReceived(records: readonly SQSRecord[], seconds: number): Promise<Map<string, string>> {
    const unconfirmed = new Map<string, string>();
    const byQueue = new Map<string, SQSRecord[]>();
    for (const record of records) byQueue.set(record.eventSourceARN, [...(byQueue.get(record.eventSourceARN) ?? []), record]);
    const visibility = Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(seconds)));
    for (const [queueArn, queueRecords] of byQueue) {
      let queueUrl: string;
      try {
        queueUrl = queueUrlFromArn(queueArn);
      } catch {
        for (const record of queueRecords) unconfirmed.set(record.messageId, `eventSourceARN: "${queueArn}" is not an SQS queue ARN`);
        continue;
      }
      for (let start = 0; start < queueRecords.length; start += MAX_BATCH_ENTRIES) {
        const chunk = queueRecords.slice(start, start + MAX_BATCH_ENTRIES);
        try {
          const output = await this.sqs.send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: queueUrl,
              Entries: chunk.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle, VisibilityTimeout: visibility })),
            }),
          );
          for (const failure of output.Failed ?? []) {
            const record = chunk[Number(failure.Id)];
            // A server-side failure says nothing about the record: let the whole batch come back.
            if (!failure.SenderFault) throw new Error(`SQS could not confirm record ${record.messageId}: ${failure.Code}`);
            unconfirmed.set(record.messageId, `receiptHandle: not live on ${queueArn} (${failure.Code}: ${failure.Message ?? ''})`.trim());
          }
        } catch (error) {
          const name = (error as { name?: string }).name ?? '';
          if (!NOT_OUR_QUEUE_ERRORS.has(name)) throw error;
          for (const record of chunk) unconfirmed.set(record.messageId, `eventSourceARN: ${queueArn} is not a queue this function receives from (${name})`);
        }
      }
    }
    return unconfirmed;
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
          // The door it came in by: a redrive must put it back there (a bare document on the bus
          // queue, or an envelope on a producer queue, would be refused as PRODUCER_UNKNOWN).
          sourceQueueArn: text(record.eventSourceARN),
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
