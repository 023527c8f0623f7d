import {
  countByKind,
  detectDrift,
  expectedState,
  findDrift,
  repairEventId,
  repairEventsFor,
  type DriftMemoryPort,
  type DriftRecord,
  type DriftSummary,
  type SeenFinding,
} from '../../lambdas/domain/drift';
import { identityChangeSchema, type IdentityChange } from '../../lambdas/domain/identity-change';
import type { ManagedView } from '../../lambdas/domain/managed-view';
import type { AppliedFacts, AppliedMark, StoredUser } from '../../lambdas/domain/ports';
import { processDelivery, type ProcessSettings } from '../../lambdas/domain/process-event';
import { ada, at, events, person } from '../support/events';
import { FixedClock, InMemoryIdentityStore, InMemoryProcessingState, InMemoryAuditLog } from '../support/in-memory-ports';
import { TEST_ORIGIN, testProcessSettings } from '../support/producers';

const mark = (minute: number, eventId: string, applied: AppliedFacts): AppliedMark => ({ occurredAt: at(minute), eventId, applied });
const user = (userId: string, userName: string, extra: Record<string, unknown> = {}): StoredUser => ({
  userId,
  attributes: { ...person(userName), ...extra } as StoredUser['attributes'],
  externalIds: [],
});
const view = (groups: ManagedView['groups'], users: StoredUser[] = [], missing: string[] = [], otherGroupIds: string[] = []): ManagedView => ({
  groups,
  users: new Map<string, StoredUser | undefined>([...users.map((u) => [u.userId, u] as const), ...missing.map((id) => [id, undefined] as const)]),
  storeGroupIds: new Set([...groups.map((g) => g.groupId), ...otherGroupIds]),
});
const group = (groupId: string, displayName: string, memberIds: string[] = [], description?: string) => ({
  groupId,
  displayName,
  ...(description !== undefined && { description }),
  members: memberIds.map((userId) => ({ userId, membershipId: `m-${groupId}-${userId}` })),
});

describe('expectedState and findDrift', () => {
  it('finds nothing when there are no applied facts at all, whatever the store holds', () => {
    const findings = findDrift(expectedState([]), view([group('g1', 'app-wiki', ['u1', 'u2'], 'x')], [user('u1', 'ada')]));
    expect(findings).toEqual([]);
  });

  it('finds an attribute changed on a managed user, only for attributes the applied change carried', () => {
    const applied = mark(1, 'e1', { kind: 'user', userId: 'u1', attributes: { ...person('ada'), Title: 'Engineer' } });
    const stored = user('u1', 'ada', { Title: 'Manager', NickName: 'set by hand' });
    const findings = findDrift(expectedState([applied]), view([], [stored]));
    expect(findings).toEqual([
      expect.objectContaining({
        key: 'attribute:u1:title',
        kind: 'attribute-differs',
        userId: 'u1',
        userName: 'ada',
        path: 'title',
        expected: 'Engineer',
        actual: 'Manager',
        departsFrom: { eventId: 'e1', occurredAt: at(1) },
      }),
    ]);
  });

  it('after a rename, the old name key carries an older fact about the same user: the latest fact wins', () => {
    const marks = [
      mark(1, 'e1', { kind: 'user', userId: 'u1', attributes: person('ada') }),
      mark(5, 'e2', { kind: 'user', userId: 'u1', attributes: person('ada.king') }),
    ];
    expect(findDrift(expectedState(marks), view([], [user('u1', 'ada.king')]))).toEqual([]);
    const drifted = findDrift(expectedState([...marks].reverse()), view([], [user('u1', 'ada')]));
    expect(drifted.find((f) => f.path === 'userName')).toMatchObject({ key: 'attribute:u1:userName', expected: 'ada.king', actual: 'ada' });
  });

  it('a user deleted then re-created has a new id: the old one should not exist, the new one is compared', () => {
    const marks = [
      mark(1, 'e1', { kind: 'user', userId: 'old', attributes: person('ada') }),
      mark(2, 'e2', { kind: 'user-deleted', userId: 'old' }),
      mark(3, 'e3', { kind: 'user', userId: 'new', attributes: person('ada') }),
    ];
    expect(findDrift(expectedState(marks), view([], [user('new', 'ada')], ['old']))).toEqual([]);
    // The re-created user deleted by hand: one finding, user-missing, against the change that made them.
    const findings = findDrift(expectedState(marks), view([], [], ['old', 'new']));
    expect(findings.map((f) => [f.kind, f.key, f.departsFrom?.eventId])).toEqual([['user-missing', 'user-missing:new', 'e3']]);
  });

  it('a user deleted outside the service and made again under the same name is replaced: the old id is neither missing nor owed memberships', () => {
    const marks = [
      // The old id's facts linger under other keys (an ExternalId, the membership set).
      mark(1, 'e1', { kind: 'user', userId: 'old', attributes: person('ada') }),
      mark(1, 'e1', { kind: 'memberships', userId: 'old', groupIds: ['g1'], within: ['*'] }),
      mark(5, 'repair', { kind: 'user', userId: 'new', attributes: person('ADA') }),
    ];
    const expected = expectedState(marks);
    expect(expected.users.get('old')).toEqual({ exists: false, from: { eventId: 'repair', occurredAt: at(5) } });
    expect(findDrift(expected, view([group('g1', 'app-wiki')], [user('new', 'ADA')], ['old']))).toEqual([]);
  });

  it('a later membership.removed overrides an earlier group list, and an earlier one is overridden by it', () => {
    const set = mark(1, 'e1', { kind: 'memberships', userId: 'u1', groupIds: ['g1'], within: ['*'] });
    const removed = mark(2, 'e2', { kind: 'membership', userId: 'u1', groupId: 'g1', member: false });
    const facts = [set, removed, mark(0, 'e0', { kind: 'user', userId: 'u1', attributes: person('ada') })];
    expect(findDrift(expectedState(facts), view([group('g1', 'app-wiki')], [user('u1', 'ada')]))).toEqual([]);
    const stillThere = findDrift(expectedState(facts), view([group('g1', 'app-wiki', ['u1'])], [user('u1', 'ada')]));
    expect(stillThere.map((f) => [f.kind, f.departsFrom?.eventId])).toEqual([['unexpected-member', 'e2']]);

    const laterSet = mark(3, 'e3', { kind: 'memberships', userId: 'u1', groupIds: ['g1'], within: ['*'] });
    const missing = findDrift(expectedState([...facts, laterSet]), view([group('g1', 'app-wiki')], [user('u1', 'ada')]));
    expect(missing.map((f) => [f.kind, f.key, f.departsFrom?.eventId])).toEqual([['member-missing', 'missing-member:g1:u1', 'e3']]);
  });

  it('a group list decides only groups within its grant: a member outside it is unexplained, not unexpected', () => {
    const facts = [mark(1, 'e1', { kind: 'memberships', userId: 'u1', groupIds: ['g-eng'], within: ['Everyone', 'dept-*'] })];
    const store = view([group('g-eng', 'dept-eng', ['u1']), group('g-dept', 'DEPT-ops', ['u1']), group('g-app', 'app-wiki', ['u1'])], [user('u1', 'ada')]);
    const findings = findDrift(expectedState(facts), store);
    expect(findings.map((f) => [f.kind, f.groupDisplayName])).toEqual([
      ['unexpected-member', 'DEPT-ops'],
      ['unexplained-member', 'app-wiki'],
    ]);
    expect(findings[1]!.departsFrom).toBeUndefined();
  });

  it('an older group list that covers the group still decides it when a newer one from a narrower grant does not', () => {
    const facts = [
      mark(1, 'e1', { kind: 'memberships', userId: 'u1', groupIds: ['g-app'], within: ['app-*'] }),
      mark(2, 'e2', { kind: 'memberships', userId: 'u1', groupIds: [], within: ['dept-*'] }),
    ];
    expect(findDrift(expectedState(facts), view([group('g-app', 'app-wiki', ['u1'])], [user('u1', 'ada')]))).toEqual([]);
  });

  it('only groups of the view count: a fact about a group outside the managed scope finds nothing', () => {
    const facts = [
      mark(1, 'e1', { kind: 'membership', userId: 'u1', groupId: 'g-out', member: true }),
      mark(1, 'e2', { kind: 'group', groupId: 'g-out', displayName: 'ControlTower', description: 'ours once' }),
    ];
    // g-out still exists in the store (listed), outside the scope.
    expect(findDrift(expectedState(facts), view([group('g-in', 'app-wiki')], [user('u1', 'ada')], [], ['g-out']))).toEqual([]);
  });

  it('a group this service upserted, gone from the store, is missing; one it deleted itself is not', () => {
    const facts = [
      mark(1, 'e1', { kind: 'group', groupId: 'g1', displayName: 'Platform' }),
      mark(1, 'e2', { kind: 'group', groupId: 'g2', displayName: 'Legacy' }),
      mark(2, 'e3', { kind: 'group-deleted', groupId: 'g2' }),
      mark(3, 'e4', { kind: 'group', groupId: 'g3', displayName: 'Everyone' }),
    ];
    const findings = findDrift(expectedState(facts), view([group('g3', 'Everyone')]));
    expect(findings).toEqual([{ key: 'group-missing:g1', kind: 'group-missing', groupId: 'g1', groupDisplayName: 'Platform', departsFrom: { eventId: 'e1', occurredAt: at(1) } }]);
    // Recreating it would not bring its members back: reported, never repaired.
    const repair = repairEventsFor(findings.map((f) => ({ ...f, firstSeen: at(5) })), { actor: 'drift-repair' });
    expect(repair.events).toEqual([]);
    expect(repair.notRepaired).toEqual([{ key: 'group-missing:g1', reason: expect.stringMatching(/deleted outside this service/) }]);
  });

  it('a deleted group or user explains nothing: a later deletion of either makes a membership unexpected', () => {
    const facts = [
      mark(1, 'e1', { kind: 'membership', userId: 'u1', groupId: 'g1', member: true }),
      mark(2, 'e2', { kind: 'group-deleted', groupId: 'g1' }),
    ];
    const findings = findDrift(expectedState(facts), view([group('g1', 'app-wiki', ['u1'])], [user('u1', 'ada')]));
    expect(findings.map((f) => [f.kind, f.departsFrom?.eventId])).toEqual([['unexpected-member', 'e2']]);
  });

  it('compares a description only where the applied change set one, case and all', () => {
    const facts = [
      mark(1, 'e1', { kind: 'group', groupId: 'g1', displayName: 'app-wiki', description: 'The wiki' }),
      mark(1, 'e2', { kind: 'group', groupId: 'g2', displayName: 'app-crm' }),
    ];
    const findings = findDrift(expectedState(facts), view([group('g1', 'App-Wiki', [], 'the wiki'), group('g2', 'app-crm', [], 'changed by hand')]));
    expect(findings).toEqual([
      expect.objectContaining({ key: 'description:g1', kind: 'description-differs', groupDisplayName: 'App-Wiki', expected: 'The wiki', actual: 'the wiki' }),
    ]);
  });

  it('user names differing only in case are drift (the engine would change them too)', () => {
    const facts = [mark(1, 'e1', { kind: 'user', userId: 'u1', attributes: person('Ada') })];
    const findings = findDrift(expectedState(facts), view([], [user('u1', 'ada', { DisplayName: 'Ada', Name: { GivenName: 'Ada', FamilyName: 'Test' } })]));
    expect(findings.map((f) => f.path)).toEqual(['userName']);
  });

  it('keys carry ids only and are stable; findings come in a fixed order', () => {
    const facts = [
      mark(1, 'e1', { kind: 'user', userId: 'u1', attributes: { ...person('ada'), Title: 'T' } }),
      mark(1, 'e2', { kind: 'membership', userId: 'u1', groupId: 'g1', member: true }),
    ];
    const store = view([group('g1', 'app-wiki', ['u2'])], [user('u1', 'ada'), user('u2', 'bob')]);
    const once = findDrift(expectedState(facts), store);
    expect(findDrift(expectedState([...facts].reverse()), store)).toEqual(once);
    expect(once.map((f) => [f.kind, f.key])).toEqual([
      ['attribute-differs', 'attribute:u1:title'],
      ['unexplained-member', 'extra-member:g1:u2'],
      ['member-missing', 'missing-member:g1:u1'],
    ]);
    expect(JSON.stringify(once.map((f) => f.key))).not.toMatch(/\bada\b|\bbob\b|\bwiki\b/);
    expect(countByKind(once)).toMatchObject({ 'attribute-differs': 1, 'unexplained-member': 1, 'member-missing': 1, 'user-missing': 0 });
  });
});

describe('repairEventsFor', () => {
  // The applied changes the findings depart from: ada's joiner, bob's group list, the group's creation.
  const joiner = { eventId: 'e-joiner', occurredAt: at(1) };
  const list = { eventId: 'e-list', occurredAt: at(2) };
  const created = { eventId: 'e-group', occurredAt: at(3) };
  const seen = (finding: Omit<SeenFinding, 'firstSeen'>, firstSeen = '2026-11-22T09:30:00.000Z'): SeenFinding => ({ departsFrom: joiner, ...finding, firstSeen });
  const attrs = { ...person('ada'), Title: 'Engineer' } as SeenFinding['appliedAttributes'];

  it('builds valid v1 events: one user.upserted per user with the applied attributes, membership and group events', () => {
    const plan = repairEventsFor(
      [
        seen({ key: 'attribute:u1:title', kind: 'attribute-differs', userId: 'u1', userName: 'ada', path: 'title', expected: 'Engineer', actual: 'x', appliedAttributes: attrs }),
        seen({ key: 'attribute:u1:displayName', kind: 'attribute-differs', userId: 'u1', userName: 'ada', path: 'displayName', expected: 'ada', appliedAttributes: attrs }),
        seen({ key: 'extra-member:g1:u2', kind: 'unexpected-member', userId: 'u2', userName: 'bob', groupId: 'g1', groupDisplayName: 'app-wiki', departsFrom: list }),
        seen({ key: 'missing-member:g1:u1', kind: 'member-missing', userId: 'u1', userName: 'ada', groupId: 'g1', groupDisplayName: 'app-wiki' }),
        seen({ key: 'description:g1', kind: 'description-differs', groupId: 'g1', groupDisplayName: 'app-wiki', expected: 'The wiki', departsFrom: created }),
        seen({ key: 'extra-member:g1:u3', kind: 'unexplained-member', userId: 'u3', userName: 'eve', groupId: 'g1', groupDisplayName: 'app-wiki', departsFrom: undefined }),
      ],
      { actor: 'drift-detector' },
    );
    // Each is dated at the applied change it puts back: no newer decision than that change.
    expect(plan.events.map((e) => [e.type, e.data, e.occurredAt])).toEqual([
      ['user.upserted', { user: attrs }, at(1)],
      ['membership.removed', { userName: 'bob', groupDisplayName: 'app-wiki' }, at(2)],
      ['membership.added', { userName: 'ada', groupDisplayName: 'app-wiki' }, at(1)],
      ['group.upserted', { group: { DisplayName: 'app-wiki', Description: 'The wiki' } }, at(3)],
    ]);
    for (const event of plan.events) {
      expect(identityChangeSchema.safeParse(event).success).toBe(true);
      expect(event.actor).toBe('drift-detector');
      expect(event.id).toMatch(/^drift-[0-9a-f]{32}$/);
    }
    expect(plan.repairOf.get('attribute:u1:title')).toBe(plan.events[0]!.id);
    expect(plan.repairOf.get('attribute:u1:displayName')).toBe(plan.events[0]!.id);
    expect(plan.notRepaired).toEqual([{ key: 'extra-member:g1:u3', reason: expect.stringContaining('no change of this service') }]);
  });

  it('ids are the same for the same findings first seen at the same time, and new when a finding comes back later', () => {
    const finding = { key: 'missing-member:g1:u1', kind: 'member-missing' as const, userName: 'ada', groupDisplayName: 'app-wiki' };
    const first = repairEventsFor([seen(finding)]).events[0]!.id;
    expect(repairEventsFor([seen(finding)]).events[0]!.id).toBe(first);
    expect(repairEventsFor([seen(finding, '2026-11-23T00:00:00.000Z')]).events[0]!.id).not.toBe(first);
    expect(repairEventId([{ key: 'a', firstSeen: 't' }, { key: 'b', firstSeen: 't' }])).toBe(repairEventId([{ key: 'b', firstSeen: 't' }, { key: 'a', firstSeen: 't' }]));
  });

  it('does not rename a user back by name: that event would create a second user', () => {
    const plan = repairEventsFor(
      [
        seen({ key: 'attribute:u1:userName', kind: 'attribute-differs', userId: 'u1', userName: 'ada.x', path: 'userName', expected: 'ada', appliedAttributes: attrs }),
        seen({ key: 'attribute:u1:title', kind: 'attribute-differs', userId: 'u1', userName: 'ada.x', path: 'title', expected: 'Engineer', appliedAttributes: attrs }),
      ],
    );
    expect(plan.events).toEqual([]);
    expect(plan.notRepaired.map((n) => n.key)).toEqual(['attribute:u1:userName', 'attribute:u1:title']);
  });

  it('never re-creates a missing user: it may be a leaver (deleted in the console, or by a deletion whose record was lost)', () => {
    const plan = repairEventsFor(
      [
        seen({ key: 'user-missing:u1', kind: 'user-missing', userId: 'u1', userName: 'ada', appliedAttributes: attrs }),
        seen({ key: 'attribute:u2:title', kind: 'attribute-differs', userId: 'u2', userName: 'bob', path: 'title', expected: 'Engineer', appliedAttributes: { ...attrs!, UserName: 'bob' } }),
      ],
    );
    expect(plan.events.map((e) => [e.type, e.type === 'user.upserted' && e.data.user.UserName])).toEqual([['user.upserted', 'bob']]);
    expect(plan.repairOf.has('user-missing:u1')).toBe(false);
    expect(plan.notRepaired).toEqual([{ key: 'user-missing:u1', reason: expect.stringContaining('not re-created') }]);
  });

  it('does not send a repair it cannot date at the applied change it restores', () => {
    const plan = repairEventsFor([seen({ key: 'missing-member:g1:u1', kind: 'member-missing', userId: 'u1', userName: 'ada', groupId: 'g1', groupDisplayName: 'app-wiki', departsFrom: undefined })]);
    expect(plan.events).toEqual([]);
    expect(plan.notRepaired).toEqual([{ key: 'missing-member:g1:u1', reason: expect.stringContaining('not at hand') }]);
  });
});

class MemoryOfFindings implements DriftMemoryPort {
  readonly seen = new Map<string, string>();
  async recall() {
    return new Map(this.seen);
  }
  async remember(key: string, firstSeen: string) {
    if (!this.seen.has(key)) this.seen.set(key, firstSeen);
  }
  async forget(keys: string[]) {
    for (const key of keys) this.seen.delete(key);
  }
}

function pipeline(overrides: Partial<ProcessSettings> = {}) {
  const settings = { ...testProcessSettings(), ...overrides };
  const identityStore = new InMemoryIdentityStore();
  const state = new InMemoryProcessingState();
  const audit = new InMemoryAuditLog();
  const clock = new FixedClock();
  const deps = { identityStore, state, audit, clock, publisher: { publish: async () => undefined }, pause: async (ms: number) => clock.advance(ms) };
  let messages = 0;
  const deliver = (event: unknown) =>
    processDelivery(
      JSON.stringify(event),
      { messageId: `m-${++messages}`, receiveCount: 1, maxReceiveCount: 5, receivedAt: clock.now(), deadline: new Date(clock.now().getTime() + 60_000), origin: TEST_ORIGIN },
      deps,
      settings,
    );
  const driftRecords: DriftRecord[] = [];
  const published: DriftSummary[] = [];
  const memory = new MemoryOfFindings();
  let yields = 0;
  const sent: IdentityChange[] = [];
  const driftDeps = {
    identityStore,
    state,
    applied: state,
    memory,
    audit: { recordDrift: async (record: DriftRecord) => void driftRecords.push(record) },
    publisher: { publishDrift: async (summary: DriftSummary) => void published.push(summary) },
    repair: {
      // Repairs go through the ordinary pipeline, as the real sender does.
      send: async (repairs: IdentityChange[]) => {
        sent.push(...repairs);
        const failed: { id: string; reason: string }[] = [];
        for (const event of repairs) {
          const result = await deliver(event);
          if (!['APPLIED', 'NOOP'].includes(result.record.outcome)) failed.push({ id: event.id, reason: result.record.outcome });
        }
        return { sent: repairs.length - failed.length, failed };
      },
    },
    clock,
    yieldToEvents: async () => {
      yields++;
    },
  };
  const drift = (action: 'report' | 'repair' = 'report') =>
    detectDrift(driftDeps, { identityStoreId: settings.identityStoreId, managedGroupScope: settings.managedGroupScope, action });
  return { identityStore, state, clock, deliver, drift, driftRecords, published, memory, sent, yields: () => yields };
}

async function onboard(p: ReturnType<typeof pipeline>) {
  for (const name of ['Engineering', 'Everyone']) await p.deliver(events.groupUpserted(name, { at: at(1), description: `${name} group` }));
  await p.deliver(events.userUpserted(ada({ Title: 'Engineer' }), { at: at(2), groups: ['Engineering', 'Everyone'] }));
  await p.deliver(events.userUpserted(person('bob'), { at: at(3), groups: ['Everyone'] }));
  const adaId = (await p.identityStore.findUserIdByUserName('ada'))!;
  const bobId = (await p.identityStore.findUserIdByUserName('bob'))!;
  const engineering = (await p.identityStore.findGroupIdByDisplayName('Engineering'))!;
  return { adaId, bobId, engineering };
}

describe('detectDrift', () => {
  it('finds nothing right after the pipeline applied its events, and yields between groups', async () => {
    const p = pipeline();
    await onboard(p);
    const report = await p.drift();
    expect(report.findings).toEqual([]);
    expect(report.appliedFacts).toBeGreaterThan(0);
    expect(report.groupsChecked).toBe(2);
    expect(p.published).toEqual([]);
    expect(p.driftRecords).toEqual([]);
    expect(p.yields()).toBeGreaterThanOrEqual(2);
  });

  it('reports a member added and an attribute changed outside the service, remembers when it first saw them, and repairs them through events', async () => {
    const p = pipeline();
    const { adaId, bobId, engineering } = await onboard(p);
    await p.identityStore.updateUser(adaId, [{ attributePath: 'title', attributeValue: 'Chief' }]);
    await p.identityStore.createMembership(engineering, bobId);

    const first = await p.drift();
    expect(first.findings.map((f) => [f.kind, f.userName, f.groupDisplayName ?? f.path])).toEqual([
      ['attribute-differs', 'ada', 'title'],
      ['unexpected-member', 'bob', 'Engineering'],
    ]);
    expect(first.newFindings).toBe(2);
    expect(first.findings.every((f) => f.firstSeen === '2026-11-22T10:00:00.000Z')).toBe(true);
    expect(p.driftRecords.map((r) => [r.drift, r.findingKey, r.eventId, r.driftAction, r.firstSeen])).toEqual([
      ['attribute-differs', `attribute:${adaId}:title`, expect.any(String), 'report', '2026-11-22T10:00:00.000Z'],
      ['unexpected-member', `extra-member:${engineering}:${bobId}`, expect.any(String), 'report', '2026-11-22T10:00:00.000Z'],
    ]);
    expect(p.driftRecords[0]).toMatchObject({ path: 'title', expected: 'Engineer', actual: 'Chief', userName: 'ada' });
    expect(p.published).toHaveLength(1);
    expect(p.published[0]).toMatchObject({ findings: 2, newFindings: 2, byKind: { 'attribute-differs': 1, 'unexpected-member': 1 } });
    expect(JSON.stringify(p.published[0])).not.toMatch(/\bada\b|\bbob\b|Engineer|Chief/);
    expect(first.repair).toBeUndefined();
    expect(p.sent).toEqual([]);

    p.clock.advance(3_600_000);
    const second = await p.drift('repair');
    expect(second.newFindings).toBe(0);
    expect(second.findings.map((f) => f.firstSeen)).toEqual(['2026-11-22T10:00:00.000Z', '2026-11-22T10:00:00.000Z']);
    expect(second.repair).toMatchObject({ sent: 2, failed: [], notRepaired: [] });
    expect(p.sent.map((e) => e.type)).toEqual(['user.upserted', 'membership.removed']);
    expect(p.driftRecords.slice(2).map((r) => r.repairEventId)).toEqual(p.sent.map((e) => e.id));
    expect((await p.identityStore.describeUser(adaId))!.attributes.Title).toBe('Engineer');
    expect(await p.identityStore.findMembershipId(engineering, bobId)).toBeUndefined();

    p.clock.advance(60_000);
    const third = await p.drift();
    expect(third.findings).toEqual([]);
    expect(p.memory.seen.size).toBe(0);
    expect(p.published).toHaveLength(2);
  });

  it('a difference that goes away and comes back is first seen again', async () => {
    const p = pipeline();
    const { adaId } = await onboard(p);
    await p.identityStore.updateUser(adaId, [{ attributePath: 'title', attributeValue: 'Chief' }]);
    await p.drift();
    await p.identityStore.updateUser(adaId, [{ attributePath: 'title', attributeValue: 'Engineer' }]);
    p.clock.advance(60_000);
    expect((await p.drift()).findings).toEqual([]);
    await p.identityStore.updateUser(adaId, [{ attributePath: 'title', attributeValue: 'Chief' }]);
    p.clock.advance(60_000);
    const again = await p.drift();
    expect(again.findings.map((f) => f.firstSeen)).toEqual(['2026-11-22T10:02:00.000Z']);
    expect(again.newFindings).toBe(1);
  });

  it('with a prefix scope, ignores groups outside it; repair without a sender says so and sends nothing', async () => {
    const p = pipeline({ managedGroupScope: { kind: 'prefix', prefix: 'app-' } });
    await p.deliver(events.groupUpserted('app-wiki', { at: at(1) }));
    await p.deliver(events.userUpserted(person('ada'), { at: at(2), groups: ['app-wiki'] }));
    const adaId = (await p.identityStore.findUserIdByUserName('ada'))!;
    const outside = p.identityStore.seedGroup('Security-Auditors');
    await p.identityStore.createMembership(outside, adaId);
    const wiki = (await p.identityStore.findGroupIdByDisplayName('app-wiki'))!;
    await p.identityStore.deleteMembership((await p.identityStore.findMembershipId(wiki, adaId))!);
    const report = await detectDrift(
      { identityStore: p.identityStore, state: p.state, applied: p.state, memory: p.memory, audit: { recordDrift: async () => undefined }, publisher: { publishDrift: async () => undefined }, clock: p.clock, yieldToEvents: async () => undefined },
      { identityStoreId: 'd-1234567890', managedGroupScope: { kind: 'prefix', prefix: 'app-' }, action: 'repair' },
    );
    expect(report.findings.map((f) => [f.kind, f.groupDisplayName])).toEqual([['member-missing', 'app-wiki']]);
    expect(report.repair).toMatchObject({ sent: 0, skipped: 'no repair sender configured' });
    expect(report.repair!.events).toHaveLength(1);
  });

  it('a publisher that fails is reported, and the audit records are still written', async () => {
    const p = pipeline();
    const { adaId } = await onboard(p);
    await p.identityStore.updateUser(adaId, [{ attributePath: 'title', attributeValue: 'Chief' }]);
    const records: DriftRecord[] = [];
    const report = await detectDrift(
      {
        identityStore: p.identityStore,
        state: p.state,
        applied: p.state,
        memory: p.memory,
        audit: { recordDrift: async (r) => void records.push(r) },
        publisher: { publishDrift: async () => Promise.reject(new Error('bus away')) },
        clock: p.clock,
        yieldToEvents: async () => undefined,
      },
      { identityStoreId: 'd-1234567890', managedGroupScope: { kind: 'created' }, action: 'report' },
    );
    expect(report.published).toEqual({ ok: false, error: 'bus away' });
    expect(records).toHaveLength(1);
  });
});
