/**
 * The local SQS and EventBridge enforcing the declared producers, through the real SDK clients
 * over 127.0.0.1, with the policies lib/access-policies.ts writes, installed from the default
 * local settings exactly as the pipeline installs them.
 */
import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { PurgeQueueCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { OUTCOME_EVENT_SOURCE } from '../../lambdas/shared/telemetry';
import { localCredentialsFor, localUniqueIdFor } from '../../local/iam';
import type { LocalEventBridge } from '../../local/eventbridge';
import type { LocalSqs } from '../../local/sqs';
import { LOCAL_DEFAULTS, LOCAL_OPERATORS, LOCAL_PRODUCERS } from '../../local/pipeline/defaults';
import { LOCAL_NAMES, planLocalIngestion, type IngestionPlan } from '../../local/pipeline/ingestion';
import { startLocalDoors, type ProducerDoor } from '../../local/pipeline/pipeline';

const HR = LOCAL_PRODUCERS.hr.principals[0];
const ONBOARDING = LOCAL_PRODUCERS.onboarding.principals[0];
const PORTAL = LOCAL_PRODUCERS['access-portal'].principals[0];
const OPERATOR = LOCAL_OPERATORS[0];
const INTRUDER = 'arn:aws:iam::000000000000:role/developer';

let plan: IngestionPlan;
let sqs: LocalSqs;
let eventBridge: LocalEventBridge;
let doors: Record<string, ProducerDoor>;
const clients: { destroy(): void }[] = [];

function sqsAs(principal: string): SQSClient {
  const client = new SQSClient({ endpoint: sqs.endpoint, region: 'us-east-1', credentials: localCredentialsFor(principal), maxAttempts: 1 });
  clients.push(client);
  return client;
}
function eventsAs(principal: string): EventBridgeClient {
  const client = new EventBridgeClient({ endpoint: eventBridge.endpoint, region: 'us-east-1', credentials: localCredentialsFor(principal), maxAttempts: 1 });
  clients.push(client);
  return client;
}
const queueUrl = (name: string) => sqs.queue(name).url;
const onboardingQueue = () => (doors.onboarding as Extract<ProducerDoor, { via: 'queue' }>).queueUrl;
const entry = (source: string, detailType: string, id = 'e-1'): PutEventsRequestEntry => ({
  EventBusName: LOCAL_NAMES.bus,
  Source: source,
  DetailType: detailType,
  Detail: JSON.stringify({ id, type: detailType }),
});

beforeAll(async () => {
  plan = planLocalIngestion(LOCAL_DEFAULTS);
  ({ sqs, eventBridge, doors } = await startLocalDoors(plan, { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 }));
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  await eventBridge.stop();
  await sqs.stop();
});
beforeEach(async () => {
  // Each test reads only what it sent (PurgeQueue is not policed).
  const client = sqsAs(OPERATOR);
  for (const queue of sqs.queues()) await client.send(new PurgeQueueCommand({ QueueUrl: queue.url }));
});

describe('a producer queue', () => {
  it('refuses SendMessage and the whole SendMessageBatch from an undeclared principal, with AccessDenied', async () => {
    const intruder = sqsAs(INTRUDER);
    await expect(intruder.send(new SendMessageCommand({ QueueUrl: onboardingQueue(), MessageBody: '{}' }))).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringMatching(/is not authorized to perform: sqs:sendmessage on resource: .*identity-provisioner-producer-onboarding with an explicit deny/),
      $metadata: { httpStatusCode: 403 },
    });
    await expect(
      intruder.send(new SendMessageBatchCommand({ QueueUrl: onboardingQueue(), Entries: [{ Id: 'a', MessageBody: '1' }, { Id: 'b', MessageBody: '2' }] })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    // Another declared producer is no more welcome on this queue than a stranger.
    await expect(sqsAs(HR).send(new SendMessageCommand({ QueueUrl: onboardingQueue(), MessageBody: '{}' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(sqs.queue(plan.producerQueues.onboarding).messages).toHaveLength(0);
  });

  it('takes the declared principal and an operator, and records the SenderId of the role session', async () => {
    await sqsAs(ONBOARDING).send(new SendMessageBatchCommand({ QueueUrl: onboardingQueue(), Entries: [{ Id: 'a', MessageBody: '{"n":1}' }, { Id: 'b', MessageBody: '{"n":2}' }] }));
    await sqsAs(OPERATOR).send(new SendMessageCommand({ QueueUrl: onboardingQueue(), MessageBody: '{"redriven":true}' }));
    const { Messages } = await sqsAs(OPERATOR).send(
      new ReceiveMessageCommand({ QueueUrl: onboardingQueue(), MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['SenderId'] }),
    );
    expect(Messages!.map((m) => m.Attributes!.SenderId).sort()).toEqual(
      [`${localUniqueIdFor(ONBOARDING)}:local`, `${localUniqueIdFor(ONBOARDING)}:local`, `${localUniqueIdFor(OPERATOR)}:local`].sort(),
    );
    expect(Messages![0].Attributes!.SenderId).toMatch(/^AROA[A-Z2-7]{17}:local$/);
  });
});

describe('the bus queue', () => {
  it('refuses every producer and stranger (a direct send could forge an envelope), and takes an operator', async () => {
    for (const principal of [INTRUDER, HR, ONBOARDING, PORTAL]) {
      await expect(sqsAs(principal).send(new SendMessageCommand({ QueueUrl: queueUrl(LOCAL_NAMES.busQueue), MessageBody: '{}' }))).rejects.toMatchObject({
        name: 'AccessDenied',
      });
    }
    await sqsAs(OPERATOR).send(new SendMessageCommand({ QueueUrl: queueUrl(LOCAL_NAMES.busQueue), MessageBody: '{"redriven":true}' }));
    expect(sqs.queue(LOCAL_NAMES.busQueue).messages.map((m) => m.body)).toEqual(['{"redriven":true}']);
  });

  it('takes what the rule delivers (aws:SourceArn = the rule), with the sender account in the envelope', async () => {
    const result = await eventsAs(PORTAL).send(new PutEventsCommand({ Entries: [entry('identity-provisioner.access-portal', 'membership.added')] }));
    expect(result.FailedEntryCount).toBe(0);
    const [message] = sqs.queue(LOCAL_NAMES.busQueue).messages;
    expect(JSON.parse(message.body)).toMatchObject({ source: 'identity-provisioner.access-portal', account: '111122223333', 'detail-type': 'membership.added' });
    expect(eventBridge.deliveryFailures()).toEqual([]);
  });
});

describe('the DLQ', () => {
  it('takes only the function role', async () => {
    await expect(sqsAs(ONBOARDING).send(new SendMessageCommand({ QueueUrl: queueUrl(LOCAL_NAMES.deadLetterQueue), MessageBody: '{}' }))).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    await sqsAs(plan.resources.functionRoleArn).send(new SendMessageCommand({ QueueUrl: queueUrl(LOCAL_NAMES.deadLetterQueue), MessageBody: '{}' }));
    expect(sqs.queue(LOCAL_NAMES.deadLetterQueue).messages).toHaveLength(1);
  });
});

describe('the bus', () => {
  const put = async (principal: string, entries: PutEventsRequestEntry[]) => (await eventsAs(principal).send(new PutEventsCommand({ Entries: entries }))).Entries!;

  it("refuses a producer's source from a principal not declared for it", async () => {
    const [result] = await put(INTRUDER, [entry('identity-provisioner.hr', 'group.upserted')]);
    expect(result).toMatchObject({ ErrorCode: 'NotAuthorizedForSourceException' });
    // The portal is a declared producer, but not for hr's source.
    expect((await put(PORTAL, [entry('identity-provisioner.hr', 'membership.added')]))[0].ErrorCode).toBeDefined();
  });

  it("refuses a detail-type outside the producer's grant", async () => {
    const [result] = await put(PORTAL, [entry('identity-provisioner.access-portal', 'user.deleted')]);
    expect(result).toMatchObject({ ErrorCode: 'NotAuthorizedForDetailTypeException', ErrorMessage: expect.stringContaining('user.deleted') });
  });

  it('refuses an undeclared source, even from a declared producer', async () => {
    const [result] = await put(HR, [entry('identity-provisioner.manual', 'user.upserted')]);
    expect(result).toMatchObject({ ErrorCode: 'NotAuthorizedForSourceException' });
  });

  it('refuses the outcome source from anyone but the function role', async () => {
    expect((await put(HR, [entry(OUTCOME_EVENT_SOURCE, 'identity.change.applied')]))[0]).toMatchObject({ ErrorCode: 'NotAuthorizedForSourceException' });
    expect((await put(plan.resources.functionRoleArn, [entry(OUTCOME_EVENT_SOURCE, 'identity.change.applied')]))[0].EventId).toBeDefined();
    // Outcome events never reach the bus queue: the rule matches producer sources only.
    expect(sqs.queue(LOCAL_NAMES.busQueue).messages).toHaveLength(0);
  });

  it('judges each entry on its own: the refused one gets an error, the rest of the call goes on', async () => {
    const results = await put(HR, [entry('identity-provisioner.hr', 'user.upserted', 'ok-1'), entry('identity-provisioner.other', 'user.upserted', 'bad'), entry('identity-provisioner.hr', 'group.upserted', 'ok-2')]);
    expect(results.map((r) => r.ErrorCode ?? 'accepted')).toEqual(['accepted', 'NotAuthorizedForSourceException', 'accepted']);
    const delivered = sqs.queue(LOCAL_NAMES.busQueue).messages.map((m) => JSON.parse(m.body) as { account: string; detail: { id: string } });
    expect(delivered.map((e) => e.detail.id)).toEqual(['ok-1', 'ok-2']);
    expect(delivered.every((e) => e.account === '000000000000')).toBe(true);
    expect(sqs.queue(LOCAL_NAMES.busQueue).messages[0].messageAttributes).toEqual({});
  });
});
