/**
 * From a fixture to the event the handler gets, the way Lambda's SQS poller builds it: the
 * fixture's bodies and message attributes go onto the real local queue, a real ReceiveMessage
 * takes them, and each fixture record gets the live messageId, receiptHandle, receive count and
 * queue ARN. So ChangeMessageVisibility and the DLQ move act on real messages.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { createLambdaContext } from '../../../local/lambda/context';
import { toSqsRecord } from '../../../local/lambda/sqs-event';
import { ACCOUNT_ID, REGION, type HandlerWorld, type QueueRef } from './world';

const FIXTURES = join(__dirname, '../../fixtures');

export function loadSqsEvent(name: string): SQSEvent {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as SQSEvent;
}

export interface DeliverOptions {
  /**
   * Receive every message this many times (visibility reset to 0 in between), as if earlier
   * deliveries had failed: the event carries the real ApproximateReceiveCount of the last one.
   */
  receives?: number;
  /**
   * The source queue to send to: `world.queue` (the full-grant test producer's queue, for bare
   * documents) unless said otherwise, e.g. `world.busQueue` for EventBridge envelopes.
   */
  queue?: QueueRef;
}

/** A fixture made of message bodies (no message attributes), for deliver(). */
export function sqsEventOf(bodies: (string | object)[]): SQSEvent {
  return {
    Records: bodies.map((body) => ({
      messageId: '',
      receiptHandle: '',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '', SenderId: '', ApproximateFirstReceiveTimestamp: '' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: '',
      awsRegion: REGION,
    })),
  };
}

/** Sends the fixture's records to a source queue and returns them as one received batch. */
export async function deliver(world: HandlerWorld, fixture: SQSEvent, options: DeliverOptions = {}): Promise<SQSEvent> {
  const queue = options.queue ?? world.queue;
  const fixtureBySentId = new Map<string, SQSRecord>();
  for (const record of fixture.Records) {
    const sent = await world.sqsClient.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: record.body,
        MessageAttributes: toSdkAttributes(record.messageAttributes),
        MessageGroupId: record.attributes.MessageGroupId,
        MessageDeduplicationId: record.attributes.MessageDeduplicationId,
      }),
    );
    fixtureBySentId.set(sent.MessageId!, record);
  }

  let received: Message[] = [];
  for (let delivery = 1; delivery <= (options.receives ?? 1); delivery++) {
    if (delivery > 1) await makeVisibleAgain(world, received, queue);
    received = await receiveAll(world, fixtureBySentId.size, 0, queue);
  }
  const records = received.map((message) => {
    const original = fixtureBySentId.get(message.MessageId!);
    if (!original) throw new Error(`received a message the fixture did not send: ${message.MessageId}`);
    return { ...original, ...toSqsRecord(message, queue.arn) };
  });
  // Lambda hands records over in queue order, which is the fixture's order here.
  const order = [...fixtureBySentId.keys()];
  records.sort((a, b) => order.indexOf(a.messageId) - order.indexOf(b.messageId));
  return { Records: records };
}

/** Receives until `count` messages are in hand (the local queue returns what is visible at once). */
export async function receiveAll(world: HandlerWorld, count: number, waitTimeSeconds = 0, queue = world.queue): Promise<Message[]> {
  const messages: Message[] = [];
  for (let attempt = 0; attempt < 5 && messages.length < count; attempt++) {
    const output = await world.sqsClient.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: Math.min(10, count - messages.length),
        WaitTimeSeconds: waitTimeSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    messages.push(...(output.Messages ?? []));
  }
  if (messages.length < count) throw new Error(`expected ${count} messages on ${queue.name}, received ${messages.length}`);
  return messages;
}

/** One ReceiveMessage: what the queue would hand a poller right now (after an optional long poll). */
export async function receiveNow(world: HandlerWorld, waitTimeSeconds = 0): Promise<Message[]> {
  const output = await world.sqsClient.send(
    new ReceiveMessageCommand({
      QueueUrl: world.queue.url,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: waitTimeSeconds,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return output.Messages ?? [];
}

async function makeVisibleAgain(world: HandlerWorld, messages: Message[], queue: QueueRef): Promise<void> {
  for (const message of messages) {
    await world.sqsClient.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: queue.url, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }),
    );
  }
}

function toSdkAttributes(attributes: SQSMessageAttributes): Record<string, MessageAttributeValue> | undefined {
  const entries = Object.entries(attributes ?? {});
  if (entries.length === 0) return undefined;
  return Object.fromEntries(
    entries.map(([name, value]) => [
      name,
      {
        DataType: value.dataType,
        ...(value.stringValue !== undefined && { StringValue: value.stringValue }),
        ...(value.binaryValue !== undefined && { BinaryValue: Buffer.from(value.binaryValue, 'base64') }),
      },
    ]),
  );
}

/** A Lambda context whose deadline is `remainingMs` from now. */
export function lambdaContext(remainingMs = 30_000): Context {
  return createLambdaContext({
    functionName: 'identity-provisioner-consumer',
    region: REGION,
    accountId: ACCOUNT_ID,
    memoryLimitInMB: 512,
    deadline: Date.now() + remainingMs,
  });
}

export function failedMessageIds(response: SQSBatchResponse | void): string[] {
  return (response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier).sort();
}
