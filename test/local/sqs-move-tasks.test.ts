/**
 * The local SQS's message move tasks (DLQ redrive) over the real SQS client: back to each
 * message's own source queue, to a given destination, listed, cancelled, refused where SQS
 * refuses, and authorised by the queues' policies as the caller.
 */
import {
  CancelMessageMoveTaskCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { LocalPrincipals, localCredentialsFor } from '../../local/iam';
import { startLocalSqs, type LocalSqs } from '../../local/sqs';
import { sqsClientFor, TEST_SECOND_MS, waitFor } from './support';

const OPERATOR = 'arn:aws:iam::000000000000:role/identity-operator';
const STRANGER = 'arn:aws:iam::000000000000:role/stranger';

describe('local SQS message move tasks', () => {
  let sqs: LocalSqs;
  let client: SQSClient;
  let n = 0;

  beforeAll(async () => {
    sqs = await startLocalSqs({ secondMs: TEST_SECOND_MS, principals: new LocalPrincipals([OPERATOR, STRANGER]) });
    client = sqsClientFor(sqs.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await sqs.stop();
  });

  /** A DLQ and two source queues redriving to it after one receive. */
  const topology = () => {
    n += 1;
    const dlq = sqs.createQueue(`mt${n}-dlq`);
    const redrive = { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 }), VisibilityTimeout: '0' };
    const a = sqs.createQueue(`mt${n}-a`, redrive);
    const b = sqs.createQueue(`mt${n}-b`, redrive);
    return { dlq, a, b };
  };
  /** Receive twice with VisibilityTimeout 0: the second receive moves the message to the DLQ. */
  const deadLetter = async (queueUrl: string, body: string) => {
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: { k: { DataType: 'String', StringValue: body } } }));
    await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 0 }));
    const again = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 0 }));
    expect(again.Messages).toBeUndefined();
  };
  const bodies = (name: string) => sqs.queue(name).messages.map((m) => m.body).sort();
  const finished = (name: string) => () => sqs.moveTasks(name).every((t) => t.status !== 'RUNNING' && t.status !== 'CANCELLING');

  it('returns each message to the queue it was moved from when no DestinationArn is given', async () => {
    const { dlq, a, b } = topology();
    await deadLetter(a.url, 'from-a');
    await deadLetter(b.url, 'from-b');
    expect(bodies(dlq.name)).toEqual(['from-a', 'from-b']);
    const started = await client.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }));
    expect(started.TaskHandle).toEqual(expect.any(String));
    await waitFor(finished(dlq.name), 'the task ends');
    expect(bodies(a.name)).toEqual(['from-a']);
    expect(bodies(b.name)).toEqual(['from-b']);
    expect(bodies(dlq.name)).toEqual([]);
    // A new message: receive count and attributes start over, message attributes kept.
    const moved = sqs.queue(a.name).messages[0];
    expect(moved).toMatchObject({ receiveCount: 0, deadLetterQueueSourceArn: undefined, messageAttributes: { k: { DataType: 'String', StringValue: 'from-a' } } });
    const listed = await client.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn }));
    expect(listed.Results).toEqual([
      expect.objectContaining({ Status: 'COMPLETED', SourceArn: dlq.arn, ApproximateNumberOfMessagesMoved: 2, ApproximateNumberOfMessagesToMove: 2 }),
    ]);
    expect(listed.Results![0].TaskHandle).toBeUndefined();
    expect(listed.Results![0].DestinationArn).toBeUndefined();
  });

  it('moves every message to a DestinationArn when one is given', async () => {
    const { dlq, a, b } = topology();
    await deadLetter(a.url, 'x');
    await deadLetter(a.url, 'y');
    await client.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: b.arn, MaxNumberOfMessagesPerSecond: 10 }));
    await waitFor(finished(dlq.name), 'the task ends');
    expect(bodies(b.name)).toEqual(['x', 'y']);
    expect(bodies(a.name)).toEqual([]);
  });

  it('fails the task at a message SQS did not move there (no original source queue), and keeps it', async () => {
    const { dlq, a } = topology();
    await deadLetter(a.url, 'redriven');
    // Sent straight to the DLQ, as the function sends its rejections: no DeadLetterQueueSourceArn.
    await client.send(new SendMessageCommand({ QueueUrl: dlq.url, MessageBody: 'sent-directly' }));
    await client.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }));
    await waitFor(finished(dlq.name), 'the task ends');
    const [task] = (await client.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn }))).Results!;
    expect(task).toMatchObject({ Status: 'FAILED', ApproximateNumberOfMessagesMoved: 1 });
    expect(task.FailureReason).toMatch(/no original source queue/);
    expect(bodies(a.name)).toEqual(['redriven']);
    expect(bodies(dlq.name)).toEqual(['sent-directly']);
  });

  it('refuses a source that is no DLQ, an unknown source, a second active task and a bad rate', async () => {
    const { dlq, a } = topology();
    await expect(client.send(new StartMessageMoveTaskCommand({ SourceArn: a.arn }))).rejects.toThrow(/must be configured as a Dead Letter Queue/);
    await expect(client.send(new StartMessageMoveTaskCommand({ SourceArn: 'arn:aws:sqs:us-east-1:000000000000:nope' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(client.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, MaxNumberOfMessagesPerSecond: 501 }))).rejects.toThrow(/between 1 and 500/);
    for (let i = 0; i < 3; i++) await deadLetter(a.url, `m${i}`);
    const first = await client.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, MaxNumberOfMessagesPerSecond: 1 }));
    await expect(client.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }))).rejects.toMatchObject({ name: 'UnsupportedOperation' });
    // Cancel: the running task ends CANCELLED; what it moved stays moved, the rest stays put.
    const cancelled = await client.send(new CancelMessageMoveTaskCommand({ TaskHandle: first.TaskHandle }));
    expect(cancelled.ApproximateNumberOfMessagesMoved).toBeLessThan(3);
    await waitFor(finished(dlq.name), 'the task is cancelled');
    expect(sqs.moveTasks(dlq.name).at(-1)!.status).toBe('CANCELLED');
    expect(sqs.queue(dlq.name).messages.length + sqs.queue(a.name).messages.length).toBe(3);
    await expect(client.send(new CancelMessageMoveTaskCommand({ TaskHandle: first.TaskHandle }))).rejects.toMatchObject({ name: 'UnsupportedOperation' });
    await expect(client.send(new CancelMessageMoveTaskCommand({ TaskHandle: 'bm9wZQ==' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it("authorises through the queues' policies: the DLQ's for the task, the destination's for each send", async () => {
    const { dlq, a } = topology();
    await deadLetter(a.url, 'guarded');
    const denyAllBut = (actions: string[], arn: string) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Sid: 'OnlyOperators', Effect: 'Deny', Principal: '*', Action: actions, Resource: [arn], Condition: { ArnNotLike: { 'aws:PrincipalArn': [OPERATOR] } } }],
      });
    sqs.setQueueAttributes(dlq.name, { Policy: denyAllBut(['sqs:DeleteMessage', 'sqs:PurgeQueue'], dlq.arn) });
    sqs.setQueueAttributes(a.name, { Policy: denyAllBut(['sqs:SendMessage'], a.arn) });
    const as = (arn: string) => new SQSClient({ endpoint: sqs.endpoint, region: 'us-east-1', credentials: localCredentialsFor(arn) });
    const stranger = as(STRANGER);
    const operator = as(OPERATOR);
    try {
      await expect(stranger.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }))).rejects.toThrow(/not authorized to perform: sqs:deletemessage/);
      await operator.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }));
      await waitFor(finished(dlq.name), 'the task ends');
      expect(sqs.moveTasks(dlq.name).at(-1)!.status).toBe('COMPLETED');
      expect(bodies(a.name)).toEqual(['guarded']);
    } finally {
      stranger.destroy();
      operator.destroy();
    }
  });
});
