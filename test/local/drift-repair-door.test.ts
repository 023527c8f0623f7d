/**
 * The built-in producer drift-repair on the local bus: the local EventBridge enforces the same
 * bus policy the stack installs (lib/access-policies.ts), so its source is accepted from the
 * local drift role only, for its four event types only. And the drift function's own pieces that
 * talk to the local servers: its repair sender (the real PutEvents), and the queue depth its
 * yieldToEvents waits on (the real GetQueueAttributes). Everything on 127.0.0.1.
 */
import { EventBridgeRepairSender } from '../../lambdas/adapters/eventbridge-repair-sender';
import { queuedEvents } from '../../lambdas/adapters/sqs-queue-depth';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { PurgeQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { IdentityChange } from '../../lambdas/domain/identity-change';
import { DRIFT_REPAIR_PRODUCER, DRIFT_REPAIR_SOURCE } from '../../lambdas/shared/producers';
import { DRIFT_DETAIL_TYPE, OUTCOME_EVENT_SOURCE } from '../../lambdas/shared/telemetry';
import type { LocalEventBridge } from '../../local/eventbridge';
import { localCredentialsFor } from '../../local/iam';
import { LOCAL_DEFAULTS, LOCAL_OPERATORS, LOCAL_PRODUCERS } from '../../local/pipeline/defaults';
import { LOCAL_DRIFT_ROLE_ARN, LOCAL_NAMES, planLocalIngestion, type IngestionPlan } from '../../local/pipeline/ingestion';
import { startLocalDoors, type ProducerDoor } from '../../local/pipeline/pipeline';
import { resolveLocalSettings } from '../../local/pipeline/settings';
import type { LocalSqs } from '../../local/sqs';

const HR = LOCAL_PRODUCERS.hr.principals[0];
const ONBOARDING = LOCAL_PRODUCERS.onboarding.principals[0];
const OPERATOR = LOCAL_OPERATORS[0];
const INTRUDER = 'arn:aws:iam::000000000000:role/developer';
/** A role named like the drift role, in another account: the policy names the exact ARN. */
const LOOKALIKE = 'arn:aws:iam::111122223333:role/drift-detector';

let plan: IngestionPlan;
let sqs: LocalSqs;
let eventBridge: LocalEventBridge;
let doors: Record<string, ProducerDoor>;
const clients: { destroy(): void }[] = [];

function eventsAs(principal: string): EventBridgeClient {
  const client = new EventBridgeClient({ endpoint: eventBridge.endpoint, region: 'us-east-1', credentials: localCredentialsFor(principal), maxAttempts: 1 });
  clients.push(client);
  return client;
}
function sqsAs(principal: string): SQSClient {
  const client = new SQSClient({ endpoint: sqs.endpoint, region: 'us-east-1', credentials: localCredentialsFor(principal), maxAttempts: 1 });
  clients.push(client);
  return client;
}
const entry = (source: string, detailType: string, id = 'drift-1'): PutEventsRequestEntry => ({
  EventBusName: LOCAL_NAMES.bus,
  Source: source,
  DetailType: detailType,
  Detail: JSON.stringify({ id, type: detailType }),
});
const put = async (principal: string, entries: PutEventsRequestEntry[]) => (await eventsAs(principal).send(new PutEventsCommand({ Entries: entries }))).Entries!;
const busQueueBodies = () => sqs.queue(LOCAL_NAMES.busQueue).messages.map((message) => JSON.parse(message.body) as Record<string, unknown>);

beforeAll(async () => {
  plan = planLocalIngestion({ ...LOCAL_DEFAULTS, drift: true });
  ({ sqs, eventBridge, doors } = await startLocalDoors(plan, { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 }));
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  await eventBridge.stop();
  await sqs.stop();
});
beforeEach(async () => {
  const client = sqsAs(OPERATOR);
  for (const queue of sqs.queues()) await client.send(new PurgeQueueCommand({ QueueUrl: queue.url }));
});

describe('the plan with the drift function', () => {
  it('has drift-repair as a built-in bus producer, sending as the local drift role, apart from the declared ones', () => {
    expect(Object.keys(plan.producers).sort()).toEqual(['access-portal', 'hr', 'onboarding']);
    expect(plan.builtInProducers[DRIFT_REPAIR_PRODUCER]).toMatchObject({ via: 'bus', source: DRIFT_REPAIR_SOURCE, principals: [LOCAL_DRIFT_ROLE_ARN] });
    expect(doors[DRIFT_REPAIR_PRODUCER]).toEqual({ via: 'bus', busName: LOCAL_NAMES.bus, source: DRIFT_REPAIR_SOURCE, principals: [LOCAL_DRIFT_ROLE_ARN] });
    expect(plan.rulePattern?.source).toContain(DRIFT_REPAIR_SOURCE);
    // The consumer knows it: a repair from the local account is verified as drift-repair.
    expect(plan.runtimeProducers.find((producer) => producer.name === DRIFT_REPAIR_PRODUCER)).toEqual({
      name: DRIFT_REPAIR_PRODUCER,
      via: 'bus',
      source: DRIFT_REPAIR_SOURCE,
      accounts: ['000000000000'],
      eventTypes: ['user.upserted', 'membership.added', 'membership.removed', 'group.upserted'],
      groups: ['*'],
    });
    // No extra source queue: the Identity Store budget is split as before.
    expect(plan.sourceQueues).toEqual(planLocalIngestion(LOCAL_DEFAULTS).sourceQueues);
  });

  it('without the drift function (driftSchedule "off"), there is no drift-repair at all', () => {
    const without = planLocalIngestion(LOCAL_DEFAULTS);
    expect(without.builtInProducers).toEqual({});
    expect(JSON.stringify([without.busPolicy, without.rulePattern, without.runtimeProducers])).not.toContain(DRIFT_REPAIR_SOURCE);
  });

  it('follows the settings as the stack does: on by default, off with driftSchedule "off"', () => {
    expect(resolveLocalSettings([]).options.drift).toBe(true);
    expect(resolveLocalSettings([{ label: '--settings drift.json', values: { driftSchedule: 'off' } }]).options.drift).toBe(false);
    expect(resolveLocalSettings([{ label: '--settings drift.json', values: { driftSchedule: 'cron(0 3 * * ? *)', driftAction: 'repair' } }]).options.drift).toBe(true);
  });
});

describe('the local bus and the drift-repair source', () => {
  it('accepts it from the local drift role, and the rule delivers it to the bus queue from this account', async () => {
    const [result] = await put(LOCAL_DRIFT_ROLE_ARN, [entry(DRIFT_REPAIR_SOURCE, 'membership.added')]);
    expect(result.ErrorCode).toBeUndefined();
    expect(result.EventId).toBeDefined();
    expect(busQueueBodies()).toEqual([expect.objectContaining({ source: DRIFT_REPAIR_SOURCE, account: '000000000000', 'detail-type': 'membership.added' })]);
  });

  it.each([
    ['an undeclared principal', INTRUDER],
    ['a declared bus producer', HR],
    ['a declared queue producer', ONBOARDING],
    ['an operator', OPERATOR],
    ["the consumer's role", 'arn:aws:iam::000000000000:role/identity-provisioner-consumer-role'],
    ['a role of the same name in another account', LOOKALIKE],
  ])('refuses it from %s', async (_who, principal) => {
    const [result] = await put(principal, [entry(DRIFT_REPAIR_SOURCE, 'user.upserted')]);
    expect(result).toMatchObject({ ErrorCode: 'NotAuthorizedForSourceException' });
    expect(busQueueBodies()).toEqual([]);
  });

  it.each(['user.deleted', 'group.deleted', DRIFT_DETAIL_TYPE])('refuses the drift role a repair of type %s (outside its grant)', async (detailType) => {
    const [result] = await put(LOCAL_DRIFT_ROLE_ARN, [entry(DRIFT_REPAIR_SOURCE, detailType)]);
    expect(result).toMatchObject({ ErrorCode: 'NotAuthorizedForDetailTypeException' });
  });

  it("refuses the drift role a declared producer's source", async () => {
    const [result] = await put(LOCAL_DRIFT_ROLE_ARN, [entry('identity-provisioner.hr', 'user.upserted')]);
    expect(result).toMatchObject({ ErrorCode: 'NotAuthorizedForSourceException' });
  });

  it('lets the drift role publish identity.drift.detected with the outcome source, which the rule does not deliver', async () => {
    const [result] = await put(LOCAL_DRIFT_ROLE_ARN, [entry(OUTCOME_EVENT_SOURCE, DRIFT_DETAIL_TYPE)]);
    expect(result.ErrorCode).toBeUndefined();
    expect(busQueueBodies()).toEqual([]);
    expect((await put(INTRUDER, [entry(OUTCOME_EVENT_SOURCE, DRIFT_DETAIL_TYPE)]))[0]).toMatchObject({ ErrorCode: 'NotAuthorizedForSourceException' });
  });

  it('without the drift function, the drift role is refused like anyone (no undeclared source on the bus)', async () => {
    const without = planLocalIngestion(LOCAL_DEFAULTS);
    const doorsWithout = await startLocalDoors(without, { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    try {
      const client = new EventBridgeClient({ endpoint: doorsWithout.eventBridge.endpoint, region: 'us-east-1', credentials: localCredentialsFor(LOCAL_DRIFT_ROLE_ARN), maxAttempts: 1 });
      clients.push(client);
      const { Entries } = await client.send(new PutEventsCommand({ Entries: [entry(DRIFT_REPAIR_SOURCE, 'user.upserted')] }));
      expect(Entries![0]).toMatchObject({ ErrorCode: 'NotAuthorizedForSourceException' });
      expect(doorsWithout.doors[DRIFT_REPAIR_PRODUCER]).toBeUndefined();
    } finally {
      await doorsWithout.eventBridge.stop();
      await doorsWithout.sqs.stop();
    }
  });
});

describe("the drift function's pieces against the local servers", () => {
  // The handler module validates its configuration when loaded, as at a cold start.
  type DriftHandlerModule = typeof import('../../lambdas/handlers/drift-detector');
  let handlerModule: DriftHandlerModule;
  const saved = { ...process.env };

  beforeAll(() => {
    Object.assign(process.env, {
      IDENTITY_STORE_ID: 'd-1234567890',
      IDENTITY_STORE_REGION: 'us-east-1',
      AUDIT_TABLE_NAME: LOCAL_NAMES.tables.audit,
      AUDIT_RETENTION_DAYS: '0',
      STATE_TABLE_NAME: LOCAL_NAMES.tables.state,
      EVENT_BUS_NAME: LOCAL_NAMES.bus,
      REQUESTS_PER_SECOND: '5',
      QUOTA_INSTANCES: '1',
      MANAGED_GROUP_SCOPE: 'created',
      RETRY_SAFETY_MARGIN_MS: '2000',
      DRIFT_ACTION: 'repair',
      SOURCE_QUEUE_URLS: JSON.stringify(plan.sourceQueues.map((name) => sqs.queue(name).url)),
      AWS_REGION: 'us-east-1',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_DEV: 'false',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    handlerModule = require('../../lambdas/handlers/drift-detector') as DriftHandlerModule;
  });
  afterAll(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  const repairs: IdentityChange[] = [
    { id: 'drift-a', type: 'membership.added', occurredAt: '2026-01-01T00:00:00.000Z', actor: 'drift-detector', data: { userName: 'ada', groupDisplayName: 'app-wiki' } },
    { id: 'drift-b', type: 'group.upserted', occurredAt: '2026-01-01T00:00:00.000Z', actor: 'drift-detector', data: { group: { DisplayName: 'app-wiki', Description: 'Wiki' } } },
  ] as IdentityChange[];

  it('the repair sender puts each repair on the bus as drift-repair, detail-type its type, detail the v1 document', async () => {
    const sender = new EventBridgeRepairSender(eventsAs(LOCAL_DRIFT_ROLE_ARN), LOCAL_NAMES.bus);
    expect(await sender.send(repairs)).toEqual({ sent: 2, failed: [] });
    const delivered = busQueueBodies();
    expect(delivered.map((body) => [body.source, body['detail-type'], (body.detail as { id: string }).id])).toEqual([
      [DRIFT_REPAIR_SOURCE, 'membership.added', 'drift-a'],
      [DRIFT_REPAIR_SOURCE, 'group.upserted', 'drift-b'],
    ]);
    expect(delivered[0].detail).toEqual(repairs[0]);
  });

  it('the repair sender reports each refused repair by id, with the bus\'s reason (signed by anyone else)', async () => {
    const sender = new EventBridgeRepairSender(eventsAs(INTRUDER), LOCAL_NAMES.bus);
    const result = await sender.send(repairs);
    expect(result.sent).toBe(0);
    expect(result.failed.map((failure) => failure.id)).toEqual(['drift-a', 'drift-b']);
    expect(result.failed[0].reason).toMatch(/^NotAuthorizedForSourceException/);
  });

  it('queuedEvents counts what the source queues hold, visible and in flight, and yieldingTo waits until they are empty', async () => {
    const urls = plan.sourceQueues.map((name) => sqs.queue(name).url);
    const reader = sqsAs(plan.resources.functionRoleArn);
    expect(await queuedEvents(reader, urls)).toBe(0);
    await sqsAs(ONBOARDING).send(new SendMessageCommand({ QueueUrl: doors.onboarding.via === 'queue' ? doors.onboarding.queueUrl : '', MessageBody: '{}' }));
    expect(await queuedEvents(reader, urls)).toBe(1);

    // The wait is driven by a fake clock: each sleep, the consumer "takes" the message.
    let now = 0;
    const sleeps: number[] = [];
    const waits = handlerModule.yieldingTo({
      queued: () => queuedEvents(reader, urls),
      waitUntil: () => 60_000,
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
        await sqsAs(OPERATOR).send(new PurgeQueueCommand({ QueueUrl: urls[1] }));
      },
      pollMs: 5_000,
    });
    await waits();
    expect(sleeps).toEqual([5_000]);
    expect(await queuedEvents(reader, urls)).toBe(0);
  });

  it('yieldingTo gives up at the deadline with DriftYieldTimeoutError, and does not wait when the queues cannot be asked', async () => {
    let now = 0;
    const timesOut = handlerModule.yieldingTo({ queued: async () => 3, waitUntil: () => 12_000, now: () => now, sleep: async (ms) => void (now += ms), pollMs: 5_000 });
    await expect(timesOut()).rejects.toBeInstanceOf(handlerModule.DriftYieldTimeoutError);
    expect(now).toBe(12_000);

    const failures: unknown[] = [];
    const unasked = handlerModule.yieldingTo({
      queued: async () => {
        throw new Error('AccessDenied');
      },
      waitUntil: () => 60_000,
      onQueryFailed: (error) => failures.push(error),
      sleep: async () => {
        throw new Error('must not wait');
      },
    });
    await unasked();
    expect(failures).toHaveLength(1);
  });
});
