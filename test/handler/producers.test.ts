/**
 * Only declared producers change identities, and only within their grant: the real handler, real
 * SQS records from the local queues (the bus queue, each producer's own queue), dynalite and the
 * emulator. Messages on the bus queue are what the bus rule delivers there (EventBridge envelopes);
 * forged ones are sent straight to a queue, as only a principal allowed on that queue could.
 */
import type { SQSEvent } from 'aws-lambda';
import { EVENT_TYPES } from '../../lambdas/domain/identity-change';
import { createConsumerRuntime } from '../../lambdas/handlers/consumer-runtime';
import { METRIC } from '../../lambdas/shared/telemetry';
import { at, events, person } from '../support/events';
import { deliver, failedMessageIds, lambdaContext, sqsEventOf } from './support/delivery';
import { auditRecordsOf, deadLetters, groupsOf, outcomeEventsOf, outcomesOf, userIdOf } from './support/store-view';
import { HR_ACCOUNT_ID, importHandler, startHandlerWorld, type HandlerWorld, type QueueRef, type WorldProducer } from './support/world';

const HR_SOURCE = 'identity-provisioner.hr';
const PRODUCERS: WorldProducer[] = [
  // Sets the scene (creates groups and users): anything, through its own queue.
  { name: 'tests', via: 'queue', eventTypes: [...EVENT_TYPES], groups: ['*'] },
  // The HR feed: users and department groups, through the bus.
  {
    name: 'hr',
    via: 'bus',
    source: HR_SOURCE,
    accounts: [HR_ACCOUNT_ID],
    eventTypes: ['user.upserted', 'user.deleted', 'group.upserted'],
    groups: ['Everyone', 'dept-*'],
  },
  // A self-service portal: members of app-* groups only, through its own queue.
  { name: 'portal', via: 'queue', eventTypes: ['membership.added', 'membership.removed'], groups: ['app-*'] },
];

let world: HandlerWorld;
let handler: ReturnType<typeof importHandler>;
let portalQueue: QueueRef;

beforeAll(async () => {
  world = await startHandlerWorld({
    queueKind: 'standard',
    maxReceiveCount: 3,
    redeliveryBaseDelaySeconds: 10,
    sqsSecondMs: 100,
    producers: PRODUCERS,
  });
  portalQueue = world.producerQueues.portal!;
  handler = importHandler();
  // The scene: groups of both grants and one outside both, all managed (created by this service).
  const scene = ['Everyone', 'dept-eng', 'dept-ops', 'app-wiki', 'App-Tools', 'Legacy'].map((name) =>
    events.groupUpserted(name, { id: `prd-scene-${name}`, at: at(1) }),
  );
  await run(world.queue, scene);
  await run(world.queue, [events.userUpserted(person('grace'), { id: 'prd-scene-grace', groups: ['dept-eng', 'Legacy'], at: at(2) })]);
});

afterAll(async () => {
  await world?.stop();
});

beforeEach(async () => {
  await world.purgeQueues();
});

let envelopes = 0;
/** An EventBridge event as the bus rule delivers it, from the HR feed's account unless overridden. */
function envelope(detail: { type: string }, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0',
    id: `6a7e8feb-0000-4000-8000-${String(++envelopes).padStart(12, '0')}`,
    'detail-type': detail.type,
    source: HR_SOURCE,
    account: HR_ACCOUNT_ID,
    time: '2026-11-22T09:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail,
    ...overrides,
  };
}

/** Sends the bodies to `queue`, hands them to the handler as one batch; nothing may fail. */
async function run(queue: QueueRef, bodies: object[]): Promise<SQSEvent> {
  const event = await deliver(world, sqsEventOf(bodies), { queue });
  expect(failedMessageIds(await handler(event, lambdaContext()))).toEqual([]);
  return event;
}

/** The DLQ letter of one event id. */
function letterOf(eventId: string) {
  return deadLetters(world).find((letter) => letter.attributes.eventId === eventId);
}

async function expectRefused(eventId: string, code: 'PRODUCER_UNKNOWN' | 'PRODUCER_NOT_ALLOWED', expected: { producer: string; via: string; message: RegExp }) {
  const outcomes = await outcomesOf(world, eventId);
  expect(outcomes).toEqual([
    expect.objectContaining({ outcome: 'REJECTED', errorCode: code, producer: expected.producer, via: expected.via, writes: 0 }),
  ]);
  expect(outcomes[0]!.errorMessage).toMatch(expected.message);
  expect(outcomes[0]!.senderId).toEqual(expect.any(String));
  expect(outcomes[0]!.senderId.length).toBeGreaterThan(0);
  expect(letterOf(eventId)?.attributes).toMatchObject({
    rejectionCode: code,
    rejectionReason: outcomes[0]!.errorMessage,
    sourceQueueArn: expected.via === 'bus' ? world.busQueue.arn : expect.stringContaining(':identity-provisioner-producer-'),
  });
  expect(outcomeEventsOf(world, eventId)).toEqual([
    expect.objectContaining({
      detailType: 'identity.change.rejected',
      detail: expect.objectContaining({ errorCode: code, producer: expected.producer, senderId: outcomes[0]!.senderId }),
    }),
  ]);
}

describe('an unverifiable sender is refused as PRODUCER_UNKNOWN', () => {
  it('an undeclared source on the bus queue: in the DLQ with the reason, in the audit trail as unverified', async () => {
    const event = await run(world.busQueue, [
      envelope(events.groupUpserted('dept-payroll', { id: 'prd-unknown-source' }), { source: 'identity-provisioner.payroll' }),
    ]);
    await expectRefused('prd-unknown-source', 'PRODUCER_UNKNOWN', {
      producer: 'unverified',
      via: 'bus',
      message: /^source: "identity-provisioner.payroll" is not the source of a declared bus producer/,
    });
    const [outcome] = await outcomesOf(world, 'prd-unknown-source');
    expect(outcome!.senderId).toBe(event.Records[0]!.attributes.SenderId);
    expect(outcome!.source).toBe('identity-provisioner.payroll');
  });

  it('a bare document on the bus queue', async () => {
    await run(world.busQueue, [events.groupUpserted('dept-bare', { id: 'prd-bare-on-bus' })]);
    await expectRefused('prd-bare-on-bus', 'PRODUCER_UNKNOWN', {
      producer: 'unverified',
      via: 'bus',
      message: /no producer can be verified: send through the bus with your producer's source, or to your producer queue/,
    });
  });

  it("a forged envelope on a producer queue (the portal claiming the HR feed's source)", async () => {
    await run(portalQueue, [envelope(events.userUpserted(person('mallory'), { id: 'prd-forged', groups: ['dept-eng'] }))]);
    await expectRefused('prd-forged', 'PRODUCER_UNKNOWN', {
      // The queue vouches for who sent it, whatever the envelope claims.
      producer: 'portal',
      via: 'queue',
      message: /send the bare v1 document to this queue/,
    });
    expect(await userIdOf(world, 'mallory')).toBeUndefined();
  });

  it("an envelope whose account is not the producer's", async () => {
    await run(world.busQueue, [envelope(events.groupUpserted('dept-x', { id: 'prd-wrong-account' }), { account: '999988887777' })]);
    await expectRefused('prd-wrong-account', 'PRODUCER_UNKNOWN', {
      producer: 'unverified',
      via: 'bus',
      message: /account: "999988887777" is not one of producer "hr"'s accounts \(111122223333\)/,
    });
  });
});

describe('a producer outside its grant is refused as PRODUCER_NOT_ALLOWED', () => {
  it('by type and by group, while the events behind them in the batch are applied', async () => {
    await run(portalQueue, [
      events.userDeleted({ userName: 'grace' }, { id: 'prd-deny-type', at: at(10) }),
      events.membership('membership.added', 'grace', 'dept-ops', { id: 'prd-deny-group', at: at(10) }),
      events.membership('membership.added', 'grace', 'app-wiki', { id: 'prd-allow-app', at: at(10) }),
    ]);
    await expectRefused('prd-deny-type', 'PRODUCER_NOT_ALLOWED', {
      producer: 'portal',
      via: 'queue',
      message: /^producer "portal" may not send user.deleted \(it may send membership.added, membership.removed\)$/,
    });
    await expectRefused('prd-deny-group', 'PRODUCER_NOT_ALLOWED', {
      producer: 'portal',
      via: 'queue',
      message: /^producer "portal" may not touch group "dept-ops" \(its groups: app-\*\)$/,
    });
    expect((await outcomesOf(world, 'prd-allow-app')).map((o) => [o.outcome, o.producer])).toEqual([['APPLIED', 'portal']]);
    expect(await groupsOf(world, 'grace')).toEqual(['Legacy', 'app-wiki', 'dept-eng']);
  });

  it('one bad entry in a user.upserted groups list refuses the whole event, and changes nothing', async () => {
    await run(world.busQueue, [
      envelope(events.userUpserted(person('alan'), { id: 'prd-deny-list', groups: ['Everyone', 'dept-eng', 'app-wiki'], at: at(11) })),
      envelope(events.userUpserted(person('katherine'), { id: 'prd-allow-list', groups: ['Everyone', 'dept-ops'], at: at(11) })),
    ]);
    await expectRefused('prd-deny-list', 'PRODUCER_NOT_ALLOWED', {
      producer: 'hr',
      via: 'bus',
      message: /^producer "hr" may not touch group "app-wiki" \(its groups: Everyone, dept-\*\)$/,
    });
    expect(await userIdOf(world, 'alan')).toBeUndefined();
    expect(await groupsOf(world, 'katherine')).toEqual(['Everyone', 'dept-ops']);
  });
});

describe("a groups list is reconciled within the sender's grant", () => {
  it("leaves memberships in groups outside the grant alone: the portal's app-wiki and the managed Legacy survive the HR move", async () => {
    await run(world.queue, [events.userUpserted(person('ada'), { id: 'prd-ada-join', groups: ['dept-eng', 'Legacy'], at: at(20) })]);
    await run(portalQueue, [events.membership('membership.added', 'ada', 'app-wiki', { id: 'prd-ada-app', at: at(21) })]);
    await run(world.busQueue, [envelope(events.userUpserted(person('ada'), { id: 'prd-ada-move', groups: ['Everyone', 'dept-ops'], at: at(22) }))]);

    expect(await groupsOf(world, 'ada')).toEqual(['Everyone', 'Legacy', 'app-wiki', 'dept-ops']);
    const writes = (await auditRecordsOf(world, 'prd-ada-move')).flatMap((r) => (r.kind === 'WRITE' ? [`${r.action} ${r.groupDisplayName}`] : []));
    expect(writes.sort()).toEqual(['CreateGroupMembership Everyone', 'CreateGroupMembership dept-ops', 'DeleteGroupMembership dept-eng']);
  });
});

describe('group names against grants, adversarially', () => {
  it.each([
    ['"App-Tools" against "app-*" (names are case-insensitive)', true, 'App-Tools'],
    ['"app" against the prefix "app-*"', false, 'app'],
    ['a Cyrillic "а" look-alike of "app-wiki"', false, '\u0430pp-wiki'],
  ])('portal, %s: allowed %s', async (_name, allowed, group) => {
    const id = `prd-name-${Buffer.from(group).toString('hex')}`;
    await run(portalQueue, [events.membership('membership.added', 'grace', group, { id, at: at(30) })]);
    const [outcome] = await outcomesOf(world, id);
    if (allowed) expect(outcome).toMatchObject({ outcome: 'APPLIED', producer: 'portal' });
    else expect(outcome).toMatchObject({ outcome: 'REJECTED', errorCode: 'PRODUCER_NOT_ALLOWED' });
  });

  it.each([
    ['a trailing space', 'Everyone '],
    ['a trailing no-break space', 'Everyone\u00a0'],
  ])('hr, "Everyone" with %s: refused by the contract before the grant is even asked (a name must not end in whitespace)', async (_name, group) => {
    const id = `prd-space-${Buffer.from(group).toString('hex')}`;
    await run(world.busQueue, [envelope(events.groupUpserted(group, { id, at: at(31) }))]);
    const [outcome] = await outcomesOf(world, id);
    expect(outcome).toMatchObject({ outcome: 'REJECTED', errorCode: 'INVALID_EVENT', producer: 'hr' });
    expect(outcome!.errorMessage).toContain('detail.data.group.DisplayName: must not begin or end with whitespace');
  });
});

describe('the verified producer on every record of an applied event', () => {
  it('every OUTCOME and WRITE record carries producer, senderId and via; the outcome event carries producer and senderId', async () => {
    const event = await run(world.busQueue, [
      envelope(events.userUpserted(person('dorothy'), { id: 'prd-records', groups: ['Everyone', 'dept-eng'], at: at(40) })),
    ]);
    const senderId = event.Records[0]!.attributes.SenderId;
    expect(senderId.length).toBeGreaterThan(0);
    const records = await auditRecordsOf(world, 'prd-records');
    // Each write has its intent before it, under the same sequence.
    expect(records.map((r) => r.kind).sort()).toEqual(['INTENT', 'INTENT', 'INTENT', 'OUTCOME', 'WRITE', 'WRITE', 'WRITE']);
    for (const record of records) {
      expect(record).toMatchObject({ producer: 'hr', senderId, via: 'bus', actor: 'hr-system' });
    }
    const [outcome] = records.filter((r) => r.kind === 'OUTCOME');
    expect(outcome).toMatchObject({ outcome: 'APPLIED', source: HR_SOURCE });
    expect(outcomeEventsOf(world, 'prd-records')).toEqual([
      expect.objectContaining({
        detailType: 'identity.change.applied',
        source: 'identity-provisioner',
        detail: expect.objectContaining({ outcome: 'APPLIED', producer: 'hr', senderId, userId: await userIdOf(world, 'dorothy') }),
      }),
    ]);
  });
});

describe('idempotency is per producer', () => {
  it("one producer's event id does not make another producer's event with that id a duplicate", async () => {
    // The portal sends first, under the id the HR feed is about to use.
    await run(portalQueue, [events.membership('membership.added', 'dorothy', 'app-wiki', { id: 'prd-shared-id', at: at(50) })]);
    await run(world.busQueue, [envelope(events.userUpserted(person('dorothy'), { id: 'prd-shared-id', groups: ['Everyone'], at: at(51) }))]);
    const outcomes = await outcomesOf(world, 'prd-shared-id');
    expect(outcomes.map((o) => [o.producer, o.type, o.outcome])).toEqual([
      ['portal', 'membership.added', 'APPLIED'],
      ['hr', 'user.upserted', 'APPLIED'],
    ]);
  });
});

describe('the producerRefused metric', () => {
  it('counts every PRODUCER_UNKNOWN and PRODUCER_NOT_ALLOWED outcome, and nothing else', async () => {
    // A runtime of its own (same environment as the handler's), so its metrics can be read.
    const runtime = createConsumerRuntime(process.env);
    runtime.startInvocation(lambdaContext());
    const consumeAll = async (event: SQSEvent) => {
      for (const record of event.Records) await runtime.consume(record, runtime.read(record));
    };
    await consumeAll(await deliver(world, sqsEventOf([
      envelope(events.groupUpserted('dept-m1', { id: 'prd-metric-unknown' }), { source: 'identity-provisioner.nobody' }),
      envelope(events.groupUpserted('app-m2', { id: 'prd-metric-not-allowed' })),
      envelope(events.groupUpserted('dept-m3', { id: 'prd-metric-applied' })),
      { not: 'an event' },
    ]), { queue: world.busQueue }));
    await consumeAll(await deliver(world, sqsEventOf([
      events.membership('membership.added', 'grace', 'Legacy', { id: 'prd-metric-portal' }),
    ]), { queue: portalQueue }));

    const emitted = runtime.metrics.serializeMetrics() as unknown as Record<string, number | number[] | undefined>;
    // Powertools keeps one value per addMetric call under the metric's name.
    const total = (name: string) => [emitted[name] ?? []].flat().reduce((sum, value) => sum + value, 0);
    // Unknown: the undeclared source, the bare document on the bus queue. Not allowed: hr's app-m2
    // (its groups are Everyone, dept-*), the portal's Legacy (its groups are app-*).
    expect(total(METRIC.producerRefused)).toBe(4);
    expect(total(METRIC.rejected)).toBe(4);
    expect(total(METRIC.applied)).toBe(1);
  });
});
