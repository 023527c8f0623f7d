/**
 * The plan's promise: run over what-if ports, the record path shows exactly the writes a later
 * apply makes (same actions, targets, before and after), and the live store, state and audit
 * trail are left untouched. Each scenario is applied for real to a twin of the same live store.
 */
import { readDelivery } from '../../lambdas/domain/parse-event';
import { planDeliveries, type PlanEntry } from '../../lambdas/domain/plan';
import { processReading } from '../../lambdas/domain/process-event';
import type { WriteRecord } from '../../lambdas/domain/ports';
import { applyOperations } from '../../lambdas/domain/user-diff';
import { PLANNED_ID_PREFIX, whatIf } from '../../lambdas/domain/what-if';
import { ada, at, events, person } from '../support/events';
import { FixedClock, InMemoryAuditLog, InMemoryIdentityStore, InMemoryProcessingState } from '../support/in-memory-ports';
import { TEST_ORIGIN, testProcessSettings } from '../support/producers';

const HR_ID = { Issuer: 'hr', Id: '1001' };
const settings = { ...testProcessSettings(), maxReceiveCount: 5 };

/** Two identical live worlds: one to plan against, one to apply to. */
function twinWorlds(seed: (store: InMemoryIdentityStore, state: InMemoryProcessingState) => Promise<void>) {
  const make = async () => {
    const store = new InMemoryIdentityStore();
    const state = new InMemoryProcessingState();
    await seed(store, state);
    return { store, state };
  };
  return Promise.all([make(), make()]);
}

const inputsOf = (documents: object[]) =>
  documents.map((document, index) => ({
    index,
    reading: readDelivery(JSON.stringify(document), TEST_ORIGIN, settings.producers),
    messageId: `m-${index}`,
    origin: TEST_ORIGIN,
  }));

async function plan(world: { store: InMemoryIdentityStore; state: InMemoryProcessingState }, documents: object[]) {
  const ports = whatIf({ identityStore: world.store, state: world.state });
  const entries = await planDeliveries(inputsOf(documents), { ...ports, publisher: { publish: async () => {} }, clock: new FixedClock(new Date(at(30))) }, settings);
  return { entries, ports };
}

/** Applies the documents for real, redelivering what asks for it, as the queue would. */
async function apply(world: { store: InMemoryIdentityStore; state: InMemoryProcessingState }, documents: object[]) {
  const audit = new InMemoryAuditLog();
  const deps = { identityStore: world.store, state: world.state, audit, publisher: { publish: async () => {} }, clock: new FixedClock(new Date(at(30))), pause: async () => {} };
  let pending = inputsOf(documents).map((input) => ({ input, receiveCount: 1 }));
  while (pending.length > 0) {
    const again: typeof pending = [];
    for (const { input, receiveCount } of pending) {
      const now = deps.clock.now();
      const result = await processReading(
        input.reading,
        { messageId: input.messageId, receiveCount, maxReceiveCount: 5, receivedAt: now, deadline: new Date(now.getTime() + 900_000), origin: input.origin },
        deps,
        settings,
      );
      if (result.disposition.kind === 'retryAfter' && result.failure?.code !== 'DELETION_CAP_REACHED') again.push({ input, receiveCount: receiveCount + 1 });
    }
    pending = again;
  }
  return audit;
}

/** A write as an operator reads it: ids the plan invents are not comparable, names and changes are. */
const shape = (write: WriteRecord) => ({
  eventId: write.eventId,
  action: write.action,
  userName: write.userName,
  groupDisplayName: write.groupDisplayName,
  changes: write.changes,
});

async function expectPlanMatchesApply(
  seed: (store: InMemoryIdentityStore, state: InMemoryProcessingState) => Promise<void>,
  documents: object[],
): Promise<PlanEntry[]> {
  const [planned, applied] = await twinWorlds(seed);
  const before = structuredClone({ users: [...planned.store.users], groups: [...planned.store.groups], memberships: [...planned.store.memberships] });
  const stateOf = (state: InMemoryProcessingState) =>
    structuredClone({ watermarks: [...state.watermarks], managed: [...state.managed], externalIds: [...state.externalIds], deletions: [...state.deletionWindows] });
  const stateBefore = stateOf(planned.state);
  const { entries, ports } = await plan(planned, documents);
  const audit = await apply(applied, documents);

  expect(ports.audit.writes.map(shape)).toEqual(audit.writes.map(shape));
  expect(entries.map((e) => e.outcome)).toEqual(documents.map((d) => audit.outcomes.filter((o) => o.eventId === (d as { id: string }).id).at(-1)?.outcome));
  // Nothing reached the live world the plan read.
  expect(planned.store.writeCalls).toEqual([]);
  expect({ users: [...planned.store.users], groups: [...planned.store.groups], memberships: [...planned.store.memberships] }).toEqual(before);
  expect(stateOf(planned.state)).toEqual(stateBefore);
  return entries;
}

describe('a plan shows exactly the writes the apply makes, and writes nothing', () => {
  it('joiners, a group, memberships and a move, where later events need what earlier ones create', async () => {
    const entries = await expectPlanMatchesApply(async () => {}, [
      events.groupUpserted('Engineering', { id: 'g1', at: at(1) }),
      events.groupUpserted('Platform', { id: 'g2', at: at(1) }),
      events.userUpserted(ada(), { id: 'u1', at: at(2), groups: ['Engineering'] }),
      events.userUpserted(person('grace'), { id: 'u2', at: at(2) }),
      events.membership('membership.added', 'grace', 'Platform', { id: 'm1', at: at(3) }),
      events.userUpserted(ada({ Title: 'Staff Engineer' }), { id: 'u3', at: at(4), groups: ['Platform'] }),
    ]);
    expect(entries.map((e) => e.outcome)).toEqual(['APPLIED', 'APPLIED', 'APPLIED', 'APPLIED', 'APPLIED', 'APPLIED']);
    const move = entries[5].writes.map((w) => `${w.action} ${w.groupDisplayName ?? ''}`.trim());
    expect(move).toEqual(['UpdateUser', 'CreateGroupMembership Platform', 'DeleteGroupMembership Engineering']);
    expect(entries[5].writes[0].changes).toEqual([{ path: 'title', after: 'Staff Engineer' }]);
  });

  it('a membership that arrives before its group: redelivered after the others, as the queue does', async () => {
    const entries = await expectPlanMatchesApply(async () => {}, [
      events.userUpserted(person('alan'), { id: 'u1', at: at(1) }),
      events.membership('membership.added', 'alan', 'Research', { id: 'm1', at: at(3) }),
      events.groupUpserted('Research', { id: 'g1', at: at(2) }),
    ]);
    expect(entries[1]).toMatchObject({ outcome: 'APPLIED', deliveries: 2 });
  });

  it('over a live store with users and groups: a rename, a leaver and a group deletion', async () => {
    const seed = async (store: InMemoryIdentityStore, state: InMemoryProcessingState) => {
      const ops = store.seedGroup('Ops');
      await state.markManagedGroup(ops, 'Ops');
      const adaId = store.seedUser(ada(), [HR_ID]);
      const linus = store.seedUser(person('linus'));
      store.memberships.set('x1', { membershipId: 'x1', groupId: ops, userId: adaId });
      store.memberships.set('x2', { membershipId: 'x2', groupId: ops, userId: linus });
    };
    const entries = await expectPlanMatchesApply(seed, [
      events.userUpserted(ada({ UserName: 'ada.lovelace', ExternalIds: [HR_ID] }), { id: 'r1', at: at(1) }),
      events.userUpserted(person('ada'), { id: 'r2', at: at(2) }),
      events.userDeleted({ userName: 'linus' }, { id: 'd1', at: at(3) }),
      events.groupDeleted('Ops', { id: 'd2', at: at(4) }),
      events.membership('membership.added', 'ada.lovelace', 'Ops', { id: 'm1', at: at(5) }),
    ]);
    // The ExternalId makes the first a rename; "ada" is then free, and the second creates a new user under it.
    expect(entries[0].writes.map((w) => [w.action, w.changes?.find((c) => c.path === 'userName')])).toEqual([
      ['UpdateUser', { path: 'userName', before: 'ada', after: 'ada.lovelace' }],
    ]);
    expect(entries[1].writes.map((w) => w.action)).toEqual(['CreateUser']);
    // Deletions make one write each: the store removes the memberships with the user or group.
    expect(entries[2].writes.map((w) => w.action)).toEqual(['DeleteUser']);
    expect(entries[3].writes.map((w) => w.action)).toEqual(['DeleteGroup']);
    // Added after the group's deletion: it waits for a group that never comes, and fails on the last delivery.
    expect(entries[4]).toMatchObject({ outcome: 'FAILED', errorCode: 'GROUP_NOT_FOUND', deliveries: 5 });
  });

  it('a leaver and a group deletion end their memberships with one write each; later events about those memberships see them gone', async () => {
    const seed = async (store: InMemoryIdentityStore, state: InMemoryProcessingState) => {
      for (const name of ['Ops', 'Data']) await state.markManagedGroup(store.seedGroup(name), name);
      const [ops, data] = [...store.groups.keys()];
      const adaId = store.seedUser(ada(), [HR_ID]);
      const linus = store.seedUser(person('linus'));
      store.memberships.set('x1', { membershipId: 'x1', groupId: ops, userId: adaId });
      store.memberships.set('x2', { membershipId: 'x2', groupId: data, userId: adaId });
      store.memberships.set('x3', { membershipId: 'x3', groupId: ops, userId: linus });
    };
    const entries = await expectPlanMatchesApply(seed, [
      events.userDeleted({ externalId: HR_ID }, { id: 'd1', at: at(1) }),
      events.membership('membership.removed', 'ada', 'Data', { id: 'm1', at: at(2) }),
      events.groupDeleted('Ops', { id: 'd2', at: at(3) }),
      events.membership('membership.removed', 'linus', 'Ops', { id: 'm2', at: at(4) }),
      events.membership('membership.added', 'linus', 'Data', { id: 'm3', at: at(5) }),
    ]);
    expect(entries.map((e) => [e.outcome, e.writes.map((w) => w.action)])).toEqual([
      ['APPLIED', ['DeleteUser']],
      ['NOOP', []],
      ['APPLIED', ['DeleteGroup']],
      ['NOOP', []],
      ['APPLIED', ['CreateGroupMembership']],
    ]);
    expect(entries[0].writes[0]).toMatchObject({ userName: 'ada', userId: expect.any(String) });
    expect(entries[2].writes[0]).toMatchObject({ groupDisplayName: 'Ops', groupId: expect.any(String) });
  });

  it('the deletion cap: what the live window already holds counts, and the next deletion is held', async () => {
    const seed = async (store: InMemoryIdentityStore, state: InMemoryProcessingState) => {
      for (const name of ['a', 'b', 'c']) store.seedUser(person(name));
      await state.tryReserveDeletion(new Date(at(30)), 3600, 2, 'earlier-deletion');
    };
    const [planned] = await twinWorlds(seed);
    const { entries } = await plan(planned, [events.userDeleted({ userName: 'a' }, { id: 'd1', at: at(1) }), events.userDeleted({ userName: 'b' }, { id: 'd2', at: at(2) })]);
    expect(entries.map((e) => e.outcome)).toEqual(['APPLIED', 'HELD']);
    expect(entries[1].errorCode).toBe('DELETION_CAP_REACHED');
    expect(await planned.state.reservedDeletions(new Date(at(30)), 3600)).toEqual(['earlier-deletion']);
  });

  it('rejections, supersessions and no-ops are reported with their reasons, and make no writes', async () => {
    const seed = async (store: InMemoryIdentityStore, state: InMemoryProcessingState) => {
      store.seedGroup('Console-made');
      await state.advanceWatermarks(['user:name:grace'], { occurredAt: at(20), eventId: 'newer', kind: 'upserted' });
    };
    const entries = await expectPlanMatchesApply(seed, [
      events.membership('membership.added', 'nobody', 'Console-made', { id: 'x1', at: at(1) }),
      events.userUpserted(person('grace'), { id: 'x2', at: at(2) }),
      events.userDeleted({ userName: 'ghost' }, { id: 'x3', at: at(3) }),
      { id: 'x4', type: 'user.upserted', occurredAt: at(4), actor: 'hr', data: { user: { UserName: ' padded' } } },
    ]);
    expect(entries.map((e) => e.outcome)).toEqual(['FAILED', 'SUPERSEDED', 'NOOP', 'REJECTED']);
    expect(entries[1].reason).toMatch(/newer change \(newer/);
    expect(entries[3].reason).toMatch(/UserName/);
    expect(entries.flatMap((e) => e.writes)).toEqual([]);
  });

  it('two inputs with one event id each show their own writes, not each other\'s', async () => {
    const [planned] = await twinWorlds(async () => {});
    const { entries } = await plan(planned, [events.userUpserted(person('one'), { id: 'same', at: at(1) }), events.userUpserted(person('two'), { id: 'same', at: at(2) })]);
    expect(entries.map((e) => e.writes.map((w) => `${w.action} ${w.userName}`))).toEqual([['CreateUser one'], ['CreateUser two']]);
  });

  it('ids the plan invents never reach the live store', async () => {
    const [planned] = await twinWorlds(async () => {});
    const calls: string[] = [];
    const spy = new Proxy(planned.store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function'
          ? (...args: unknown[]) => {
              if (args.some((a) => typeof a === 'string' && a.startsWith(PLANNED_ID_PREFIX))) calls.push(String(prop));
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            }
          : value;
      },
    });
    const ports = whatIf({ identityStore: spy, state: planned.state });
    await planDeliveries(
      inputsOf([events.groupUpserted('New', { id: 'g', at: at(1) }), events.userUpserted(person('n'), { id: 'u', at: at(2), groups: ['New'] }), events.userDeleted({ userName: 'n' }, { id: 'd', at: at(3) })]),
      { ...ports, publisher: { publish: async () => {} }, clock: new FixedClock(new Date(at(30))) },
      settings,
    );
    expect(calls).toEqual([]);
  });
});

describe('applyOperations: the store after an UpdateUser', () => {
  it('sets, replaces and removes top-level, name and extension attributes', () => {
    const after = applyOperations(
      { UserName: 'a', DisplayName: 'A', Name: { GivenName: 'A', FamilyName: 'B' }, Title: 'x' },
      [
        { attributePath: 'title' },
        { attributePath: 'name.givenName', attributeValue: 'Ada' },
        { attributePath: 'name.familyName' },
        { attributePath: 'displayName', attributeValue: 'Ada' },
        { attributePath: 'aws:identitystore:enterprise', attributeValue: { employeeNumber: '7' } },
      ],
    );
    expect(after).toEqual({ UserName: 'a', DisplayName: 'Ada', Name: { GivenName: 'Ada' }, Extensions: { 'aws:identitystore:enterprise': { employeeNumber: '7' } } });
  });
});
