import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { startLocalEventBridge, type LocalEventBridge } from '../../local/eventbridge';
import { startLocalSqs, type LocalSqs } from '../../local/sqs';
import { eventBridgeClientFor, sqsClientFor, TEST_SECOND_MS } from './support';

describe('local EventBridge over the real EventBridge client', () => {
  let sqs: LocalSqs;
  let eventBridge: LocalEventBridge;
  let events: EventBridgeClient;
  let sqsClient: SQSClient;

  beforeAll(async () => {
    sqs = await startLocalSqs({ secondMs: TEST_SECOND_MS, region: 'eu-west-1', accountId: '111122223333' });
    eventBridge = await startLocalEventBridge({ sqs });
    events = eventBridgeClientFor(eventBridge.endpoint);
    sqsClient = sqsClientFor(sqs.endpoint);
    sqs.createQueue('changes');
    sqs.createQueue('changes.fifo', { FifoQueue: 'true' });
    sqs.createQueue('outcomes');
    eventBridge.addRule({
      bus: 'identity',
      pattern: { source: ['hr.system'], 'detail-type': ['UserChanged'], detail: { action: ['create', 'update'] } },
      target: { queueName: 'changes' },
    });
    eventBridge.addRule({
      bus: 'identity',
      pattern: { source: ['hr.system'], detail: { action: ['delete'] } },
      target: { queueName: 'changes.fifo', messageGroupId: 'identity-changes' },
    });
  });
  afterAll(async () => {
    events.destroy();
    sqsClient.destroy();
    await eventBridge.stop();
    await sqs.stop();
  });

  it('delivers a matching event to the target queue with the whole envelope as the body', async () => {
    const time = new Date('2025-03-01T10:20:30.456Z');
    const output = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'identity',
            Source: 'hr.system',
            DetailType: 'UserChanged',
            Detail: JSON.stringify({ action: 'create', userName: 'ada' }),
            Resources: ['arn:aws:example:::user/ada'],
            Time: time,
          },
        ],
      }),
    );
    expect(output.FailedEntryCount).toBe(0);
    const eventId = output.Entries![0].EventId!;

    const { Messages } = await sqsClient.send(
      new ReceiveMessageCommand({ QueueUrl: `${sqs.endpoint}/111122223333/changes`, MaxNumberOfMessages: 10 }),
    );
    expect(Messages).toHaveLength(1);
    expect(JSON.parse(Messages![0].Body!)).toEqual({
      version: '0',
      id: eventId,
      'detail-type': 'UserChanged',
      source: 'hr.system',
      account: '111122223333',
      time: '2025-03-01T10:20:30Z',
      region: 'eu-west-1',
      resources: ['arn:aws:example:::user/ada'],
      detail: { action: 'create', userName: 'ada' },
    });
    expect(eventBridge.events('identity').map((e) => e.id)).toContain(eventId);
  });

  it('records but does not deliver events that match no rule, or go to another bus', async () => {
    const before = sqs.queue('changes').messages.length;
    const output = await events.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: 'identity', Source: 'hr.system', DetailType: 'UserChanged', Detail: '{"action":"ignore"}' },
          { EventBusName: 'identity', Source: 'other', DetailType: 'UserChanged', Detail: '{"action":"create"}' },
          { Source: 'hr.system', DetailType: 'UserChanged', Detail: '{"action":"create"}' },
        ],
      }),
    );
    expect(output.FailedEntryCount).toBe(0);
    expect(sqs.queue('changes').messages).toHaveLength(before);
    expect(eventBridge.events('default').map((e) => e.detail)).toEqual([{ action: 'create' }]);
  });

  it('reports each event that matched no rule, by id, with the pattern fields each rule refused', async () => {
    const output = await events.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: 'identity', Source: 'not-hr', DetailType: 'UserChanged', Detail: '{"action":"create"}' },
          { EventBusName: 'identity', Source: 'hr.system', DetailType: 'Other', Detail: '{"action":"create"}' },
          { EventBusName: 'nobody-listens', Source: 'hr.system', DetailType: 'UserChanged', Detail: '{"action":"create"}' },
          { EventBusName: 'identity', Source: 'hr.system', DetailType: 'UserChanged', Detail: '{"action":"create"}' },
        ],
      }),
    );
    const [unknownSource, unknownType, noRule, delivered] = output.Entries!.map((e) => e.EventId!);
    const unmatched = new Map(eventBridge.unmatched().map((u) => [u.eventId, u]));
    expect(unmatched.get(unknownSource)).toMatchObject({
      bus: 'identity',
      source: 'not-hr',
      rules: [
        { ruleName: 'rule-1', fields: ['source'] },
        { ruleName: 'rule-2', fields: ['source', 'detail'] },
      ],
      reason: 'source "not-hr" not accepted by rule rule-1; source "not-hr" not accepted, detail not accepted by rule rule-2',
    });
    expect(unmatched.get(unknownType)?.rules[0]).toEqual({ ruleName: 'rule-1', fields: ['detail-type'] });
    expect(unmatched.get(unknownType)?.reason).toContain('detail-type "Other" not accepted by rule rule-1');
    expect(unmatched.get(noRule)).toMatchObject({ bus: 'nobody-listens', rules: [], reason: 'bus "nobody-listens" has no rule' });
    expect(unmatched.has(delivered)).toBe(false);
  });

  it('accepts a bus ARN as EventBusName', async () => {
    await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'arn:aws:events:eu-west-1:111122223333:event-bus/identity',
            Source: 'hr.system',
            DetailType: 'UserChanged',
            Detail: '{"action":"update"}',
          },
        ],
      }),
    );
    expect(sqs.queue('changes').messages.some((m) => JSON.parse(m.body).detail.action === 'update')).toBe(true);
  });

  it('sends to a FIFO target with the rule fixed MessageGroupId', async () => {
    await events.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: 'identity', Source: 'hr.system', DetailType: 'UserChanged', Detail: '{"action":"delete"}' }],
      }),
    );
    const [message] = sqs.queue('changes.fifo').messages;
    expect(message.messageGroupId).toBe('identity-changes');
    expect(JSON.parse(message.body).detail).toEqual({ action: 'delete' });
  });

  it('reports invalid entries per entry, with the others accepted', async () => {
    const output = await events.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: 'identity', Source: 'hr.system', DetailType: 'UserChanged', Detail: 'not json' },
          { EventBusName: 'identity', DetailType: 'UserChanged', Detail: '{}' },
          { EventBusName: 'identity', Source: 'hr.system', DetailType: 'Fine', Detail: '{}' },
        ],
      }),
    );
    expect(output.FailedEntryCount).toBe(2);
    expect(output.Entries).toEqual([
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
      { ErrorCode: 'InvalidArgument', ErrorMessage: expect.stringContaining('Source') },
      { EventId: expect.any(String) },
    ]);
  });

  it('refuses more than 10 entries in one call', async () => {
    const entries = Array.from({ length: 11 }, () => ({ Source: 's', DetailType: 'd', Detail: '{}' }));
    await expect(events.send(new PutEventsCommand({ Entries: entries }))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('records delivery failures when a rule targets a missing queue', async () => {
    eventBridge.addRule({ bus: 'orphan', pattern: { source: ['x'] }, target: { queueName: 'does-not-exist' } });
    await events.send(new PutEventsCommand({ Entries: [{ EventBusName: 'orphan', Source: 'x', DetailType: 'd', Detail: '{}' }] }));
    expect(eventBridge.deliveryFailures()).toEqual([expect.objectContaining({ queueName: 'does-not-exist' })]);
  });
});
