/**
 * A rejected message is moved to the DLQ with its original body and the rejection as message
 * attributes. SQS counts the attributes (names, types, values) in the message's size, so a body
 * that just fit its source queue must still fit the DLQ with them: the transport bounds every
 * attribute in bytes and measures the whole before sending. The DLQ tests go through the real
 * SQSClient to the local SQS, which counts sizes as SQS does.
 */
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import {
  DEAD_LETTER_ATTRIBUTES_MAX_BYTES,
  DeadLetterMessageTooLargeError,
  MAX_ATTRIBUTE_VALUE_BYTES,
  MAX_REASON_BYTES,
  SqsTransport,
  deadLetterMessage,
  sqsMessageBytes,
  truncateUtf8,
  type Rejection,
} from '../../lambdas/adapters/sqs-transport';
import { toSqsRecord } from '../../local/lambda/sqs-event';
import { startLocalSqs, type LocalSqs } from '../../local/sqs';
import { DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES, SOURCE_QUEUE_MAX_MESSAGE_BYTES } from '../../lib/identity-provisioner';
import { sqsClientFor } from '../local/support';

const bytes = (value: string) => Buffer.byteLength(value, 'utf8');
const SOURCE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:identity-provisioner-queue';

/** A 10 KB reason, mostly three- and four-byte characters, that a validator might have built from the input. */
const LONG_REASON = `groups[0].displayName: ${'無効な名前😀'.repeat(600)} is not a valid display name`;

function rejection(overrides: Partial<Rejection> = {}): Rejection {
  return { eventId: 'evt-1', code: 'INVALID_EVENT', reason: 'type: is required', rejectedAt: '2024-05-01T09:00:00.000Z', ...overrides };
}

function record(body: string, overrides: Partial<SQSRecord> = {}): SQSRecord {
  return {
    messageId: '2e1424d4-f796-459a-8184-9c92662be6da',
    receiptHandle: 'handle',
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'AIDA', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: SOURCE_ARN,
    awsRegion: 'eu-west-1',
    ...overrides,
  };
}

const valueOf = (attributes: Record<string, { StringValue?: string }>, name: string) => attributes[name]?.StringValue;

describe('truncateUtf8', () => {
  it('keeps a value that fits', () => {
    expect(truncateUtf8('short', 5)).toBe('short');
  });

  it('cuts on a code point, never inside a character, and says how long the whole was', () => {
    const value = '😀'.repeat(100); // 400 bytes
    const cut = truncateUtf8(value, 50);
    expect(bytes(cut)).toBeLessThanOrEqual(50);
    expect(cut).toMatch(/^(😀)+…\[truncated, 400 bytes\]$/);
    expect(cut).not.toContain('\uFFFD');
    // Every kept character is whole: the string is well formed UTF-16.
    expect(Buffer.from(cut, 'utf8').toString('utf8')).toBe(cut);
  });

  it('is only the marker when nothing more fits, and empty when not even that does', () => {
    expect(truncateUtf8('x'.repeat(100), bytes('…[truncated, 100 bytes]'))).toBe('…[truncated, 100 bytes]');
    expect(truncateUtf8('x'.repeat(100), 5)).toBe('');
  });
});

describe('deadLetterMessage', () => {
  it('keeps the body and every attribute as they are when they are short', () => {
    const message = deadLetterMessage(record('{"id":"e"}'), rejection(), 1_048_576);
    expect(message.body).toBe('{"id":"e"}');
    expect(Object.fromEntries(Object.entries(message.attributes).map(([name, value]) => [name, value.StringValue]))).toEqual({
      sourceQueueArn: SOURCE_ARN,
      sourceMessageId: '2e1424d4-f796-459a-8184-9c92662be6da',
      rejectionCode: 'INVALID_EVENT',
      rejectedAt: '2024-05-01T09:00:00.000Z',
      eventId: 'evt-1',
      rejectionReason: 'type: is required',
    });
    expect(Object.values(message.attributes).every((value) => value.DataType === 'String')).toBe(true);
  });

  it('bounds the reason at 4 KiB and every other value at 1 KiB, with a visible marker', () => {
    const message = deadLetterMessage(record('{}'), rejection({ reason: LONG_REASON, eventId: '😀'.repeat(2_000) }), 1_048_576);
    const reason = valueOf(message.attributes, 'rejectionReason')!;
    expect(bytes(LONG_REASON)).toBeGreaterThan(10_000);
    expect(bytes(reason)).toBeLessThanOrEqual(MAX_REASON_BYTES);
    expect(bytes(reason)).toBeGreaterThan(MAX_REASON_BYTES - 4);
    expect(reason).toMatch(new RegExp(`…\\[truncated, ${bytes(LONG_REASON)} bytes\\]$`));
    expect(LONG_REASON.startsWith(reason.slice(0, reason.indexOf('…[truncated')))).toBe(true);
    expect(bytes(valueOf(message.attributes, 'eventId')!)).toBeLessThanOrEqual(MAX_ATTRIBUTE_VALUE_BYTES);
    expect(sqsMessageBytes('{}', message.attributes) - 2).toBeLessThanOrEqual(DEAD_LETTER_ATTRIBUTES_MAX_BYTES);
  });

  it('never sends an empty value, and replaces characters SQS refuses', () => {
    const message = deadLetterMessage(record('{}'), rejection({ eventId: '', reason: 'bad\u0000byte \uD800 here' }), 1_048_576);
    expect(valueOf(message.attributes, 'eventId')).toBe('(none)');
    expect(valueOf(message.attributes, 'rejectionReason')).toBe('bad\uFFFDbyte \uFFFD here');
  });

  it('cuts the reason shorter, then leaves optional attributes out, to fit a smaller DLQ', () => {
    const body = 'b'.repeat(2_000);
    const roomy = deadLetterMessage(record(body), rejection({ reason: LONG_REASON }), 2_000 + 400);
    expect(sqsMessageBytes(body, roomy.attributes)).toBeLessThanOrEqual(2_400);
    expect(valueOf(roomy.attributes, 'rejectionReason')).toMatch(/…\[truncated, \d+ bytes\]$/);

    const tight = deadLetterMessage(record(body), rejection({ reason: LONG_REASON }), 2_000 + 175);
    expect(sqsMessageBytes(body, tight.attributes)).toBeLessThanOrEqual(2_175);
    expect(Object.keys(tight.attributes)).toEqual(expect.arrayContaining(['sourceQueueArn', 'sourceMessageId', 'rejectionCode']));
    expect(tight.attributes).not.toHaveProperty('rejectionReason');
  });

  it('refuses, before any call, a body the DLQ cannot take even with the least it must carry', () => {
    expect(() => deadLetterMessage(record('b'.repeat(2_000)), rejection(), 2_050)).toThrow(DeadLetterMessageTooLargeError);
  });
});

describe('SqsTransport.moveToDeadLetterQueue into the local SQS', () => {
  let sqs: LocalSqs;
  let client: SQSClient;
  let counter = 0;

  beforeAll(async () => {
    sqs = await startLocalSqs();
    client = sqsClientFor(sqs.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await sqs.stop();
  });

  /** A queue with the stack's sizes: its URL and ARN. */
  const queue = async (maximumMessageSize: number) => {
    counter += 1;
    const { QueueUrl } = await client.send(
      new CreateQueueCommand({ QueueName: `size-${counter}`, Attributes: { MaximumMessageSize: String(maximumMessageSize) } }),
    );
    return { url: QueueUrl!, arn: sqs.queue(`size-${counter}`).arn };
  };

  /** Sends `body` to the source queue (proving it fits there) and receives it as the function would. */
  const received = async (source: { url: string; arn: string }, body: string): Promise<SQSRecord> => {
    await client.send(new SendMessageCommand({ QueueUrl: source.url, MessageBody: body }));
    const { Messages } = await client.send(new ReceiveMessageCommand({ QueueUrl: source.url, MessageSystemAttributeNames: ['All'] }));
    expect(Messages).toHaveLength(1);
    return toSqsRecord(Messages![0], source.arn);
  };

  const dlqMessages = async (url: string) =>
    (await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }))).Messages ?? [];

  /** A JSON body of exactly `size` bytes, multi-byte characters included. */
  const bodyOf = (size: number) => {
    const head = '{"id":"big","note":"名前';
    const tail = '"}';
    return head + 'x'.repeat(size - bytes(head) - bytes(tail)) + tail;
  };

  it('lands a body 1 byte under the source queue\'s limit, with a 10 KB multi-byte reason, in the stack\'s DLQ', async () => {
    const source = await queue(SOURCE_QUEUE_MAX_MESSAGE_BYTES);
    const dlq = await queue(DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES);
    const body = bodyOf(SOURCE_QUEUE_MAX_MESSAGE_BYTES - 1);
    expect(bytes(body)).toBe(262_143);
    const sourceRecord = await received(source, body);

    await new SqsTransport(client, dlq.url, false, DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES).moveToDeadLetterQueue(
      sourceRecord,
      rejection({ eventId: 'big', reason: LONG_REASON }),
    );

    const [moved, ...others] = await dlqMessages(dlq.url);
    expect(others).toEqual([]);
    expect(moved.Body).toBe(body);
    const reason = moved.MessageAttributes?.rejectionReason?.StringValue ?? '';
    expect(bytes(reason)).toBeLessThanOrEqual(MAX_REASON_BYTES);
    expect(reason).toMatch(/…\[truncated, \d+ bytes\]$/);
    expect(moved.MessageAttributes?.sourceQueueArn?.StringValue).toBe(source.arn);
    expect(moved.MessageAttributes?.sourceMessageId?.StringValue).toBe(sourceRecord.messageId);
    expect(moved.MessageAttributes?.rejectionCode?.StringValue).toBe('INVALID_EVENT');
  });

  it('still lands it, with a shorter reason, in a DLQ no larger than the source queue (fitted to the size it is given)', async () => {
    const source = await queue(SOURCE_QUEUE_MAX_MESSAGE_BYTES);
    const dlq = await queue(SOURCE_QUEUE_MAX_MESSAGE_BYTES);
    const body = bodyOf(SOURCE_QUEUE_MAX_MESSAGE_BYTES - 400);
    const sourceRecord = await received(source, body);

    // Told the DLQ's real size, the transport fits the message to it.
    await new SqsTransport(client, dlq.url, false, SOURCE_QUEUE_MAX_MESSAGE_BYTES).moveToDeadLetterQueue(
      sourceRecord,
      rejection({ reason: LONG_REASON }),
    );
    const [moved] = await dlqMessages(dlq.url);
    expect(moved.Body).toBe(body);
    const reason = moved.MessageAttributes?.rejectionReason?.StringValue ?? '';
    expect(reason).toMatch(/…\[truncated, \d+ bytes\]$/);
    expect(bytes(reason)).toBeLessThan(400);

    // Told a larger size than the DLQ has, it sends everything and SQS refuses it: the failure this prevents.
    const other = await received(source, body);
    await expect(
      new SqsTransport(client, dlq.url, false, DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES).moveToDeadLetterQueue(other, rejection({ reason: LONG_REASON })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining('Message must be shorter than') });
  });

  it('refuses a DLQ size SQS does not allow', () => {
    expect(() => new SqsTransport(client, 'http://x', false, 1_048_577)).toThrow(/deadLetterQueueMaxMessageBytes/);
    expect(() => new SqsTransport(client, 'http://x', false, 1_023)).toThrow(/deadLetterQueueMaxMessageBytes/);
  });
});
