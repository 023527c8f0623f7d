/**
 * What the consumer does to queue messages besides acknowledging them: keep a message away for
 * a wait it owes (ChangeMessageVisibility) and move a rejected message to the DLQ with its reason.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  SendMessageCommand,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

/** SQS's own ceiling for a visibility timeout. */
export const MAX_VISIBILITY_SECONDS = 43_200;
/** Errors that mean "this queue is not one you received from", not "try again". */
const NOT_OUR_QUEUE_ERRORS = new Set(['AccessDenied', 'AccessDeniedException', 'QueueDoesNotExist', 'InvalidAddress', 'InvalidSecurity']);
/** SQS batch calls take at most 10 entries. */
const MAX_BATCH_ENTRIES = 10;

/** SQS's largest MaximumMessageSize (raised from 256 KiB in 2025): what the stack gives the DLQ. */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;
/** The rejection reason is kept to this many bytes of UTF-8, its truncation marker included. */
export const MAX_REASON_BYTES = 4_096;
/** Every other rejection attribute value is kept to this many bytes of UTF-8. */
export const MAX_ATTRIBUTE_VALUE_BYTES = 1_024;
/** Stands in for a value that is empty: SQS refuses an empty attribute value. */
const EMPTY_VALUE = '(none)';

/** The attributes a dead-lettered message carries, in the order they are given up when space runs out. */
const REJECTION_ATTRIBUTES = [
  // Needed to put the message back (a redrive must go to the door it came in by) and to find it.
  { name: 'sourceQueueArn', maxBytes: MAX_ATTRIBUTE_VALUE_BYTES, required: true },
  { name: 'sourceMessageId', maxBytes: MAX_ATTRIBUTE_VALUE_BYTES, required: true },
  { name: 'rejectionCode', maxBytes: MAX_ATTRIBUTE_VALUE_BYTES, required: true },
  { name: 'rejectedAt', maxBytes: MAX_ATTRIBUTE_VALUE_BYTES, required: false },
  { name: 'eventId', maxBytes: MAX_ATTRIBUTE_VALUE_BYTES, required: false },
  { name: 'rejectionReason', maxBytes: MAX_REASON_BYTES, required: false },
] as const;
type RejectionAttributeName = (typeof REJECTION_ATTRIBUTES)[number]['name'];
const STRING = 'String';

/**
 * The most bytes the rejection attributes add to a message (names, data types and values, as SQS
 * counts them). A DLQ whose MaximumMessageSize is at least the source queues' plus this takes
 * every rejected message whole, with every attribute.
 */
export const DEAD_LETTER_ATTRIBUTES_MAX_BYTES = REJECTION_ATTRIBUTES.reduce(
  (sum, attribute) => sum + utf8Bytes(attribute.name) + utf8Bytes(STRING) + attribute.maxBytes,
  0,
);

export interface Rejection {
  eventId: string;
  code: string;
  reason: string;
  rejectedAt: string;
}

/** A message SQS would refuse because of its size, even with the least it can carry. */
export class DeadLetterMessageTooLargeError extends Error {
  constructor(bodyBytes: number, maxBytes: number) {
    super(
      `a rejected message of ${bodyBytes} bytes cannot be moved to a DLQ that takes at most ${maxBytes} bytes ` +
        `(body and message attributes): raise the DLQ's MaximumMessageSize above the source queues'`,
    );
    this.name = 'DeadLetterMessageTooLargeError';
  }
}

export class SqsTransport {
  /**
   * @param deadLetterQueueMaxMessageBytes the DLQ's MaximumMessageSize: every message sent there is
   *   built to fit it, body plus attributes. SQS's largest (1 MiB), which the stack configures, when absent.
   */
  constructor(
    private readonly sqs: SQSClient,
    private readonly deadLetterQueueUrl: string,
    private readonly fifo: boolean,
    private readonly deadLetterQueueMaxMessageBytes: number = SQS_MAX_MESSAGE_BYTES,
  ) {
    if (!Number.isInteger(deadLetterQueueMaxMessageBytes) || deadLetterQueueMaxMessageBytes < 1_024 || deadLetterQueueMaxMessageBytes > SQS_MAX_MESSAGE_BYTES) {
      throw new Error(`deadLetterQueueMaxMessageBytes must be a whole number from 1024 to ${SQS_MAX_MESSAGE_BYTES}, got ${deadLetterQueueMaxMessageBytes}`);
    }
  }

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

  /**
   * The original body, unchanged, with why it was rejected as message attributes, built to fit the
   * DLQ's maximum size (deadLetterMessage). A send that failed on size would leave the message to
   * be retried and rejected again, never disposed of.
   */
  async moveToDeadLetterQueue(record: SQSRecord, rejection: Rejection): Promise<void> {
    const message = deadLetterMessage(record, rejection, this.deadLetterQueueMaxMessageBytes);
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.deadLetterQueueUrl,
        MessageBody: message.body,
        MessageAttributes: message.attributes,
        ...(this.fifo && {
          MessageGroupId: record.attributes.MessageGroupId ?? 'rejected',
          MessageDeduplicationId: record.messageId,
        }),
      }),
    );
  }
}

/**
 * The size SQS counts a message at, against the queue's MaximumMessageSize: the body's UTF-8
 * bytes plus, for each message attribute, the bytes of its name, its data type and its value.
 */
export function sqsMessageBytes(body: string, attributes: Record<string, MessageAttributeValue>): number {
  let total = utf8Bytes(body);
  for (const [name, value] of Object.entries(attributes)) {
    total += utf8Bytes(name) + utf8Bytes(value.DataType ?? '');
    total += value.BinaryValue !== undefined ? value.BinaryValue.byteLength : utf8Bytes(value.StringValue ?? '');
  }
  return total;
}

/**
 * The DLQ message for a rejected record: its body unchanged, and the rejection as String
 * attributes (sourceQueueArn, sourceMessageId, rejectionCode, rejectedAt, eventId,
 * rejectionReason), each value made acceptable to SQS (characters SQS refuses become U+FFFD,
 * an empty value becomes `(none)`) and bounded in bytes: a longer value is cut on a code point
 * with a visible `…[truncated, N bytes]` marker, the reason at 4 KiB, the others at 1 KiB.
 * When the whole would still exceed `maxBytes`, the reason is cut shorter, then the optional
 * attributes are left out (reason, eventId, rejectedAt, in that order); a message that cannot fit
 * even then is refused with DeadLetterMessageTooLargeError (the DLQ is smaller than the source
 * queues plus DEAD_LETTER_ATTRIBUTES_MAX_BYTES).
 */
export function deadLetterMessage(
  record: SQSRecord,
  rejection: Rejection,
  maxBytes: number,
): { body: string; attributes: Record<string, MessageAttributeValue> } {
  const values: Record<RejectionAttributeName, string> = {
    sourceQueueArn: record.eventSourceARN,
    sourceMessageId: record.messageId,
    rejectionCode: rejection.code,
    rejectedAt: rejection.rejectedAt,
    eventId: rejection.eventId,
    rejectionReason: rejection.reason,
  };
  const bounded = new Map<RejectionAttributeName, string>(
    REJECTION_ATTRIBUTES.map(({ name, maxBytes: valueMax }) => [name, truncateUtf8(attributeText(values[name]), valueMax)]),
  );
  const build = () =>
    Object.fromEntries([...bounded].map(([name, value]) => [name, { DataType: STRING, StringValue: value }])) as Record<
      string,
      MessageAttributeValue
    >;
  let attributes = build();
  let excess = sqsMessageBytes(record.body, attributes) - maxBytes;
  if (excess <= 0) return { body: record.body, attributes };

  // Cut the reason to what is left, keeping at least its marker; else give it up.
  const reason = bounded.get('rejectionReason')!;
  const shorter = truncateUtf8(attributeText(values.rejectionReason), utf8Bytes(reason) - excess);
  if (shorter.length > 0) bounded.set('rejectionReason', shorter);
  else bounded.delete('rejectionReason');
  attributes = build();
  excess = sqsMessageBytes(record.body, attributes) - maxBytes;
  for (const { name, required } of [...REJECTION_ATTRIBUTES].reverse()) {
    if (excess <= 0) break;
    if (required || !bounded.has(name)) continue;
    bounded.delete(name);
    attributes = build();
    excess = sqsMessageBytes(record.body, attributes) - maxBytes;
  }
  if (excess > 0) throw new DeadLetterMessageTooLargeError(utf8Bytes(record.body), maxBytes);
  return { body: record.body, attributes };
}

/** SQS takes #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF in attribute values, as in bodies. */
const REFUSED_BY_SQS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function attributeText(value: string): string {
  const text = value.replace(REFUSED_BY_SQS, '\uFFFD');
  return text.length > 0 ? text : EMPTY_VALUE;
}

/**
 * `value` when it takes at most `maxBytes` bytes of UTF-8; else as many whole code points as fit
 * followed by `…[truncated, N bytes]` (N: the whole value's size), or just the marker when nothing
 * more fits, or '' when not even the marker does.
 */
export function truncateUtf8(value: string, maxBytes: number): string {
  const total = utf8Bytes(value);
  if (total <= maxBytes) return value;
  const marker = `…[truncated, ${total} bytes]`;
  let room = maxBytes - utf8Bytes(marker);
  if (room < 0) return '';
  let kept = '';
  for (const codePoint of value) {
    room -= utf8Bytes(codePoint);
    if (room < 0) break;
    kept += codePoint;
  }
  return kept + marker;
}

function utf8Bytes(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/** arn:aws:sqs:<region>:<account>:<name> -> https://sqs.<region>.amazonaws.com/<account>/<name> */
export function queueUrlFromArn(arn: string): string {
  const [, partition, service, region, account, name] = arn.split(':');
  if (service !== 'sqs' || !region || !account || !name) throw new Error(`not an SQS queue ARN: ${arn}`);
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}
