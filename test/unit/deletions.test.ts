/**
 * user.deleted and group.deleted let the Identity Store remove the memberships: one write each,
 * with every safety rule as before (grants, managed scope, deletion cap, leases, watermarks,
 * applied facts, write-ahead intents), and a trail that still says which memberships ended.
 */
import { detectDrift, repairEventsFor, type DriftMemoryPort } from '../../lambdas/domain/drift';
import { RetryableError } from '../../lambdas/domain/errors';
import { IdCache, withCachedLookups } from '../../lambdas/domain/id-cache';
import { processDelivery, type ProcessSettings } from '../../lambdas/domain/process-event';
import type { RecordOrigin } from '../../lambdas/domain/producer';
import { DRIFT_REPAIR_EVENT_TYPES, DRIFT_REPAIR_PRODUCER, type RuntimeProducer } from '../../lambdas/shared/producers';
import { ada, at, events, person } from '../support/events';
import { FixedClock, InMemoryAuditLog, InMemoryIdentityStore, InMemoryProcessingState } from '../support/in-memory-ports';
import { TEST_ORIGIN, testProcessSettings } from '../support/producers';

function harness(overrides: Partial<ProcessSettings> = {}, options: { idCacheMs?: number } = {}) {
  const settings = { ...testProcessSettings(), ...overrides };
  const identityStore = new InMemoryIdentityStore();
  const state = new InMemoryProcessingState();
  const audit = new InMemoryAuditLog();
  const clock = new FixedClock();
  const port = options.idCacheMs ? withCachedLookups(identityStore, new IdCache(options.idCacheMs, clock), settings.identityStoreId) : identityStore;
  const deps = { identityStore: port, state, audit, clock, publisher: { publish: async () => undefined }, pause: async (ms: number) => clock.advance(ms) };
  let messages = 0;
  const deliver = (event: { id: string }, receiveCount = 1, origin: RecordOrigin = TEST_ORIGIN) =>
    processDelivery(
      JSON.stringify(event),
      { messageId: `m-${++messages}`, receiveCount, maxReceiveCount: 5, receivedAt: clock.now(), deadline: new Date(clock.now().getTime() + 60_000), origin },
      deps,
      settings,
    );
  /** The Identity Store calls one delivery made. */
  const callsOf = async (deliverIt: () => ReturnType<typeof deliver>) => {
    const before = identityStore.calls.length;
    const result = await deliverIt();
    return { result, calls: identityStore.calls.slice(before) };
  };
  const trailOf = (eventId: string) => ({
    intents: audit.intents.filter((r) => r.eventId === eventId),
    writes: audit.writes.filter((r) => r.eventId === eventId),
  });
  const reserved = () => state.reservedDeletions(clock.now(), settings.deletionWindowSeconds);
  const drift = () =>
    detectDrift(
      {
        identityStore,
        state,
        applied: state,
        memory: new ForgetfulMemory(),
        audit: { recordDrift: async () => undefined },
        publisher: { publishDrift: async () => undefined },
        clock,
        yieldToEvents: async () => undefined,
      },
      { identityStoreId: settings.identityStoreId, managedGroupScope: settings.managedGroupScope, action: 'report' },
    );
  return { identityStore, state, audit, clock, deliver, callsOf, trailOf, reserved, drift };
}

class ForgetfulMemory implements DriftMemoryPort {
  async recall() {
    return new Map<string, string>();
  }
  async remember() {}
  async forget() {}
}

async function applied(h: ReturnType<typeof harness>, ...documents: { id: string }[]) {
  for (const document of documents) expect((await h.deliver(document)).record.outcome).toBe('APPLIED');
}

const idOf = async (h: ReturnType<typeof harness>, userName: string) => (await h.identityStore.findUserIdByUserName(userName))!;
const groupIdOf = async (h: ReturnType<typeof harness>, displayName: string) => (await h.identityStore.findGroupIdByDisplayName(displayName))!;

describe('user.deleted: one DeleteUser, the store removes the memberships', () => {
  it('makes one read and one write however many groups the leaver is in, and the trail ends them by the UserId', async () => {
    const h = harness();
    const ext = { Issuer: 'workday', Id: 'E-1' };
    await applied(h, ...['G1', 'G2', 'G3'].map((g) => events.groupUpserted(g, { at: at(1) })));
    await applied(h, events.userUpserted(ada({ ExternalIds: [ext] }), { groups: ['G1', 'G2', 'G3'], at: at(2) }));
    const userId = await idOf(h, 'ada');

    const { result, calls } = await h.callsOf(() => h.deliver(events.userDeleted({ externalId: ext }, { at: at(3) })));
    // The UserId comes from this service's own ExternalId mapping; DescribeUser gives the name the trail records.
    expect(calls).toEqual(['DescribeUser', 'DeleteUser']);
    expect(result.record).toMatchObject({ outcome: 'APPLIED', writes: 1, userId, userName: 'ada' });
    expect(h.identityStore.memberships.size).toBe(0);

    const trail = h.trailOf(result.eventId);
    expect(trail.intents).toEqual([expect.objectContaining({ action: 'DeleteUser', userId, sequence: 0 })]);
    expect(trail.writes).toEqual([expect.objectContaining({ action: 'DeleteUser', userId, userName: 'ada', sequence: 0 })]);
    expect(trail.writes[0].requestId).toBeDefined();
    // What ended: every membership the trail opened for this UserId, with no record of its own.
    const opened = h.audit.writes.filter((w) => w.action === 'CreateGroupMembership' && w.userId === userId);
    expect(opened.map((w) => w.groupDisplayName)).toEqual(['G1', 'G2', 'G3']);
  });

  it('a user not found makes no write, takes no slot of the cap and leaves the tombstone', async () => {
    const h = harness();
    const { result, calls } = await h.callsOf(() => h.deliver(events.userDeleted({ userName: 'ghost' }, { at: at(3) })));
    expect(result.record).toMatchObject({ outcome: 'NOOP', writes: 0 });
    expect(calls).toEqual(['GetUserId']);
    expect(h.trailOf(result.eventId).intents).toEqual([]);
    expect(await h.reserved()).toEqual([]);
    const late = await h.deliver(events.userUpserted(person('ghost'), { at: at(2) }));
    expect(late.record.outcome).toBe('SUPERSEDED');
  });
});

describe('group.deleted: one DeleteGroup, the store removes the memberships, the members stay', () => {
  it.each([
    ['cold', 0, ['GetGroupId', 'DeleteGroup']],
    ['warm', 60_000, ['DeleteGroup']],
  ])('makes the lookup and the write only (%s id cache), and the trail ends them by the GroupId', async (_cache, idCacheMs, expectedCalls) => {
    const h = harness({}, { idCacheMs });
    await applied(h, events.groupUpserted('Project', { at: at(1) }));
    await applied(h, events.userUpserted(ada(), { groups: ['Project'], at: at(2) }), events.userUpserted(person('bob'), { groups: ['Project'], at: at(2) }));
    const groupId = await groupIdOf(h, 'Project');

    const { result, calls } = await h.callsOf(() => h.deliver(events.groupDeleted('Project', { at: at(3) })));
    expect(calls).toEqual(expectedCalls);
    expect(result.record).toMatchObject({ outcome: 'APPLIED', writes: 1, groupId, groupDisplayName: 'Project' });
    expect(h.identityStore.snapshot()).toEqual({ ada: [], bob: [] });
    const trail = h.trailOf(result.eventId);
    expect(trail.intents).toEqual([expect.objectContaining({ action: 'DeleteGroup', groupId, sequence: 0 })]);
    expect(trail.writes).toEqual([expect.objectContaining({ action: 'DeleteGroup', groupId, groupDisplayName: 'Project', sequence: 0 })]);
  });
});

describe('grants and the managed scope', () => {
  const HR_QUEUE = 'arn:aws:sqs:us-east-1:000000000000:hr';
  const PORTAL_QUEUE = 'arn:aws:sqs:us-east-1:000000000000:portal';
  const hr: RuntimeProducer = {
    name: 'hr',
    via: 'queue',
    queueArn: HR_QUEUE,
    eventTypes: ['user.upserted', 'user.deleted', 'group.upserted', 'group.deleted'],
    groups: ['dept-*'],
  };
  const portal: RuntimeProducer = {
    name: 'portal',
    via: 'queue',
    queueArn: PORTAL_QUEUE,
    eventTypes: ['group.upserted', 'group.deleted', 'membership.added', 'membership.removed'],
    groups: ['app-*'],
  };
  const fromHr: RecordOrigin = { queueArn: HR_QUEUE, senderId: 'AROAHR:feed' };
  const fromPortal: RecordOrigin = { queueArn: PORTAL_QUEUE, senderId: 'AROAPORTAL:app' };

  /** ada: in dept-eng (HR's), app-wiki (the portal's) and AWSControlTowerAdmins (made in the console, not managed). */
  async function world() {
    const h = harness({ producers: [hr, portal] });
    expect((await h.deliver(events.groupUpserted('dept-eng', { at: at(1) }), 1, fromHr)).record.outcome).toBe('APPLIED');
    expect((await h.deliver(events.groupUpserted('app-wiki', { at: at(1) }), 1, fromPortal)).record.outcome).toBe('APPLIED');
    expect((await h.deliver(events.userUpserted(ada(), { groups: ['dept-eng'], at: at(2) }), 1, fromHr)).record.outcome).toBe('APPLIED');
    expect((await h.deliver(events.membership('membership.added', 'ada', 'app-wiki', { at: at(2) }), 1, fromPortal)).record.outcome).toBe('APPLIED');
    const madeInTheConsole = h.identityStore.seedGroup('AWSControlTowerAdmins');
    await h.identityStore.createMembership(madeInTheConsole, await idOf(h, 'ada'));
    expect(h.identityStore.snapshot()).toEqual({ ada: ['AWSControlTowerAdmins', 'app-wiki', 'dept-eng'] });
    return h;
  }

  it('a leaver is deleted by the producer granted user.deleted, and with the user go its memberships outside that grant and outside the managed scope', async () => {
    // As docs/security.md says: user.deleted touches no group by name, and a producer granted it
    // may delete any user, whatever groups they are in. It always did (one DeleteGroupMembership
    // per group, unmanaged ones included); now DeleteUser does it in one write.
    const h = await world();
    const { result, calls } = await h.callsOf(() => h.deliver(events.userDeleted({ userName: 'ada' }, { at: at(3) }), 1, fromHr));
    expect(result.record).toMatchObject({ outcome: 'APPLIED', producer: 'hr', writes: 1 });
    expect(calls).toEqual(['GetUserId', 'DescribeUser', 'DeleteUser']);
    expect(h.identityStore.users.size).toBe(0);
    expect(h.identityStore.memberships.size).toBe(0);
    expect(h.identityStore.groups.size).toBe(3);
  });

  it('a producer not granted user.deleted cannot delete the user, and no membership goes', async () => {
    const h = await world();
    const refused = await h.deliver(events.userDeleted({ userName: 'ada' }, { at: at(3) }), 1, fromPortal);
    expect(refused.record).toMatchObject({ outcome: 'REJECTED', errorCode: 'PRODUCER_NOT_ALLOWED' });
    expect(h.identityStore.snapshot()).toEqual({ ada: ['AWSControlTowerAdmins', 'app-wiki', 'dept-eng'] });
  });

  it('a group outside the sender\'s grant, or outside the managed scope, is not deleted and keeps its members', async () => {
    const h = await world();
    await h.identityStore.createMembership(h.identityStore.seedGroup('dept-legacy'), await idOf(h, 'ada'));
    const outsideGrant = await h.deliver(events.groupDeleted('app-wiki', { at: at(3) }), 1, fromHr);
    expect(outsideGrant.record).toMatchObject({ outcome: 'REJECTED', errorCode: 'PRODUCER_NOT_ALLOWED' });
    const unmanaged = await h.deliver(events.groupDeleted('dept-legacy', { at: at(3) }), 1, fromHr);
    expect(unmanaged.record).toMatchObject({ outcome: 'REJECTED', errorCode: 'GROUP_NOT_MANAGED' });
    expect(h.identityStore.writeCalls.filter((c) => c.startsWith('Delete'))).toEqual([]);
    expect(h.audit.intents.filter((r) => r.action.startsWith('Delete'))).toEqual([]);
    expect(await h.reserved()).toEqual([]);
    expect(h.identityStore.snapshot()).toEqual({ ada: ['AWSControlTowerAdmins', 'app-wiki', 'dept-eng', 'dept-legacy'] });

    const inGrant = await h.deliver(events.groupDeleted('app-wiki', { at: at(3) }), 1, fromPortal);
    expect(inGrant.record).toMatchObject({ outcome: 'APPLIED', writes: 1 });
    expect(h.identityStore.snapshot()).toEqual({ ada: ['AWSControlTowerAdmins', 'dept-eng', 'dept-legacy'] });
  });
});

describe('a user deleted twice', () => {
  it('redelivered after it was applied: NOOP, no write, no second slot of the cap', async () => {
    const h = harness();
    await applied(h, events.groupUpserted('Eng', { at: at(1) }), events.userUpserted(ada(), { groups: ['Eng'], at: at(2) }));
    const leaver = events.userDeleted({ userName: 'ada' }, { at: at(3) });
    expect((await h.deliver(leaver)).record.outcome).toBe('APPLIED');
    const again = await h.deliver(leaver, 2);
    expect(again.record).toMatchObject({ outcome: 'NOOP', writes: 0 });
    expect(h.audit.intents.filter((r) => r.eventId === leaver.id).map((r) => `${r.attempt}:${r.action}`)).toEqual(['1:DeleteUser']);
    expect(await h.reserved()).toEqual([leaver.id]);
  });

  it('redelivered after the DeleteUser was made but its record was lost: the intent stays in the trail, the retry converges', async () => {
    const h = harness();
    await applied(h, events.groupUpserted('Eng', { at: at(1) }), events.userUpserted(ada(), { groups: ['Eng'], at: at(2) }));
    const userId = await idOf(h, 'ada');
    const leaver = events.userDeleted({ userName: 'ada' }, { at: at(3) });
    h.audit.failNextWriteRecord = 1;
    const first = await h.deliver(leaver);
    expect(first.record).toMatchObject({ outcome: 'RETRYING', errorCode: 'AUDIT_UNAVAILABLE' });
    expect(h.identityStore.users.size).toBe(0);
    expect(h.identityStore.memberships.size).toBe(0);
    const second = await h.deliver(leaver, 2);
    // The retry's outcome names the UserId the intent named, gone, and its tombstones say so.
    expect(second.record).toMatchObject({ outcome: 'NOOP', writes: 0, userId });
    expect((await h.state.getWatermarks(['user:name:ada'])).get('user:name:ada')?.applied).toEqual({ kind: 'user-deleted', userId });
    // The deletion is in the trail by its intent, with the UserId that ends the memberships.
    expect(h.trailOf(leaver.id)).toEqual({ intents: [expect.objectContaining({ action: 'DeleteUser', userId, attempt: 1 })], writes: [] });
    expect(await h.reserved()).toEqual([leaver.id]);
  });

  it('deleted again, by each of its names in turn: every NOOP keeps the deletion on record, so drift never finds the leaver missing', async () => {
    const h = harness();
    const [e1, e2] = [{ Issuer: 'workday', Id: 'E-1' }, { Issuer: 'badge', Id: 'B-1' }];
    await applied(h, events.userUpserted(ada({ ExternalIds: [e1, e2] }), { at: at(1) }));
    const userId = await idOf(h, 'ada');
    // Applied by one ExternalId: the other keeps the joiner's fact (the store holds no ExternalIds to tombstone it by).
    await applied(h, events.userDeleted({ externalId: e1 }, { at: at(2) }));
    // The same leave sent again, by name and by the first ExternalId: nobody to delete.
    for (const [data, minute] of [[{ userName: 'ada' }, 3], [{ externalId: e1 }, 4]] as const) {
      const again = await h.deliver(events.userDeleted(data, { at: at(minute) }));
      expect(again.record).toMatchObject({ outcome: 'NOOP', writes: 0, userId });
    }
    const marks = await h.state.getWatermarks(['user:name:ada', 'user:ext:workday:E-1']);
    expect([...marks.values()].map((mark) => mark.applied)).toEqual([{ kind: 'user-deleted', userId }, { kind: 'user-deleted', userId }]);
    expect((await h.drift()).findings).toEqual([]);
  });

  it('re-hired under the same ExternalId (a new UserId): the old deletion redelivered is superseded and the new user keeps its groups; a new deletion ends them', async () => {
    const h = harness();
    const ext = { Issuer: 'workday', Id: 'E-9' };
    await applied(h, events.groupUpserted('Eng', { at: at(1) }));
    await applied(h, events.userUpserted(ada({ ExternalIds: [ext] }), { groups: ['Eng'], at: at(2) }));
    const oldId = await idOf(h, 'ada');
    const leaver = events.userDeleted({ externalId: ext }, { at: at(3) });
    await applied(h, leaver);
    await applied(h, events.userUpserted(ada({ ExternalIds: [ext] }), { groups: ['Eng'], at: at(4) }));
    const newId = await idOf(h, 'ada');
    expect(newId).not.toBe(oldId);

    const redelivered = await h.deliver(leaver, 2);
    expect(redelivered.record).toMatchObject({ outcome: 'SUPERSEDED', writes: 0 });
    expect(h.identityStore.snapshot()).toEqual({ ada: ['Eng'] });

    const leavesAgain = events.userDeleted({ externalId: ext }, { at: at(5) });
    const second = await h.deliver(leavesAgain);
    expect(second.record).toMatchObject({ outcome: 'APPLIED', userId: newId });
    expect(h.trailOf(leavesAgain.id).writes).toEqual([expect.objectContaining({ action: 'DeleteUser', userId: newId })]);
    expect(h.identityStore.memberships.size).toBe(0);
    expect(await h.reserved()).toEqual([leaver.id, leavesAgain.id]);
  });
});

describe('a drift repair restores an applied fact: it is no newer decision than that fact', () => {
  const DRIFT_QUEUE = 'arn:aws:sqs:us-east-1:000000000000:drift-repair';
  const driftRepair: RuntimeProducer = { name: DRIFT_REPAIR_PRODUCER, via: 'queue', queueArn: DRIFT_QUEUE, eventTypes: [...DRIFT_REPAIR_EVENT_TYPES], groups: ['*'] };
  const fromDrift: RecordOrigin = { queueArn: DRIFT_QUEUE, senderId: 'AROADRIFT:drift' };

  /**
   * ada joined at minute 1 as an Engineer, in Eng; then her title was changed in the console. Drift
   * runs at 10:00 (the clock), after every event of these tests, and builds the repair of her title.
   */
  async function titleDrifted(overrides: Partial<ProcessSettings> = {}) {
    const h = harness({ producers: [...testProcessSettings().producers, driftRepair], ...overrides });
    await applied(h, events.groupUpserted('Eng', { at: at(1) }), events.userUpserted(ada({ Title: 'Engineer' }), { groups: ['Eng'], at: at(1) }));
    const userId = await idOf(h, 'ada');
    h.identityStore.users.get(userId)!.attributes.Title = 'Chief Everything Officer';
    const report = await h.drift();
    expect(report.findings.map((f) => [f.kind, f.path])).toEqual([['attribute-differs', 'title']]);
    const [repair] = repairEventsFor(report.findings).events;
    const marks = () => h.state.getWatermarks(['user:name:ada', 'memberships-of|user:name:ada']);
    return { h, userId, repair: repair!, marks };
  }
  const titleOf = (h: ReturnType<typeof harness>, userId: string) => h.identityStore.users.get(userId)?.attributes.Title;

  it('a leaver held back by the deletion cap, then the repair of their title, then the leaver\'s retry: the user is deleted, not SUPERSEDED', async () => {
    const { h, userId, repair, marks } = await titleDrifted({ deletionCap: 1 });
    await applied(h, events.userUpserted(person('bob'), { at: at(1) }), events.userDeleted({ userName: 'bob' }, { at: at(2) }));
    const leaver = events.userDeleted({ userName: 'ada' }, { at: at(3) });
    expect((await h.deliver(leaver)).record).toMatchObject({ outcome: 'RETRYING', errorCode: 'DELETION_CAP_REACHED' });

    const before = await marks();
    const repaired = await h.deliver(repair, 1, fromDrift);
    expect(repaired.record).toMatchObject({ outcome: 'APPLIED', producer: DRIFT_REPAIR_PRODUCER, occurredAt: at(1), writes: 1 });
    expect(titleOf(h, userId)).toBe('Engineer');
    // It put back what the joiner's fact says, and left the joiner's watermark and fact as they were.
    expect(await marks()).toEqual(before);

    h.clock.advance(3600 * 1000);
    const retried = await h.deliver(leaver, 2);
    expect(retried.record).toMatchObject({ outcome: 'APPLIED', userId, writes: 1 });
    expect(h.identityStore.users.has(userId)).toBe(false);
    expect(h.trailOf(leaver.id).writes).toEqual([expect.objectContaining({ action: 'DeleteUser', userId })]);
  });

  it('an HR move that arrives after the repair, older than the drift run but newer than the fact it restores, still applies', async () => {
    const { h, userId, repair } = await titleDrifted();
    expect((await h.deliver(repair, 1, fromDrift)).record.outcome).toBe('APPLIED');
    await applied(h, events.groupUpserted('Platform', { at: at(1) }));
    const move = events.userUpserted(ada({ Title: 'Staff Engineer' }), { groups: ['Platform'], at: at(5) });
    expect((await h.deliver(move)).record).toMatchObject({ outcome: 'APPLIED', userId });
    expect(titleOf(h, userId)).toBe('Staff Engineer');
    expect(h.identityStore.snapshot()).toEqual({ ada: ['Platform'] });
    expect((await h.drift()).findings).toEqual([]);
  });

  it('a repair whose user a producer changed after drift read the facts ends SUPERSEDED and changes nothing', async () => {
    const { h, userId, repair, marks } = await titleDrifted();
    await applied(h, events.userUpserted(ada({ Title: 'Manager' }), { at: at(5) }));
    const before = await marks();
    const writes = h.identityStore.writeCalls.length;
    const result = await h.deliver(repair, 1, fromDrift);
    expect(result.record).toMatchObject({ outcome: 'SUPERSEDED', writes: 0 });
    expect(titleOf(h, userId)).toBe('Manager');
    expect(h.identityStore.writeCalls).toHaveLength(writes);
    expect(await marks()).toEqual(before);
  });

  it('a membership repair whose pair a producer decided after drift read the facts ends SUPERSEDED and changes nothing', async () => {
    const h = harness({ producers: [...testProcessSettings().producers, driftRepair] });
    await applied(h, ...['Eng', 'Platform'].map((g) => events.groupUpserted(g, { at: at(1) })), events.userUpserted(ada(), { groups: ['Eng'], at: at(1) }));
    // Added in the console: the joiner's group list (minute 1) left her out of Platform.
    await h.identityStore.createMembership(await groupIdOf(h, 'Platform'), await idOf(h, 'ada'));
    const report = await h.drift();
    expect(report.findings.map((f) => f.kind)).toEqual(['unexpected-member']);
    const [repair] = repairEventsFor(report.findings).events;
    expect(repair).toMatchObject({ type: 'membership.removed', occurredAt: at(1) });
    // A producer then says she belongs there (she already does: nothing to write, the pair decided).
    expect((await h.deliver(events.membership('membership.added', 'ada', 'Platform', { at: at(5) }))).record.outcome).toBe('NOOP');
    expect((await h.deliver(repair!, 1, fromDrift)).record).toMatchObject({ outcome: 'SUPERSEDED', writes: 0 });
    expect(h.identityStore.snapshot()).toEqual({ ada: ['Eng', 'Platform'] });
  });

  it('a membership repair applied moves no watermark: the pair gets no fact of its own, and a producer\'s change of the pair as old as the restored fact still applies', async () => {
    const h = harness({ producers: [...testProcessSettings().producers, driftRepair] });
    await applied(h, ...['Eng', 'Platform'].map((g) => events.groupUpserted(g, { at: at(1) })), events.userUpserted(ada(), { groups: ['Eng'], at: at(1) }));
    await h.identityStore.createMembership(await groupIdOf(h, 'Platform'), await idOf(h, 'ada'));
    const [repair] = repairEventsFor((await h.drift()).findings).events;
    expect((await h.deliver(repair!, 1, fromDrift)).record).toMatchObject({ outcome: 'APPLIED', writes: 1 });
    expect(h.identityStore.snapshot()).toEqual({ ada: ['Eng'] });
    expect(await h.state.getWatermarks(['membership:ada|platform'])).toEqual(new Map());
    // The repair is dated at the group list it restores (minute 1); a producer's add from minute 1, sent
    // then and arriving only now, is no older than what the repair put back: it applies.
    expect((await h.deliver(events.membership('membership.added', 'ada', 'Platform', { at: at(1) }))).record.outcome).toBe('APPLIED');
    expect(h.identityStore.snapshot()).toEqual({ ada: ['Eng', 'Platform'] });
  });

  it('an attribute repair whose user was deleted in the console after drift read it does not re-create the user (NOOP)', async () => {
    const { h, userId, repair } = await titleDrifted();
    await h.identityStore.deleteUser(userId);
    const result = await h.deliver(repair, 1, fromDrift);
    expect(result.record).toMatchObject({ outcome: 'NOOP', producer: DRIFT_REPAIR_PRODUCER, writes: 0 });
    expect(h.identityStore.users.size).toBe(0);
    expect(h.identityStore.writeCalls.filter((c) => c === 'CreateUser')).toHaveLength(1);
  });

  it('a description repair whose group was deleted in the console after drift read it does not re-create the group (NOOP)', async () => {
    const h = harness({ producers: [...testProcessSettings().producers, driftRepair] });
    await applied(h, events.groupUpserted('Eng', { at: at(1), description: 'Engineers' }));
    const [group] = [...h.identityStore.groups.values()];
    group!.description = 'Changed in the console';
    const report = await h.drift();
    expect(report.findings.map((f) => f.kind)).toEqual(['description-differs']);
    const [repair] = repairEventsFor(report.findings).events;
    await h.identityStore.deleteGroup(group!.groupId);
    const result = await h.deliver(repair!, 1, fromDrift);
    expect(result.record).toMatchObject({ outcome: 'NOOP', producer: DRIFT_REPAIR_PRODUCER, writes: 0 });
    expect(h.identityStore.groups.size).toBe(0);
    expect(h.identityStore.writeCalls.filter((c) => c === 'CreateGroup')).toHaveLength(1);
  });

  it('an attribute repair whose user a leaver deleted after drift read it ends SUPERSEDED: the leaver is newer than the fact', async () => {
    const { h, repair } = await titleDrifted();
    await applied(h, events.userDeleted({ userName: 'ada' }, { at: at(2) }));
    const result = await h.deliver(repair, 1, fromDrift);
    expect(result.record).toMatchObject({ outcome: 'SUPERSEDED', producer: DRIFT_REPAIR_PRODUCER, writes: 0 });
    expect(h.identityStore.users.size).toBe(0);
  });
});

describe('a warm id cache that the store contradicts', () => {
  it('a cached id now under another name (renamed outside the service) is not the person the name names', async () => {
    const h = harness({}, { idCacheMs: 60_000 });
    await applied(h, events.userUpserted(ada(), { at: at(1) }));
    const renamed = await idOf(h, 'ada');
    h.identityStore.users.get(renamed)!.attributes.UserName = 'ada.old';
    const newer = h.identityStore.seedUser(ada());
    const result = await h.deliver(events.userDeleted({ userName: 'ada' }, { at: at(2) }));
    expect(result.record).toMatchObject({ outcome: 'APPLIED', userId: newer });
    expect([...h.identityStore.users.keys()]).toEqual([renamed]);
  });
});

describe('a group deleted while a membership.added for it is in flight', () => {
  async function world() {
    const h = harness();
    await applied(h, events.groupUpserted('Temp', { at: at(1) }), events.userUpserted(ada(), { at: at(1) }));
    return h;
  }

  /** Delivers `deletion` from inside the membership.added, after it resolved the group and before its CreateGroupMembership. */
  function deleteGroupDuringNextCreateMembership(h: ReturnType<typeof harness>, deletion: { id: string }) {
    const create = h.identityStore.createMembership.bind(h.identityStore);
    const outcomes: string[] = [];
    h.identityStore.createMembership = async (groupId, userId) => {
      h.identityStore.createMembership = create;
      outcomes.push((await h.deliver(deletion)).record.outcome);
      return create(groupId, userId);
    };
    return outcomes;
  }

  it('an older membership.added whose create lands after the deletion retries and is then superseded by the deletion', async () => {
    const h = await world();
    const added = events.membership('membership.added', 'ada', 'Temp', { at: at(3) });
    // Different leases (the person, the group): the deletion is not held back by the membership.
    const deletion = deleteGroupDuringNextCreateMembership(h, events.groupDeleted('Temp', { at: at(4) }));
    const first = await h.deliver(added);
    expect(deletion).toEqual(['APPLIED']);
    expect(first.record).toMatchObject({ outcome: 'RETRYING', errorCode: 'STALE_REFERENCE', writes: 0 });
    // Its intent is there, without a WRITE: a write that failed.
    expect(h.trailOf(added.id)).toEqual({ intents: [expect.objectContaining({ action: 'CreateGroupMembership' })], writes: [] });
    const second = await h.deliver(added, 2);
    expect(second.record.outcome).toBe('SUPERSEDED');
    expect(h.identityStore.snapshot()).toEqual({ ada: [] });
    expect(h.identityStore.groups.size).toBe(0);
  });

  it('a newer membership.added waits for a group of that name instead of writing to the deleted one', async () => {
    const h = await world();
    const added = events.membership('membership.added', 'ada', 'Temp', { at: at(5) });
    deleteGroupDuringNextCreateMembership(h, events.groupDeleted('Temp', { at: at(4) }));
    expect((await h.deliver(added)).record.errorCode).toBe('STALE_REFERENCE');
    const second = await h.deliver(added, 2);
    expect(second.record).toMatchObject({ outcome: 'RETRYING', errorCode: 'GROUP_NOT_FOUND' });
    expect(h.identityStore.memberships.size).toBe(0);
  });

  it('an older membership.added applied first is ended by the deletion, and its redelivery is superseded', async () => {
    const h = await world();
    const added = events.membership('membership.added', 'ada', 'Temp', { at: at(3) });
    await applied(h, added);
    await applied(h, events.groupDeleted('Temp', { at: at(4) }));
    expect(h.identityStore.snapshot()).toEqual({ ada: [] });
    expect((await h.deliver(added, 2)).record.outcome).toBe('SUPERSEDED');
    expect(h.identityStore.writeCalls.filter((c) => c === 'CreateGroupMembership')).toHaveLength(1);
  });
});

describe('the deletion cap', () => {
  it('counts one slot per deleted user or group, however many memberships go with it', async () => {
    const h = harness({ deletionCap: 2 });
    await applied(h, ...['G1', 'G2', 'G3', 'Project'].map((g) => events.groupUpserted(g, { at: at(1) })));
    await applied(h, events.userUpserted(ada(), { groups: ['G1', 'G2', 'G3'], at: at(2) }));
    await applied(h, events.userUpserted(person('bob'), { groups: ['Project'], at: at(2) }), events.userUpserted(person('cy'), { groups: ['Project'], at: at(2) }));
    const leaver = events.userDeleted({ userName: 'ada' }, { at: at(3) });
    const project = events.groupDeleted('Project', { at: at(3) });
    await applied(h, leaver, project);
    expect(await h.reserved()).toEqual([leaver.id, project.id]);

    const held = events.userDeleted({ userName: 'bob' }, { at: at(4) });
    const result = await h.deliver(held);
    expect(result.record).toMatchObject({ outcome: 'RETRYING', errorCode: 'DELETION_CAP_REACHED', writes: 0 });
    expect(h.trailOf(held.id).intents).toEqual([]);
    expect(h.identityStore.users.has(await idOf(h, 'bob'))).toBe(true);
    // Nothing to delete takes no slot, even with the cap used up.
    expect((await h.deliver(events.userDeleted({ userName: 'ghost' }, { at: at(4) }))).record.outcome).toBe('NOOP');
    expect(await h.reserved()).toEqual([leaver.id, project.id]);
  });

  it('a deletion whose DeleteUser failed keeps its slot for the retry and takes no second one', async () => {
    const h = harness({ deletionCap: 2 });
    for (const name of ['u1', 'u2', 'u3']) await applied(h, events.userUpserted(person(name), { at: at(1) }));
    const deleteUser = h.identityStore.deleteUser.bind(h.identityStore);
    h.identityStore.deleteUser = async () => {
      h.identityStore.deleteUser = deleteUser;
      throw new RetryableError('IDENTITY_STORE_THROTTLED', 'throttled');
    };
    const first = events.userDeleted({ userName: 'u1' }, { at: at(2) });
    expect((await h.deliver(first)).record.errorCode).toBe('IDENTITY_STORE_THROTTLED');
    const second = events.userDeleted({ userName: 'u2' }, { at: at(2) });
    await applied(h, second);
    expect((await h.deliver(first, 2)).record.outcome).toBe('APPLIED');
    expect((await h.deliver(events.userDeleted({ userName: 'u3' }, { at: at(2) }))).record.errorCode).toBe('DELETION_CAP_REACHED');
    expect(await h.reserved()).toEqual([first.id, second.id]);
  });
});

describe('drift after deletions', () => {
  it('does not report the memberships the store removed with a user or a group, nor owe the members to a group made again under the name', async () => {
    const h = harness({ deletionCap: 5 });
    await applied(h, ...['Engineering', 'Everyone'].map((g) => events.groupUpserted(g, { at: at(1) })));
    await applied(h, events.userUpserted(ada(), { groups: ['Engineering', 'Everyone'], at: at(2) }));
    await applied(h, events.userUpserted(person('bob'), { groups: ['Everyone'], at: at(2) }));
    await applied(h, events.membership('membership.added', 'bob', 'Engineering', { at: at(3) }));
    expect((await h.drift()).findings).toEqual([]);

    await applied(h, events.groupDeleted('Everyone', { at: at(4) }), events.userDeleted({ userName: 'ada' }, { at: at(5) }));
    expect(h.identityStore.snapshot()).toEqual({ bob: ['Engineering'] });
    expect((await h.drift()).findings).toEqual([]);

    await applied(h, events.groupUpserted('Everyone', { at: at(6) }));
    expect((await h.drift()).findings).toEqual([]);
  });

  it('still reports a membership that outlived what the deletion should have ended (the check can fail)', async () => {
    const h = harness();
    await applied(h, ...['Engineering', 'Everyone'].map((g) => events.groupUpserted(g, { at: at(1) })));
    await applied(h, events.userUpserted(person('bob'), { groups: ['Everyone'], at: at(2) }));
    const everyone = await groupIdOf(h, 'Everyone');
    const bob = await idOf(h, 'bob');
    // Had a deletion ended less than the facts say, drift would see it: here the facts say the
    // group was deleted, and its membership is still in the store.
    await h.state.advanceWatermarks(['group:everyone'], { occurredAt: at(4), eventId: 'gone', kind: 'deleted', applied: { kind: 'group-deleted', groupId: everyone } });
    const findings = (await h.drift()).findings;
    expect(findings.map((f) => [f.kind, f.userId, f.groupId])).toEqual([['unexpected-member', bob, everyone]]);
  });
});
