import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import { startLocalSqs, type LocalSqs } from '../../local/sqs';
import { sleep, sqsClientFor, TEST_SECOND_MS } from './support';

describe('local SQS over the real SQS client', () => {
  let sqs: LocalSqs;
  let client: SQSClient;
  let queueCounter = 0;

  beforeAll(async () => {
    sqs = await startLocalSqs({ secondMs: TEST_SECOND_MS });
    client = sqsClientFor(sqs.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await sqs.stop();
  });

  const newQueue = async (attributes: Record<string, string> = {}, suffix = ''): Promise<string> => {
    queueCounter += 1;
    const output = await client.send(
      new CreateQueueCommand({ QueueName: `q${queueCounter}${suffix}`, Attributes: { VisibilityTimeout: '2', ...attributes } }),
    );
    return output.QueueUrl!;
  };
  const receive = (QueueUrl: string, extra: Partial<ConstructorParameters<typeof ReceiveMessageCommand>[0]> = {}) =>
    client.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'], ...extra }));
  const attributesOf = async (QueueUrl: string): Promise<Record<string, string>> =>
    (await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }))).Attributes ?? {};

  it('sends, receives and deletes a message with its system and message attributes', async () => {
    const queueUrl = await newQueue();
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: '{"hello":"world"}',
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'user' },
          raw: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) },
        },
      }),
    );
    expect(sent.MD5OfMessageBody).toBe(createHash('md5').update('{"hello":"world"}').digest('hex'));

    const { Messages } = await receive(queueUrl, { MessageAttributeNames: ['All'] });
    expect(Messages).toHaveLength(1);
    const [message] = Messages!;
    expect(message.MessageId).toBe(sent.MessageId);
    expect(message.Body).toBe('{"hello":"world"}');
    expect(message.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(Number(message.Attributes?.SentTimestamp)).toBeGreaterThan(0);
    expect(Number(message.Attributes?.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(
      Number(message.Attributes?.SentTimestamp),
    );
    expect(message.MessageAttributes?.kind).toEqual({ DataType: 'String', StringValue: 'user' });
    expect(Array.from(message.MessageAttributes?.raw.BinaryValue ?? [])).toEqual([1, 2, 3]);
    expect(message.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);

    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    expect(sqs.queue(queueUrl.split('/').pop()!).messages).toHaveLength(0);
  });

  it('returns only the requested message attributes and none when not asked', async () => {
    const queueUrl = await newQueue();
    await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: 'x',
        MessageAttributes: {
          'trace.id': { DataType: 'String', StringValue: 't' },
          other: { DataType: 'Number', StringValue: '7' },
        },
      }),
    );
    const { Messages } = await receive(queueUrl, { MessageAttributeNames: ['trace.*'], MessageSystemAttributeNames: [] });
    expect(Object.keys(Messages![0].MessageAttributes ?? {})).toEqual(['trace.id']);
    expect(Messages![0].Attributes).toBeUndefined();
  });

  it('hides a received message for the visibility timeout, then redelivers it with a new receipt handle', async () => {
    const queueUrl = await newQueue();
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'again' }));
    const first = (await receive(queueUrl)).Messages![0];
    expect((await receive(queueUrl)).Messages).toBeUndefined();
    expect(await attributesOf(queueUrl)).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '1',
    });

    await sleep(2 * TEST_SECOND_MS + 50);
    const second = (await receive(queueUrl)).Messages![0];
    expect(second.MessageId).toBe(first.MessageId);
    expect(second.ReceiptHandle).not.toBe(first.ReceiptHandle);
    expect(second.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(second.Attributes?.ApproximateFirstReceiveTimestamp).toBe(first.Attributes?.ApproximateFirstReceiveTimestamp);

    // The first handle is stale now: SQS refuses to re-time the message with it...
    await expect(
      client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 5 })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining('receipt handle has expired') });
    // ...and deleting with it succeeds without deleting ("the message will not be deleted").
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: first.ReceiptHandle }));
    expect(sqs.queue(queueUrl.split('/').pop()!).messages).toHaveLength(1);
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: second.ReceiptHandle }));
    expect(sqs.queue(queueUrl.split('/').pop()!).messages).toHaveLength(0);
  });

  it('delays redelivery to the time set with ChangeMessageVisibility, counted from the call', async () => {
    const queueUrl = await newQueue();
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'later' }));
    const message = (await receive(queueUrl)).Messages![0];
    const changedAt = Date.now();
    await client.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 6 }),
    );
    await sleep(3 * TEST_SECOND_MS); // past the queue's 2 s timeout, before the new 6 s
    expect((await receive(queueUrl)).Messages).toBeUndefined();
    const redelivered = await receive(queueUrl, { WaitTimeSeconds: 10 });
    expect(redelivered.Messages![0].MessageId).toBe(message.MessageId);
    expect(Date.now() - changedAt).toBeGreaterThanOrEqual(6 * TEST_SECOND_MS);
  });

  it('makes a message visible at once with VisibilityTimeout 0, and refuses to re-time a message not in flight', async () => {
    const queueUrl = await newQueue();
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'now' }));
    const message = (await receive(queueUrl)).Messages![0];
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }));
    await expect(
      client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 3 })),
    ).rejects.toMatchObject({ name: 'MessageNotInflight' });
    expect((await receive(queueUrl)).Messages?.[0].MessageId).toBe(message.MessageId);
  });

  it('moves a message to the DLQ on the receive that would exceed maxReceiveCount', async () => {
    const dlqUrl = await newQueue();
    const dlqArn = (await attributesOf(dlqUrl)).QueueArn;
    const queueUrl = await newQueue({
      VisibilityTimeout: '1',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }),
    });
    expect(JSON.parse((await attributesOf(queueUrl)).RedrivePolicy)).toEqual({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 });
    const sent = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'poison' }));

    expect((await receive(queueUrl)).Messages![0].Attributes?.ApproximateReceiveCount).toBe('1');
    await sleep(TEST_SECOND_MS + 30);
    expect((await receive(queueUrl)).Messages![0].Attributes?.ApproximateReceiveCount).toBe('2');
    await sleep(TEST_SECOND_MS + 30);
    expect((await receive(queueUrl)).Messages).toBeUndefined();

    const dead = (await receive(dlqUrl)).Messages!;
    expect(dead.map((m) => [m.MessageId, m.Body])).toEqual([[sent.MessageId, 'poison']]);
    expect(dead[0].Attributes?.DeadLetterQueueSourceArn).toBe((await attributesOf(queueUrl)).QueueArn);
  });

  it('refuses a RedrivePolicy whose target does not exist', async () => {
    await expect(
      newQueue({ RedrivePolicy: JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:missing', maxReceiveCount: 5 }) }),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('delays a message sent with DelaySeconds', async () => {
    const queueUrl = await newQueue();
    const sentAt = Date.now();
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'delayed', DelaySeconds: 3 }));
    expect((await receive(queueUrl)).Messages).toBeUndefined();
    expect((await attributesOf(queueUrl)).ApproximateNumberOfMessagesDelayed).toBe('1');
    const { Messages } = await receive(queueUrl, { WaitTimeSeconds: 10 });
    expect(Messages![0].Body).toBe('delayed');
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(3 * TEST_SECOND_MS);
  });

  it('long-polls: an empty receive waits and returns as soon as a message arrives', async () => {
    const queueUrl = await newQueue();
    const polling = receive(queueUrl, { WaitTimeSeconds: 20 });
    await sleep(50);
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'wake up' }));
    const { Messages } = await polling;
    expect(Messages![0].Body).toBe('wake up');
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: Messages![0].ReceiptHandle }));

    const started = Date.now();
    expect((await receive(queueUrl, { WaitTimeSeconds: 2 })).Messages).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(2 * TEST_SECOND_MS - 5);
  });

  it('sends, deletes and re-times in batches, reporting per-entry failures', async () => {
    const queueUrl = await newQueue();
    const sent = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'a', MessageBody: 'one' },
          { Id: 'b', MessageBody: 'two' },
          { Id: 'c', MessageBody: 'three', DelaySeconds: 901 },
        ],
      }),
    );
    expect(sent.Successful?.map((e) => e.Id)).toEqual(['a', 'b']);
    expect(sent.Failed).toEqual([expect.objectContaining({ Id: 'c', Code: 'InvalidParameterValue', SenderFault: true })]);

    const { Messages } = await receive(queueUrl);
    expect(Messages?.map((m) => m.Body)).toEqual(['one', 'two']);
    const retimed = await client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'x', ReceiptHandle: Messages![0].ReceiptHandle, VisibilityTimeout: 0 },
          { Id: 'y', ReceiptHandle: 'not-a-handle', VisibilityTimeout: 0 },
        ],
      }),
    );
    expect(retimed.Successful).toEqual([{ Id: 'x' }]);
    expect(retimed.Failed).toEqual([expect.objectContaining({ Id: 'y', Code: 'ReceiptHandleIsInvalid' })]);

    const again = (await receive(queueUrl)).Messages!;
    expect(again.map((m) => m.Body)).toEqual(['one']);
    const deleted = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: '1', ReceiptHandle: again[0].ReceiptHandle },
          { Id: '2', ReceiptHandle: Messages![1].ReceiptHandle },
        ],
      }),
    );
    expect(deleted.Successful?.map((e) => e.Id)).toEqual(['1', '2']);
    expect(sqs.queue(queueUrl.split('/').pop()!).messages).toHaveLength(0);

    await expect(client.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: [] }))).rejects.toMatchObject({
      name: 'EmptyBatchRequest',
    });
    await expect(
      client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: 11 }, (_, i) => ({ Id: String(i), MessageBody: 'x' })),
        }),
      ),
    ).rejects.toMatchObject({ name: 'TooManyEntriesInBatchRequest' });
  });

  it('keeps FIFO order per group and blocks a group while one of its messages is in flight', async () => {
    const queueUrl = await newQueue({ FifoQueue: 'true' }, '.fifo');
    const sendFifo = (body: string, group: string) =>
      client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: body }));
    await sendFifo('a1', 'A');
    await sendFifo('b1', 'B');
    await sendFifo('a2', 'A');
    await sendFifo('b2', 'B');

    const firstA = (await receive(queueUrl, { MaxNumberOfMessages: 1 })).Messages!;
    expect(firstA.map((m) => m.Body)).toEqual(['a1']);
    expect(firstA[0].Attributes).toMatchObject({ MessageGroupId: 'A', MessageDeduplicationId: 'a1' });
    expect(firstA[0].Attributes?.SequenceNumber).toMatch(/^\d{20}$/);

    // Group A is blocked while a1 is in flight: only B comes out, in order.
    const rest = (await receive(queueUrl)).Messages!;
    expect(rest.map((m) => m.Body)).toEqual(['b1', 'b2']);
    expect((await receive(queueUrl)).Messages).toBeUndefined();

    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: firstA[0].ReceiptHandle }));
    expect((await receive(queueUrl)).Messages?.map((m) => m.Body)).toEqual(['a2']);
  });

  it('redelivers a failed FIFO message before later messages of its group', async () => {
    const queueUrl = await newQueue({ FifoQueue: 'true', ContentBasedDeduplication: 'true', VisibilityTimeout: '1' }, '.fifo');
    for (const body of ['first', 'second']) {
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageGroupId: 'g' }));
    }
    expect((await receive(queueUrl, { MaxNumberOfMessages: 1 })).Messages![0].Body).toBe('first');
    const next = await receive(queueUrl, { WaitTimeSeconds: 5 });
    expect(next.Messages!.map((m) => m.Body)).toEqual(['first', 'second']);
    expect(next.Messages![0].Attributes?.ApproximateReceiveCount).toBe('2');
  });

  it('deduplicates FIFO sends and requires MessageGroupId', async () => {
    const queueUrl = await newQueue({ FifoQueue: 'true' }, '.fifo');
    const first = await client.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'once', MessageGroupId: 'g', MessageDeduplicationId: 'd1' }),
    );
    const duplicate = await client.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'once', MessageGroupId: 'g', MessageDeduplicationId: 'd1' }),
    );
    expect(duplicate.MessageId).toBe(first.MessageId);
    expect(sqs.queue(queueUrl.split('/').pop()!).messages).toHaveLength(1);
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x', MessageDeduplicationId: 'd2' })),
    ).rejects.toMatchObject({ name: 'MissingParameter' });
  });

  it('answers unknown queues with QueueDoesNotExist, as the real service does', async () => {
    const error = await client
      .send(new GetQueueUrlCommand({ QueueName: 'no-such-queue' }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QueueDoesNotExist);
    expect(error).toMatchObject({ $metadata: { httpStatusCode: 400 }, Code: 'AWS.SimpleQueueService.NonExistentQueue' });
    await expect(
      client.send(new DeleteMessageCommand({ QueueUrl: `${sqs.endpoint}/000000000000/q1`, ReceiptHandle: 'garbage' })),
    ).rejects.toBeInstanceOf(ReceiptHandleIsInvalid);
  });

  it('finds a queue from any URL whose last segment is its name (a URL built from an ARN)', async () => {
    const queueUrl = await newQueue();
    const name = queueUrl.split('/').pop()!;
    // The SQS client sends QueueUrl-addressed calls to the QueueUrl's host unless
    // an endpoint is configured; with an explicit endpoint, the name decides.
    await client.send(new SendMessageCommand({ QueueUrl: `https://sqs.us-east-1.amazonaws.com/000000000000/${name}`, MessageBody: 'hi' }));
    expect(sqs.queue(name).messages.map((m) => m.body)).toEqual(['hi']);
  });

  it('reaches the local queue through AWS_ENDPOINT_URL_SQS alone when the client does not use the QueueUrl host', async () => {
    const queueUrl = await newQueue();
    const name = queueUrl.split('/').pop()!;
    const previous = process.env.AWS_ENDPOINT_URL_SQS;
    process.env.AWS_ENDPOINT_URL_SQS = sqs.endpoint;
    // Without useQueueUrlAsEndpoint: false the SDK would send this to sqs.us-east-1.amazonaws.com.
    const handlerStyleClient = new SQSClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      useQueueUrlAsEndpoint: false,
    });
    try {
      await handlerStyleClient.send(
        new SendMessageCommand({ QueueUrl: `https://sqs.us-east-1.amazonaws.com/000000000000/${name}`, MessageBody: 'via env' }),
      );
    } finally {
      handlerStyleClient.destroy();
      if (previous === undefined) delete process.env.AWS_ENDPOINT_URL_SQS;
      else process.env.AWS_ENDPOINT_URL_SQS = previous;
    }
    expect(sqs.queue(name).messages.map((m) => m.body)).toEqual(['via env']);
  });

  it('lists, purges and reports queue attributes', async () => {
    const queueUrl = await newQueue();
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x' }));
    const name = queueUrl.split('/').pop()!;
    const listed = await client.send(new ListQueuesCommand({ QueueNamePrefix: name }));
    expect(listed.QueueUrls).toContain(queueUrl);
    const attributes = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'QueueArn', 'VisibilityTimeout'] }),
    );
    expect(attributes.Attributes).toEqual({
      ApproximateNumberOfMessages: '1',
      QueueArn: `arn:aws:sqs:us-east-1:000000000000:${name}`,
      VisibilityTimeout: '2',
    });
    await client.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    expect((await attributesOf(queueUrl)).ApproximateNumberOfMessages).toBe('0');
  });

  describe('MaximumMessageSize, counted as SQS counts it: body + attribute names + data types + values', () => {
    const tooLong = { name: 'InvalidParameterValue', message: expect.stringContaining('Message must be shorter than 1024 bytes') };
    const send = (QueueUrl: string, MessageBody: string, MessageAttributes?: ConstructorParameters<typeof SendMessageCommand>[0]['MessageAttributes']) =>
      client.send(new SendMessageCommand({ QueueUrl, MessageBody, MessageAttributes }));

    it('takes a body of exactly the maximum, and refuses one byte more, in UTF-8 bytes', async () => {
      const queueUrl = await newQueue({ MaximumMessageSize: '1024' });
      await expect(send(queueUrl, 'a'.repeat(1_024))).resolves.toBeDefined();
      // 341 three-byte characters and one byte: 1,024 bytes; one more byte is over.
      await expect(send(queueUrl, `${'漢'.repeat(341)}a`)).resolves.toBeDefined();
      await expect(send(queueUrl, `${'漢'.repeat(341)}ab`)).rejects.toMatchObject(tooLong);
    });

    it('counts each message attribute: its name, its data type and its value', async () => {
      const queueUrl = await newQueue({ MaximumMessageSize: '1024' });
      // 'reason' (6) + 'String' (6) + value (3 x 3 bytes + 3): 24 bytes of attributes.
      const attributes = { reason: { DataType: 'String', StringValue: '理由です' } };
      expect(Buffer.byteLength('理由です')).toBe(12);
      await expect(send(queueUrl, 'b'.repeat(1_024 - 24), attributes)).resolves.toBeDefined();
      await expect(send(queueUrl, 'b'.repeat(1_024 - 23), attributes)).rejects.toMatchObject(tooLong);
      // A custom type label counts too, and binary values count their bytes.
      const binary = { blob: { DataType: 'Binary.gz', BinaryValue: new Uint8Array(100) } };
      await expect(send(queueUrl, 'c'.repeat(1_024 - 4 - 9 - 100), binary)).resolves.toBeDefined();
      await expect(send(queueUrl, 'c'.repeat(1_024 - 4 - 9 - 99), binary)).rejects.toMatchObject(tooLong);
      expect(sqs.queue(queueUrl.split('/').pop()!).messages).toHaveLength(2);
    });

    it('applies the same count to each entry of a batch', async () => {
      const queueUrl = await newQueue({ MaximumMessageSize: '1024' });
      const attributes = { n: { DataType: 'Number', StringValue: '12345' } };
      const output = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: [
            { Id: 'fits', MessageBody: 'd'.repeat(1_024 - 12), MessageAttributes: attributes },
            { Id: 'over', MessageBody: 'd'.repeat(1_024 - 11), MessageAttributes: attributes },
          ],
        }),
      );
      expect(output.Successful?.map((entry) => entry.Id)).toEqual(['fits']);
      expect(output.Failed).toEqual([expect.objectContaining({ Id: 'over', Code: 'InvalidParameterValue', SenderFault: true })]);
    });

    it('defaults to 1 MiB, as SQS does since 2025, and takes 1 KiB to 1 MiB', async () => {
      expect((await attributesOf(await newQueue())).MaximumMessageSize).toBe('1048576');
      await expect(newQueue({ MaximumMessageSize: '1023' })).rejects.toMatchObject({ name: 'InvalidParameterValue' });
      await expect(newQueue({ MaximumMessageSize: '1048577' })).rejects.toMatchObject({ name: 'InvalidParameterValue' });
      await expect(newQueue({ MaximumMessageSize: '1048576' })).resolves.toBeDefined();
    });

    it('refuses an empty attribute value, as SQS does', async () => {
      const queueUrl = await newQueue();
      await expect(send(queueUrl, 'x', { reason: { DataType: 'String', StringValue: '' } })).rejects.toMatchObject({
        name: 'InvalidParameterValue',
        message: expect.stringContaining("attribute 'reason' must contain a non-empty value"),
      });
    });
  });
});
