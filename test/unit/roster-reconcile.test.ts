/**
 * reconcileRoster: a roster against the managed view of an in-memory store, with adversarial
 * inputs: names that differ only in case, a rename by ExternalId to a name another user holds,
 * one person twice, names swapped, groups outside the grant or the managed scope, the deletion cap.
 */
import type { UserAttributes } from '../../lambdas/domain/identity-change';
import type { ManagedGroupScope } from '../../lambdas/domain/managed-scope';
import { readManagedView } from '../../lambdas/domain/managed-view';
import { nameKey } from '../../lambdas/domain/names';
import { reconcileRoster, type ReconcileOptions, type RosterEntry } from '../../lambdas/domain/roster';
import { InMemoryIdentityStore, InMemoryProcessingState } from '../support/in-memory-ports';

const NOW = new Date('2026-12-01T09:00:00Z');
const SCOPE: ManagedGroupScope = { kind: 'prefix', prefix: 'dept-' };

const attributes = (userName: string, extra: Partial<UserAttributes> = {}): UserAttributes => ({
  UserName: userName,
  DisplayName: `${userName} display`,
  Name: { GivenName: 'Given', FamilyName: userName },
  ...extra,
});

let line = 0;
function entry(userName: string, groups: string[], options: { externalId?: string; extra?: Partial<UserAttributes> } = {}): RosterEntry {
  line++;
  const [Issuer, Id] = (options.externalId ?? '/').split('/');
  return {
    at: `roster.csv:${line}`,
    data: { user: { ...attributes(userName, options.extra), ...(options.externalId && { ExternalIds: [{ Issuer, Id }] }) }, groups },
  };
}

/** ada (w/1) and bob (w/2) in dept-eng, cy (w/3) in dept-ops; app-wiki and an unmanaged group beside. */
async function world() {
  const identityStore = new InMemoryIdentityStore();
  const state = new InMemoryProcessingState();
  const eng = identityStore.seedGroup('dept-eng');
  const ops = identityStore.seedGroup('dept-ops');
  const wiki = identityStore.seedGroup('app-wiki');
  identityStore.seedGroup('ControlTower-Admins');
  const users: Record<string, string> = {};
  for (const [name, externalId, groups] of [
    ['ada', 'w/1', [eng, wiki]],
    ['bob', 'w/2', [eng]],
    ['cy', 'w/3', [ops]],
  ] as const) {
    users[name] = identityStore.seedUser(attributes(name));
    const [Issuer, Id] = externalId.split('/');
    await state.putUserIdForExternalId({ Issuer, Id }, users[name]);
    for (const group of groups) await identityStore.createMembership(group, users[name]);
  }
  identityStore.calls.length = 0;
  return { identityStore, state, users, groups: { eng, ops, wiki } };
}

const options = (overrides: Partial<ReconcileOptions> = {}): ReconcileOptions => ({
  now: NOW,
  actor: 'roster-reconcile',
  rosterDigest: 'digest-1',
  offboardMissing: false,
  scope: SCOPE,
  producer: { name: 'hr', eventTypes: ['user.upserted', 'user.deleted', 'group.upserted'], covers: () => true },
  deletionCap: 25,
  deletionWindowSeconds: 3600,
  ...overrides,
});

async function reconcile(w: Awaited<ReturnType<typeof world>>, roster: RosterEntry[], overrides: Partial<ReconcileOptions> = {}) {
  const scope = overrides.scope ?? SCOPE;
  const view = await readManagedView(w.identityStore, w.state, scope, { describeMembers: true });
  return reconcileRoster(roster, view, w, options(overrides));
}

const everyone = () => [entry('ada', ['dept-eng'], { externalId: 'w/1' }), entry('bob', ['dept-eng'], { externalId: 'w/2' }), entry('cy', ['dept-ops'], { externalId: 'w/3' })];
const summary = (result: Awaited<ReturnType<typeof reconcile>>) => result.steps.map((step) => [step.kind, step.subject, ...step.details]);

it('has nothing to do when the roster matches: no events, every person unchanged, and makes no write', async () => {
  const w = await world();
  const result = await reconcile(w, everyone());
  expect(result).toMatchObject({ steps: [], unchanged: 3, missing: [], problems: [] });
  expect(w.identityStore.writeCalls).toEqual([]);
});

it('renames by ExternalId, moves and joins with one user.upserted each, carrying the roster\'s attributes, ExternalIds and complete groups', async () => {
  const w = await world();
  const roster = [
    entry('ada.lovelace', ['dept-eng'], { externalId: 'w/1' }),
    entry('bob', ['dept-ops'], { externalId: 'w/2' }),
    entry('cy', ['dept-ops'], { externalId: 'w/3' }),
    entry('dee', ['dept-eng', 'dept-ops'], { externalId: 'w/4' }),
  ];
  const result = await reconcile(w, roster);
  expect(result.problems).toEqual([]);
  expect(summary(result)).toEqual([
    ['update', 'ada.lovelace', 'userName: "ada" -> "ada.lovelace"', 'displayName: "ada display" -> "ada.lovelace display"', 'name.familyName: "ada" -> "ada.lovelace"'],
    ['update', 'bob', '+dept-ops', '-dept-eng'],
    ['join', 'dee', 'new user', '+dept-eng', '+dept-ops'],
  ]);
  const [rename] = result.steps;
  expect(rename.event).toEqual({
    id: expect.stringMatching(/^reconcile-[0-9a-f]{32}$/),
    type: 'user.upserted',
    occurredAt: '2026-12-01T09:00:00.000Z',
    actor: 'roster-reconcile',
    data: { user: { ...attributes('ada.lovelace'), ExternalIds: [{ Issuer: 'w', Id: '1' }] }, groups: ['dept-eng'] },
  });
  // ada's app-wiki membership is outside the scope (prefix dept-): neither removed nor listed.
  expect(result.unchanged).toBe(1);
});

it('makes the same ids for the same roster and run, and others for another run', async () => {
  const w = await world();
  const roster = [entry('dee', ['dept-eng'])];
  const ids = async (overrides: Partial<ReconcileOptions>) => (await reconcile(w, roster, overrides)).steps.map((step) => step.event.id);
  const first = await ids({});
  expect(await ids({})).toEqual(first);
  expect(await ids({ now: new Date('2026-12-01T09:00:01Z') })).not.toEqual(first);
  expect(await ids({ rosterDigest: 'digest-2' })).not.toEqual(first);
});

it('treats names that differ only in case as the same group and the same person, and writes the groups as the store spells them', async () => {
  const w = await world();
  const roster = [entry('ADA', ['DEPT-ENG', 'Dept-Ops'], { extra: { DisplayName: 'ada display', Name: { GivenName: 'Given', FamilyName: 'ada' } } }), entry('bob', ['dept-Eng'], { externalId: 'w/2' }), entry('cy', ['DEPT-OPS'], { externalId: 'w/3' })];
  const result = await reconcile(w, roster);
  expect(result.problems).toEqual([]);
  // ada (no ExternalId in the roster) is found by name; the case of her name is the roster's to set.
  expect(summary(result)).toEqual([['update', 'ADA', 'userName: "ada" -> "ADA"', '+dept-ops']]);
  expect(result.steps[0].event.data).toMatchObject({ groups: ['dept-eng', 'dept-ops'] });
  expect(result.unchanged).toBe(2);
});

it('finds a live user by ExternalId whose userName differs only in case: a case-only rename of that user, no name conflict', async () => {
  const w = await world();
  const result = await reconcile(w, [entry('Bob', ['dept-eng'], { externalId: 'w/2' }), entry('ada', ['dept-eng'], { externalId: 'w/1' }), entry('cy', ['dept-ops'], { externalId: 'w/3' })]);
  expect(result.problems).toEqual([]);
  expect(summary(result)).toEqual([['update', 'Bob', 'userName: "bob" -> "Bob"', 'displayName: "bob display" -> "Bob display"', 'name.familyName: "bob" -> "Bob"']]);
});

it('refuses a rename by ExternalId to a name another user holds who stays, and allows it when that user is offboarded first', async () => {
  const w = await world();
  // ada (w/1) is to be called bob; bob is not in the roster.
  const roster = [entry('bob', ['dept-eng'], { externalId: 'w/1' }), entry('cy', ['dept-ops'], { externalId: 'w/3' })];
  const kept = await reconcile(w, roster);
  expect(kept.problems).toEqual([
    `${roster[0].at}: cannot rename ada to "bob": the name belongs to another user, bob, who is not in the roster (offboarded only with --offboard-missing)`,
  ]);
  const offboarding = await reconcile(w, roster, { offboardMissing: true });
  expect(offboarding.problems).toEqual([]);
  // The offboarding first: the rename needs the name it frees.
  expect(summary(offboarding).map(([kind, subject]) => [kind, subject])).toEqual([
    ['offboard', 'bob'],
    ['update', 'bob'],
  ]);
  expect(offboarding.steps[0].event).toMatchObject({ type: 'user.deleted', data: { userName: 'bob' } });
});

it('refuses a rename to the name of a user outside the scope of the roster', async () => {
  const w = await world();
  w.identityStore.seedUser(attributes('zed'));
  const roster = [entry('zed', ['dept-eng'], { externalId: 'w/1' }), entry('bob', ['dept-eng'], { externalId: 'w/2' }), entry('cy', ['dept-ops'], { externalId: 'w/3' })];
  const result = await reconcile(w, roster, { offboardMissing: true });
  expect(result.problems).toEqual([`${roster[0].at}: cannot rename ada to "zed": the name belongs to another user, zed, who is outside the scope of this roster`]);
});

it('refuses names swapped between two people (neither rename could ever apply), but not a chain that ends at a free name', async () => {
  const w = await world();
  const swapped = [entry('bob', ['dept-eng'], { externalId: 'w/1' }), entry('ada', ['dept-eng'], { externalId: 'w/2' }), entry('cy', ['dept-ops'], { externalId: 'w/3' })];
  const result = await reconcile(w, swapped);
  expect(result.problems).toHaveLength(2);
  expect(result.problems[0]).toContain('renames ada to "bob", a name roster.csv:');
  expect(result.problems[0]).toContain('renames away in a cycle (names swapped)');
  const chain = [entry('bob', ['dept-eng'], { externalId: 'w/1' }), entry('bob2', ['dept-eng'], { externalId: 'w/2' }), entry('cy', ['dept-ops'], { externalId: 'w/3' })];
  expect((await reconcile(w, chain)).problems).toEqual([]);
});

it('refuses one live person named twice: once by ExternalId, once by a name that belongs to the same user', async () => {
  const w = await world();
  const roster = [entry('ada.l', ['dept-eng'], { externalId: 'w/1' }), entry('ada', ['dept-eng']), entry('bob', ['dept-eng'], { externalId: 'w/2' }), entry('cy', ['dept-ops'], { externalId: 'w/3' })];
  const result = await reconcile(w, roster);
  expect(result.problems).toEqual([
    `${roster[1].at}: is the same user in the store as ${roster[0].at} (ada, found by userName here and by ExternalId there): one row per person`,
  ]);
});

it('refuses groups outside the grant or the managed scope, and creates a missing group only where the scope and the grant allow', async () => {
  const w = await world();
  const covers = (name: string) => nameKey(name).startsWith('dept-');
  const roster = [
    entry('ada', ['dept-eng', 'app-wiki'], { externalId: 'w/1' }),
    entry('bob', ['dept-eng', 'ControlTower-Admins', 'dept-new'], { externalId: 'w/2' }),
    entry('cy', ['dept-ops', 'Dept-New', 'finance'], { externalId: 'w/3' }),
  ];
  const result = await reconcile(w, roster, { scope: { kind: 'prefix', prefix: '' }, producer: { ...options().producer, covers } });
  expect(result.problems).toEqual([
    `${roster[0].at}: group "app-wiki" is outside the grant of producer "hr": its roster cannot speak for it`,
    `${roster[1].at}: group "ControlTower-Admins" is outside the grant of producer "hr": its roster cannot speak for it`,
    `${roster[2].at}: group "finance" does not exist, and is outside the grant of producer "hr"`,
  ]);
  const narrow = await reconcile(w, [entry('ada', ['dept-eng', 'ControlTower-Admins', 'dept-new'], { externalId: 'w/1' })], { scope: { kind: 'list', names: ['dept-eng', 'dept-ops'] } });
  expect(narrow.problems).toEqual([
    expect.stringContaining('group "ControlTower-Admins" exists but is outside the managed scope (the configured group list (2 groups))'),
    expect.stringContaining('group "dept-new" does not exist, and the managed scope (the configured group list (2 groups)) does not allow creating it'),
  ]);
  const creating = await reconcile(w, [entry('ada', ['dept-eng', 'dept-new'], { externalId: 'w/1' }), entry('bob', ['DEPT-NEW'], { externalId: 'w/2' }), entry('cy', ['dept-ops'], { externalId: 'w/3' })]);
  expect(creating.problems).toEqual([]);
  expect(summary(creating)).toEqual([
    ['create-group', 'dept-new', 'named in the roster, does not exist yet'],
    ['update', 'ada', '+dept-new'],
    ['update', 'bob', '+dept-new', '-dept-eng'],
  ]);
  expect(creating.steps[0].event).toMatchObject({ type: 'group.upserted', data: { group: { DisplayName: 'dept-new' } } });
});

it('leaves memberships outside the producer\'s grant alone, and offboards only people in the groups the grant covers', async () => {
  const w = await world();
  const covers = (name: string) => nameKey(name) === 'dept-eng' || nameKey(name) === 'app-wiki';
  const result = await reconcile(w, [entry('bob', ['dept-eng'], { externalId: 'w/2' })], {
    scope: { kind: 'prefix', prefix: '' },
    offboardMissing: true,
    producer: { ...options().producer, covers },
  });
  // cy is only in dept-ops, outside the grant: not this roster's to offboard. ada is in dept-eng and app-wiki.
  expect(result.missing.map((person) => person.userName)).toEqual(['ada']);
  expect(summary(result)).toEqual([['offboard', 'ada', 'not in the roster']]);
});

it('lists the people missing from the roster but offboards them only with offboardMissing', async () => {
  const w = await world();
  const roster = [entry('ada', ['dept-eng'], { externalId: 'w/1' })];
  const kept = await reconcile(w, roster);
  expect(kept.missing.map((person) => person.userName)).toEqual(['bob', 'cy']);
  expect(kept.steps).toEqual([]);
  const offboarded = await reconcile(w, roster, { offboardMissing: true });
  expect(summary(offboarded)).toEqual([
    ['offboard', 'bob', 'not in the roster'],
    ['offboard', 'cy', 'not in the roster'],
  ]);
});

it('refuses every offboarding when they do not all fit in what the deletion cap leaves of the window, giving the numbers', async () => {
  const w = await world();
  await w.state.tryReserveDeletion(NOW, 3600, 3, 'earlier-deletion');
  const result = await reconcile(w, [entry('ada', ['dept-eng'], { externalId: 'w/1' })], { offboardMissing: true, deletionCap: 2 });
  expect(result.deletionAllowance).toEqual({ cap: 2, reserved: 1, left: 1, windowSeconds: 3600 });
  expect(result.problems).toEqual([
    'refusing to offboard 2 people not in the roster: the deletion cap allows 2 deletions per 3600 s, 1 already made in the current window leave 1; none is offboarded (a roster missing more people than the cap allows is more likely incomplete than right: check it; if it is right, raise deletionCap)',
  ]);
  expect(result.steps.filter((step) => step.kind === 'offboard')).toEqual([]);
  // Within the allowance they go.
  const fits = await reconcile(w, [entry('ada', ['dept-eng'], { externalId: 'w/1' }), entry('bob', ['dept-eng'], { externalId: 'w/2' })], { offboardMissing: true, deletionCap: 2 });
  expect(fits.problems).toEqual([]);
  expect(summary(fits)).toEqual([['offboard', 'cy', 'not in the roster']]);
});

it('refuses what the producer may not send: offboarding without user.deleted, a roster without user.upserted', async () => {
  const w = await world();
  const noDeletes = await reconcile(w, [entry('ada', ['dept-eng'], { externalId: 'w/1' })], { offboardMissing: true, producer: { ...options().producer, eventTypes: ['user.upserted'] } });
  expect(noDeletes.problems).toEqual(['2 people in the scope are not in the roster, and producer "hr" may not send user.deleted to offboard them']);
  const portal = await reconcile(w, [entry('ada', ['dept-eng'])], { producer: { ...options().producer, eventTypes: ['membership.added'] } });
  expect(portal.problems[0]).toBe('producer "hr" may not send user.upserted (it may send membership.added): send the roster as a producer that may');
});

it('records an ExternalId the service does not know yet for a person found by name, with an upsert', async () => {
  const w = await world();
  const roster = [entry('ada', ['dept-eng'], { externalId: 'w/1' }), entry('bob', ['dept-eng'], { externalId: 'x/9' }), entry('cy', ['dept-ops'], { externalId: 'w/3' })];
  const result = await reconcile(w, roster);
  expect(summary(result)).toEqual([['update', 'bob', 'ExternalId x/9 recorded for bob']]);
});

it('reads and never writes: no Identity Store write and no state change', async () => {
  const w = await world();
  const before = { externalIds: new Map(w.state.externalIds), calls: w.identityStore.writeCalls.length };
  await reconcile(w, [entry('zoe', ['dept-new'])], { offboardMissing: true });
  expect(w.identityStore.writeCalls.length).toBe(before.calls);
  expect(w.state.externalIds).toEqual(before.externalIds);
});

it('finds a SCIM-provisioned user by the store\'s own ExternalIds, as the engine does, when the service has no mapping for them', async () => {
  const w = await world();
  const scim = w.identityStore.seedUser(attributes('kim'), [{ Issuer: 'scim', Id: 'K-1' }]);
  await w.identityStore.createMembership(w.groups.eng, scim);
  const roster = [...everyone(), entry('kim.lee', ['dept-eng'], { externalId: 'scim/K-1', extra: { DisplayName: 'kim display', Name: { GivenName: 'Given', FamilyName: 'kim' } } })];
  const result = await reconcile(w, roster);
  expect(result.problems).toEqual([]);
  expect(summary(result)).toEqual([['update', 'kim.lee', 'userName: "kim" -> "kim.lee"']]);
  expect(result.missing).toEqual([]);
});

it('names a look-alike group with its invisible character escaped, so the reader sees why it is another group', async () => {
  const w = await world();
  const result = await reconcile(w, [...everyone().slice(0, 2), entry('cy', ['dept\u00a0ops'], { externalId: 'w/3' })]);
  expect(result.problems).toEqual([
    `roster.csv:${line}: group "dept\\u00a0ops" does not exist, and the managed scope (groups named "dept-*") does not allow creating it`,
  ]);
});
