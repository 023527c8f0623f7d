import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { runEventSourceMapping, type BatchOutcome, type RunningEventSourceMapping } from '../../local/lambda';
import { startLocalSqs, type LocalSqs } from '../../local/sqs';
import { sleep, sqsClientFor, TEST_SECOND_MS, waitFor } from './support';

describe('local SQS → Lambda event source mapping', () => {
  let sqs: LocalSqs;
  let client: SQSClient;
  let mapping: RunningEventSourceMapping | undefined;
  let queueCounter = 0;

  beforeAll(async () => {
    sqs = await startLocalSqs({ secondMs: TEST_SECOND_MS, region: 'eu-central-1', accountId: '123456789012' });
    client = sqsClientFor(sqs.endpoint);
  });
  afterEach(async () => {
    await mapping?.stop();
    mapping = undefined;
  });
  afterAll(async () => {
    client.destroy();
    await sqs.stop();
  });

  /** A queue with a 2 s (200 ms here) visibility timeout and, optionally, a DLQ. */
  const newQueue = (options: { maxReceiveCount?: number; fifo?: boolean } = {}): string => {
    queueCounter += 1;
    const suffix = options.fifo ? '.fifo' : '';
    const attributes: Record<string, string> = { VisibilityTimeout: '2', ...(options.fifo && { FifoQueue: 'true', ContentBasedDeduplication: 'true' }) };
    if (options.maxReceiveCount !== undefined) {
      const dlq = sqs.createQueue(`dlq${queueCounter}${suffix}`, options.fifo ? { FifoQueue: 'true' } : {});
      attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: options.maxReceiveCount });
    }
    return sqs.createQueue(`source${queueCounter}${suffix}`, attributes).name;
  };
  const sendAll = async (queueName: string, bodies: string[], extra: { MessageGroupId?: string } = {}): Promise<void> => {
    for (let start = 0; start < bodies.length; start += 10) {
      await client.send(
        new SendMessageBatchCommand({
          QueueUrl: `${sqs.endpoint}/123456789012/${queueName}`,
          Entries: bodies.slice(start, start + 10).map((body, index) => ({ Id: String(index), MessageBody: body, ...extra })),
        }),
      );
    }
  };
  const queueIsEmpty = (queueName: string) => (): boolean => sqs.queue(queueName).messages.length === 0;

  it('delivers an SQSEvent and a Context shaped as AWS delivers them', async () => {
    const queueName = newQueue();
    await client.send(
      new SendMessageCommand({
        QueueUrl: `${sqs.endpoint}/123456789012/${queueName}`,
        MessageBody: '{"user":"ada"}',
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'create' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from('hi') },
        },
      }),
    );
    const seen: Array<{ event: SQSEvent; context: Context; remainingAtStart: number; remainingLater: number }> = [];
    mapping = await runEventSourceMapping({
      sqs,
      queueName,
      functionName: 'provisioner',
      functionTimeoutMs: 1000,
      handler: async (event, context) => {
        const remainingAtStart = context.getRemainingTimeInMillis();
        await sleep(60);
        seen.push({ event, context, remainingAtStart, remainingLater: context.getRemainingTimeInMillis() });
      },
      stopWhen: () => seen.length > 0,
    });
    await mapping.stopped;

    const [{ event, context, remainingAtStart, remainingLater }] = seen;
    const record: SQSRecord = event.Records[0];
    expect(record).toEqual({
      messageId: expect.any(String),
      receiptHandle: expect.any(String),
      body: '{"user":"ada"}',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.stringMatching(/^\d{13}$/),
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
      },
      messageAttributes: {
        kind: { stringValue: 'create', stringListValues: [], binaryListValues: [], dataType: 'String' },
        blob: { binaryValue: Buffer.from('hi').toString('base64'), stringListValues: [], binaryListValues: [], dataType: 'Binary' },
      },
      md5OfBody: createHash('md5').update('{"user":"ada"}').digest('hex'),
      md5OfMessageAttributes: expect.stringMatching(/^[0-9a-f]{32}$/),
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:eu-central-1:123456789012:${queueName}`,
      awsRegion: 'eu-central-1',
    });
    expect(context).toMatchObject({
      functionName: 'provisioner',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:eu-central-1:123456789012:function:provisioner',
      logGroupName: '/aws/lambda/provisioner',
      awsRequestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(remainingAtStart).toBeLessThanOrEqual(1000);
    expect(remainingLater).toBeLessThan(remainingAtStart);
    expect(sqs.queue(queueName).messages).toHaveLength(0);
  });

  it('deletes the records that succeeded and returns only the reported failures to the queue', async () => {
    const queueName = newQueue();
    await sendAll(queueName, ['ok-1', 'fail-1', 'ok-2', 'fail-2']);
    const deliveries: string[] = [];
    const outcomes: BatchOutcome[] = [];
    mapping = await runEventSourceMapping({
      sqs,
      queueName,
      batchSize: 10,
      maxConcurrency: 2,
      functionTimeoutMs: 150,
      handler: async (event): Promise<SQSBatchResponse> => {
        deliveries.push(...event.Records.map((r) => r.body));
        // Fail each "fail-*" record on its first delivery only.
        const failed = event.Records.filter((r) => r.body.startsWith('fail') && r.attributes.ApproximateReceiveCount === '1');
        return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })) };
      },
      onBatch: (outcome) => outcomes.push(outcome),
    });
    await waitFor(queueIsEmpty(queueName), 'queue drained');
    await mapping.stop();
    expect([...deliveries].sort()).toEqual(['fail-1', 'fail-1', 'fail-2', 'fail-2', 'ok-1', 'ok-2']);
    expect(outcomes.some((o) => o.result === 'partialFailure')).toBe(true);
    expect(mapping.stats()).toMatchObject({ records: 6, deletedRecords: 4, failedRecords: 2, failedInvocations: 0 });
  });

  it('returns the whole batch when the handler throws', async () => {
    const queueName = newQueue();
    await sendAll(queueName, ['a', 'b', 'c']);
    const receiveCounts: string[][] = [];
    mapping = await runEventSourceMapping({
      sqs,
      queueName,
      maxConcurrency: 2,
      functionTimeoutMs: 150,
      handler: async (event) => {
        receiveCounts.push(event.Records.map((r) => r.attributes.ApproximateReceiveCount));
        if (receiveCounts.length === 1) throw new Error('downstream unavailable');
      },
    });
    await waitFor(queueIsEmpty(queueName), 'queue drained');
    await mapping.stop();
    expect(receiveCounts[0]).toEqual(['1', '1', '1']);
    expect(receiveCounts.slice(1).flat()).toEqual(['2', '2', '2']);
    expect(mapping.stats()).toMatchObject({ failedInvocations: 1, failedRecords: 3, deletedRecords: 3 });
  });

  it('fails the whole batch when batchItemFailures names an unknown message id', async () => {
    const queueName = newQueue();
    await sendAll(queueName, ['a', 'b']);
    const outcomes: BatchOutcome[] = [];
    mapping = await runEventSourceMapping({
      sqs,
      queueName,
      functionTimeoutMs: 150,
      handler: async () => (outcomes.length === 0 ? { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] } : undefined),
      onBatch: (outcome) => outcomes.push(outcome),
    });
    await waitFor(queueIsEmpty(queueName), 'queue drained');
    await mapping.stop();
    expect(outcomes[0]).toMatchObject({ result: 'invalidResponse' });
    expect(outcomes[0].failedMessageIds).toHaveLength(2);
  });

  it('treats a handler that outlives the function timeout as failed: the batch returns', async () => {
    const queueName = newQueue();
    await sendAll(queueName, ['slow']);
    const outcomes: BatchOutcome[] = [];
    mapping = await runEventSourceMapping({
      sqs,
      queueName,
      functionTimeoutMs: 50,
      handler: async (event) => {
        if (event.Records[0].attributes.ApproximateReceiveCount === '1') await sleep(150);
      },
      onBatch: (outcome) => outcomes.push(outcome),
    });
    await waitFor(queueIsEmpty(queueName), 'queue drained');
    await mapping.stop();
    expect(outcomes.map((o) => o.result)).toEqual(['timeout', 'success']);
    expect(mapping.stats()).toMatchObject({ timedOutInvocations: 1, deletedRecords: 1 });
  });

  it('never runs more than maxConcurrency invocations at once', async () => {
    const queueName = newQueue();
    await sendAll(queueName, Array.from({ length: 30 }, (_, i) => `m${i}`));
    let running = 0;
    let highest = 0;
    mapping = await runEventSourceMapping({
      sqs,
      queueName,
      batchSize: 2,
      maxConcurrency: 3,
      functionTimeoutMs: 150,
      handler: async () => {
        running += 1;
        highest = Math.max(highest, running);
        await sleep(20);
        running -= 1;
      },
    });
    await waitFor(queueIsEmpty(queueName), 'queue drained');
    await mapping.stop();
    expect(highest).toBe(3);
    expect(mapping.stats()).toMatchObject({ maxConcurrentInvocations: 3, records: 30, deletedRecords: 30 });
  });

  it('brings back a record re-timed with ChangeMessageVisibility no earlier than asked', async () => {
    const queueName = newQueue();
    await sendAll(queueName, ['retry-later']);
    const deliveredAt: number[] = [];
    let retimedAt = 0;
    mapping = await runEventSourceMapping({
      sqs,
      queueName,
      functionTimeoutMs: 150,
      handler: async (event): Promise<SQSBatchResponse> => {
        deliveredAt.push(Date.now());
        const [record] = event.Records;
        if (record.attributes.ApproximateReceiveCount !== '1') return { batchItemFailures: [] };
        // The handler's own client, built from the eventSourceARN as a handler would.
        const [, , , , account, name] = record.eventSourceARN.split(':');
        retimedAt = Date.now();
        await client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: `https://sqs.${record.awsRegion}.amazonaws.com/${account}/${name}`,
            ReceiptHandle: record.receiptHandle,
            VisibilityTimeout: 5,
          }),
        );
        return { batchItemFailures: [{ itemIdentifier: record.messageId }] };
      },
    });
    await waitFor(queueIsEmpty(queueName), 'queue drained');
    await mapping.stop();
    expect(deliveredAt).toHaveLength(2);
    expect(deliveredAt[1] - retimedAt).toBeGreaterThanOrEqual(5 * TEST_SECOND_MS);
  });

  it('moves records that keep failing to the DLQ after maxReceiveCount deliveries', async () => {
    const queueName = newQueue({ maxReceiveCount: 3 });
    await sendAll(queueName, ['poison', 'fine']);
    const poisonDeliveries: string[] = [];
    mapping = await runEventSourceMapping({
      sqs,
      queueName,
      functionTimeoutMs: 150,
      handler: async (event): Promise<SQSBatchResponse> => {
        const poison = event.Records.filter((r) => r.body === 'poison');
        poisonDeliveries.push(...poison.map((r) => r.attributes.ApproximateReceiveCount));
        return { batchItemFailures: poison.map((r) => ({ itemIdentifier: r.messageId })) };
      },
    });
    const dlqName = `dlq${queueCounter}`;
    await waitFor(() => sqs.queue(dlqName).messages.length === 1, 'poison message in the DLQ');
    await waitFor(queueIsEmpty(queueName), 'source queue drained');
    await mapping.stop();
    expect(poisonDeliveries).toEqual(['1', '2', '3']);
    expect(sqs.queue(dlqName).messages.map((m) => m.body)).toEqual(['poison']);
  });

  it('hands FIFO records over in group order with their FIFO attributes', async () => {
    const queueName = newQueue({ fifo: true });
    await sendAll(queueName, ['1', '2', '3', '4', '5'], { MessageGroupId: 'person-42' });
    const bodies: string[] = [];
    const records: SQSRecord[] = [];
    mapping = await runEventSourceMapping({
      sqs,
      queueName,
      batchSize: 2,
      maxConcurrency: 3,
      functionTimeoutMs: 150,
      handler: async (event) => {
        records.push(...event.Records);
        bodies.push(...event.Records.map((r) => r.body));
      },
    });
    await waitFor(queueIsEmpty(queueName), 'queue drained');
    await mapping.stop();
    expect(bodies).toEqual(['1', '2', '3', '4', '5']);
    expect(records[0].attributes).toMatchObject({
      MessageGroupId: 'person-42',
      MessageDeduplicationId: expect.any(String),
      SequenceNumber: expect.stringMatching(/^\d+$/),
    });
  });

  it('stop() waits for the invocation in flight and its deletes', async () => {
    const queueName = newQueue();
    await sendAll(queueName, ['in-flight']);
    let finished = false;
    const running = await runEventSourceMapping({
      sqs,
      queueName,
      functionTimeoutMs: 1000,
      handler: async () => {
        await sleep(100);
        finished = true;
      },
    });
    await waitFor(() => running.stats().inFlightInvocations === 1, 'invocation started');
    await running.stop();
    expect(finished).toBe(true);
    expect(sqs.queue(queueName).messages).toHaveLength(0);
  });
});
