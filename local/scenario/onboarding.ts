import { FIRST_NAMES, LAST_NAMES, userDocument, type Person } from './people';

/**
 * The bundled onboarding scenario that `npm start` runs (examples/onboarding.jsonl is generated
 * from it): groups created, a wave of joiners with groups, movers (attribute changes, group
 * moves, a rename by ExternalId), extra memberships, leavers, duplicates, an out-of-order pair,
 * two invalid events. Every line names its producer (local/pipeline/defaults.ts): `hr` through
 * the bus, `onboarding` through its own queue, `access-portal` (another account, through the bus)
 * with one request inside its grant, one outside it (REJECTED PRODUCER_NOT_ALLOWED) and one
 * event type it may not send (refused at the bus); and an undeclared principal that tries the
 * onboarding queue and the HR feed's source (refused at the door). It also states the final
 * state the identity store must reach, so the end-to-end test can check it.
 */

/** A line of the scenario: `{"producer": NAME, "event": DOCUMENT}`, optionally signed as `principal`. */
export type ScenarioEntry = { producer: string; event: Record<string, unknown> | string; principal?: string };

export interface ExpectedState {
  groups: string[];
  /** userName -> the groups the user is in, sorted. */
  users: Record<string, string[]>;
  /** userName -> the user's title at the end. */
  titles: Record<string, string>;
  /**
   * Event ids and the final outcomes each may end with. Mostly one; where events about the same
   * person race each other (a leaver processed before their joiner), each valid order's outcome.
   */
  outcomes: Record<string, FinalOutcome[]>;
  /** How many messages must be in the DLQ (the invalid ones and the one outside its producer's grant). */
  deadLetters: number;
  /** Sends the doors' policies refuse, by the producer whose door was tried. */
  refusedByPolicy: Record<string, number>;
}

export type FinalOutcome = 'APPLIED' | 'NOOP' | 'SUPERSEDED' | 'REJECTED';

export interface Scenario {
  entries: ScenarioEntry[];
  expected: ExpectedState;
}

const START = Date.UTC(2026, 10, 2, 9, 0, 0);
const ACTOR_HR = 'hr-system';
/** What the portal writes as actor: only a claim; the record's `producer` is what AWS vouched for. */
const ACTOR_PORTAL = 'access-portal:self-service';
const DEPARTMENTS = ['Engineering', 'Platform', 'Data', 'Finance'];
/** A self-service group: access-portal's grant covers `app-*`. */
const APP_GROUP = 'app-wiki';
const GROUPS = ['Everyone', ...DEPARTMENTS, 'Security-Auditors', APP_GROUP];
/** Someone in the account with SQS and EventBridge rights who is no declared producer. */
export const UNDECLARED_PRINCIPAL = 'arn:aws:iam::000000000000:role/developer';

export function onboardingScenario(options: { joiners?: number } = {}): Scenario {
  const joiners = options.joiners ?? 40;
  let clock = START;
  let sequence = 0;
  const tick = () => new Date((clock += 60_000)).toISOString();
  const entries: ScenarioEntry[] = [];
  const outcomes: ExpectedState['outcomes'] = {};
  const users = new Map<string, { groups: Set<string>; externalId: string }>();

  const event = (type: string, data: Record<string, unknown>, occurredAt = tick(), actor = ACTOR_HR) => ({
    id: `onb-${String(++sequence).padStart(4, '0')}`,
    type,
    occurredAt,
    actor,
    data,
  });
  // hr sends through the bus (its door puts each event with its source); onboarding to its queue.
  const fromHr = (document: Record<string, unknown>): ScenarioEntry => ({ producer: 'hr', event: document });
  const fromOnboarding = (document: Record<string, unknown>): ScenarioEntry => ({ producer: 'onboarding', event: document });
  const expect = <T extends { id: string }>(document: T, ...acceptable: FinalOutcome[]): T => {
    outcomes[document.id] = acceptable;
    return document;
  };
  const joinerIds = new Map<string, string>();

  // Groups first, through the bus, as an internal tool would publish them.
  for (const name of GROUPS) {
    const doc = expect(event('group.upserted', { group: { DisplayName: name, Description: `${name} (managed by identity-provisioner)` } }), 'APPLIED');
    entries.push(fromHr(doc));
  }

  // The joiner wave: each with an ExternalId from the HR system and two groups.
  const people: Person[] = [];
  for (let i = 0; i < joiners; i++) {
    const first = FIRST_NAMES[i % FIRST_NAMES.length];
    const last = LAST_NAMES[Math.floor(i / FIRST_NAMES.length) % LAST_NAMES.length];
    const userName = `${first}.${last}${i >= 100 ? i : ''}`.toLowerCase();
    const department = DEPARTMENTS[i % DEPARTMENTS.length];
    const person: Person = { userName, externalId: `W-${1000 + i}`, first, last, department, title: 'Engineer' };
    people.push(person);
    users.set(userName, { groups: new Set(['Everyone', department]), externalId: person.externalId });
    const joiner = expect(event('user.upserted', { user: userDocument(person), groups: ['Everyone', department] }), 'APPLIED');
    joinerIds.set(person.externalId, joiner.id);
    entries.push(fromOnboarding(joiner));
  }

  // Movers: new titles, department moves, one rename by ExternalId.
  const movers = people.slice(0, Math.min(5, people.length));
  for (const person of movers) {
    person.title = 'Senior Engineer';
    entries.push(fromOnboarding(expect(event('user.upserted', { user: userDocument(person) }), 'APPLIED')));
  }
  for (const person of people.filter((p) => p.department === 'Engineering').slice(0, 3)) {
    entries.push(fromOnboarding(expect(event('user.upserted', { user: userDocument(person), groups: ['Everyone', 'Platform'] }), 'APPLIED')));
    users.get(person.userName)!.groups = new Set(['Everyone', 'Platform']);
  }
  const renamed = people[1];
  if (renamed) {
    const newName = `${renamed.first}.${renamed.last}-married`.toLowerCase();
    users.set(newName, users.get(renamed.userName)!);
    users.delete(renamed.userName);
    renamed.userName = newName;
    entries.push(fromOnboarding(expect(event('user.upserted', { user: userDocument(renamed) }), 'APPLIED')));
  }
  for (const person of people.slice(2, 5)) {
    entries.push(fromOnboarding(expect(event('membership.added', { userName: person.userName, groupDisplayName: 'Security-Auditors' }), 'APPLIED')));
    users.get(person.userName)!.groups.add('Security-Auditors');
  }

  // The self-service portal, from its own account through the bus: inside its grant (an app-*
  // group), outside it (a group it may not touch: REJECTED by the function), and an event type
  // its grant does not include (refused by the bus policy before anything is delivered).
  const refusedByPolicy: Record<string, number> = {};
  const refused = (entry: ScenarioEntry): ScenarioEntry => {
    refusedByPolicy[entry.producer] = (refusedByPolicy[entry.producer] ?? 0) + 1;
    return entry;
  };
  // An early joiner: the request comes through another queue and retries (user not found yet)
  // only while the queue's redrive allows.
  const portalMember = people[2];
  if (portalMember) {
    entries.push({ producer: 'access-portal', event: expect(event('membership.added', { userName: portalMember.userName, groupDisplayName: APP_GROUP }, tick(), ACTOR_PORTAL), 'APPLIED') });
    users.get(portalMember.userName)!.groups.add(APP_GROUP);
  }
  const portalOverreach = people[5];
  if (portalOverreach) {
    entries.push({ producer: 'access-portal', event: expect(event('membership.added', { userName: portalOverreach.userName, groupDisplayName: 'Security-Auditors' }, tick(), ACTOR_PORTAL), 'REJECTED') });
    entries.push(refused({ producer: 'access-portal', event: event('user.deleted', { userName: portalOverreach.userName }, tick(), ACTOR_PORTAL) }));
  }
  // An undeclared principal tries both doors: the onboarding queue, and the bus with hr's source.
  entries.push(refused({ producer: 'onboarding', principal: UNDECLARED_PRINCIPAL, event: event('membership.added', { userName: people[0]?.userName ?? 'ada.lovelace', groupDisplayName: 'Security-Auditors' }) }));
  entries.push(refused({ producer: 'hr', principal: UNDECLARED_PRINCIPAL, event: event('group.upserted', { group: { DisplayName: 'Shadow-Admins' } }) }));

  // Duplicates: the same change delivered twice (same id) is applied once.
  for (const original of entries.slice(GROUPS.length, GROUPS.length + 3)) entries.push(original);

  // An out-of-order pair: the newer title change arrives first; the older one is superseded.
  const pairTarget = people[6];
  if (pairTarget) {
    const older = tick();
    const newer = tick();
    const before = userDocument(pairTarget);
    pairTarget.title = 'Staff Engineer';
    entries.push(fromOnboarding(expect(event('user.upserted', { user: userDocument(pairTarget) }, newer), 'APPLIED')));
    // Usually SUPERSEDED; should the two land in different batches, the older may be applied
    // first and the newer then on top of it: the same end state.
    entries.push(fromOnboarding(expect(event('user.upserted', { user: { ...before, Title: 'Principal Engineer' } }, older), 'SUPERSEDED', 'APPLIED')));
  }

  // Leavers, through the bus; one of them twice. Processed concurrently with their joiners, a
  // delete may come first: then it finds nobody (NOOP) and the joiner is SUPERSEDED.
  const leavers = people.slice(-3);
  for (const person of leavers) {
    entries.push(fromHr(expect(event('user.deleted', { externalId: { Issuer: 'workday', Id: person.externalId } }), 'APPLIED', 'NOOP')));
    outcomes[joinerIds.get(person.externalId)!] = ['APPLIED', 'SUPERSEDED'];
    users.delete(person.userName);
  }
  if (leavers[0]) entries.push(fromOnboarding(expect(event('user.deleted', { userName: leavers[0].userName }), 'NOOP', 'APPLIED')));

  // Two invalid events: a reserved group name with a bad user name, and an unknown type.
  entries.push(
    fromOnboarding(expect(event('user.upserted', { user: { UserName: 'new hire', DisplayName: 'New Hire' }, groups: ['Administrator'] }), 'REJECTED')),
  );
  entries.push(fromOnboarding(expect(event('user.suspended', { userName: 'ada.lovelace' }), 'REJECTED')));

  allowOvertaking(entries, outcomes);
  return {
    entries,
    expected: {
      groups: [...GROUPS].sort(),
      users: Object.fromEntries([...users].map(([name, u]) => [name, [...u.groups].sort()]).sort()),
      titles: Object.fromEntries(people.filter((p) => users.has(p.userName)).map((p) => [p.userName, p.title])),
      outcomes,
      deadLetters: 2 + (portalOverreach ? 1 : 0),
      refusedByPolicy,
    },
  };
}

/**
 * Events about one person run concurrently, so an upsert may be processed after a newer upsert
 * of the same person. It is then SUPERSEDED, unless it lists groups and nothing newer does
 * (its membership set still applies). The final state is the same either way.
 */
function allowOvertaking(entries: ScenarioEntry[], outcomes: ExpectedState['outcomes']): void {
  type Upsert = { id: string; occurredAt: string; person: string; hasGroups: boolean };
  const upserts: Upsert[] = [];
  for (const entry of entries) {
    if (typeof entry.event !== 'object') continue;
    const document = entry.event as { id: string; type: string; occurredAt: string; data: { user?: { ExternalIds?: { Id: string }[] }; groups?: unknown } };
    const person = document.data?.user?.ExternalIds?.[0]?.Id;
    if (document.type !== 'user.upserted' || !person) continue;
    upserts.push({ id: document.id, occurredAt: document.occurredAt, person, hasGroups: document.data.groups !== undefined });
  }
  for (const upsert of upserts) {
    const newer = upserts.filter((other) => other.person === upsert.person && other.occurredAt > upsert.occurredAt);
    const overtakable = newer.length > 0 && (!upsert.hasGroups || newer.some((other) => other.hasGroups));
    const acceptable = outcomes[upsert.id];
    if (overtakable && acceptable && !acceptable.includes('SUPERSEDED')) acceptable.push('SUPERSEDED');
  }
}
