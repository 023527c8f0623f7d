/**
 * A seeded soak workload: a population of people and groups living through joiners, movers,
 * renames by ExternalId, leavers and re-hires, explicit membership changes and short-lived
 * groups, then sent the way a real producer delivers to its own queue: some twice (the same id
 * re-sent), shuffled within a window while occurredAt keeps the source order, with invalid
 * messages from the bad-input corpus sprinkled in (optionally some through an EventBridge
 * envelope: see `eventBridgeRate`).
 *
 * The generator stays inside what the reference model can predict exactly (bench/soak/model.ts):
 * - people whose memberships come from `groups` on every upsert ("reconciled") never get
 *   membership.added/removed events, and people managed with membership events ("explicit")
 *   never carry `groups`: mixing both on one person makes the result depend on arrival order;
 * - every upsert carries the same attribute set, so a patch superseded by a newer one loses nothing;
 * - deletes name the person by ExternalId (a rename may not have arrived yet), renames go to
 *   fresh names, only groups that exist and are never deleted are used for memberships;
 * - groups that get deleted ("short-lived") never have members;
 * - a person's (or group's) events are at least `subjectGap` source positions apart.
 */
import type { ExternalId, IdentityChange } from '../../lambdas/domain/identity-change';
import { mulberry32 } from '../../local/emulator/faults';
import { badInputBody, loadBadInputCorpus, type BadInputCase } from './bad-input';

export interface WorkloadOptions {
  /** Distinct events (valid and invalid); duplicates come on top. */
  events: number;
  seed: number;
  /** Sends are shuffled within this many positions (0 = source order). */
  reorderWindow?: number;
  /** Share of events sent a second time, later, with the same id. */
  duplicateRate?: number;
  /** Share of events taken from the bad-input corpus. */
  invalidRate?: number;
  /**
   * Share of valid events wrapped in an EventBridge envelope (default 0). The soak sends those
   * through the bus as the HR feed, a second door consumed apart from the producer queue, so they
   * can overtake earlier events about the same person by more than `subjectGap`, which the
   * reference model does not predict. Envelopes reach the consumer in the soak through the
   * corpus's malformed ones; the bus path itself is covered by test/local/pipeline-producers.
   */
  eventBridgeRate?: number;
  /** Minimum distance in source order between two events about the same subject. */
  subjectGap?: number;
}

export interface WorkloadSend {
  body: string;
  /** The event's id when it has a readable one. */
  eventId?: string;
  /** Position in source (occurredAt) order. */
  sourceIndex: number;
  duplicate: boolean;
  /** Set for a message from the bad-input corpus. */
  badCase?: BadInputCase;
}

export interface Workload {
  /** The valid events, in source order: the reference model's input. */
  changes: IdentityChange[];
  sends: WorkloadSend[];
  counts: { distinct: number; valid: number; invalid: number; duplicates: number; reordered: number; viaEventBridge: number };
}

/**
 * Far enough apart that two events about one person rarely run at the same time in two
 * invocations: the engine does not serialize those (see docs/reliability.md, known races).
 */
export const DEFAULT_SUBJECT_GAP = 40;
const ISSUER = 'soak-hr';
const ACTOR = 'soak-hr-feed';
const START = Date.UTC(2026, 0, 5, 8, 0, 0);
export const STABLE_GROUPS = ['soak-Engineering', 'soak-Platform', 'soak-Data', 'soak-Finance', 'soak-Sales', 'soak-Everyone'];
const TITLES = ['Engineer', 'Senior Engineer', 'Analyst', 'Manager', 'Director', 'Designer', 'Accountant'];
const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Margaret', 'Ken'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Backus', 'Hamilton', 'Thompson'];

interface Person {
  number: number;
  externalId: ExternalId;
  userName: string;
  renames: number;
  title: string;
  active: boolean;
  /** Memberships through `groups` (reconciled) or through membership events (explicit). */
  style: 'reconciled' | 'explicit';
  groups: Set<string>;
  lastIndex: number;
}

interface ShortLivedGroup {
  displayName: string;
  exists: boolean;
  lastIndex: number;
}

export function generateWorkload(options: WorkloadOptions): Workload {
  const random = mulberry32(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const chance = (p: number) => random() < p;
  const gap = options.subjectGap ?? DEFAULT_SUBJECT_GAP;
  const corpus = loadBadInputCorpus();

  const source: { body?: string; change?: IdentityChange; badCase?: BadInputCase; eventId?: string }[] = [];
  const people: Person[] = [];
  const shortLived: ShortLivedGroup[] = [];
  const idOf = () => `soak-${options.seed}-${String(source.length).padStart(6, '0')}`;
  const occurredAt = () => new Date(START + source.length * 1000).toISOString();
  const emit = (type: IdentityChange['type'], data: unknown) => {
    const change = { id: idOf(), type, occurredAt: occurredAt(), actor: ACTOR, data } as IdentityChange;
    source.push({ change, eventId: change.id });
  };
  const ready = (subject: { lastIndex: number }) => source.length - subject.lastIndex >= gap;
  const touch = (subject: { lastIndex: number }) => (subject.lastIndex = source.length);

  const userUpsert = (person: Person) => {
    touch(person);
    const first = FIRST[person.number % FIRST.length];
    const last = LAST[Math.floor(person.number / FIRST.length) % LAST.length];
    emit('user.upserted', {
      user: {
        UserName: person.userName,
        DisplayName: `${first} ${last} ${person.number}`,
        Name: { GivenName: first, FamilyName: last },
        Title: person.title,
        Emails: [{ Value: `${person.userName}@example.com`, Type: 'work', Primary: true }],
        ExternalIds: [person.externalId],
      },
      ...(person.style === 'reconciled' && { groups: [...person.groups] }),
    });
  };
  const someGroups = () => new Set([pick(STABLE_GROUPS), ...(chance(0.6) ? [pick(STABLE_GROUPS)] : []), ...(chance(0.3) ? [pick(STABLE_GROUPS)] : [])]);
  const newPerson = (style: Person['style']) => {
    const number = people.length + 1;
    const person: Person = {
      number,
      externalId: { Issuer: ISSUER, Id: `emp-${String(number).padStart(5, '0')}` },
      userName: `soak.u${String(number).padStart(5, '0')}`,
      renames: 0,
      title: pick(TITLES),
      active: true,
      style,
      groups: style === 'reconciled' ? someGroups() : new Set(),
      lastIndex: -Infinity,
    };
    people.push(person);
    userUpsert(person);
  };

  // The groups everyone uses come first, then the people managed through membership events.
  for (const displayName of STABLE_GROUPS) emit('group.upserted', { group: { DisplayName: displayName, Description: `${displayName} (v0)` } });
  const explicitPeople = Math.max(3, Math.round(options.events * 0.03));
  for (let i = 0; i < explicitPeople && source.length < options.events; i++) newPerson('explicit');

  const actions: [number, () => boolean][] = [
    [12, () => (newPerson('reconciled'), true)],
    [14, () => withPerson((p) => p.style === 'reconciled' && p.active, mover)],
    [5, () => withPerson((p) => p.style === 'reconciled' && p.active, rename)],
    [5, () => withPerson((p) => p.style === 'reconciled' && p.active, leaver)],
    [3, () => withPerson((p) => p.style === 'reconciled' && !p.active, rehire)],
    [6, () => withPerson((p) => p.style === 'explicit', titleChange)],
    [14, () => withPerson((p) => p.style === 'explicit', membershipChange)],
    [3, stableGroupChange],
    [4, shortLivedGroupChange],
  ];
  const totalWeight = actions.reduce((sum, [weight]) => sum + weight, 0);

  function withPerson(eligible: (p: Person) => boolean, act: (p: Person) => void): boolean {
    const candidates = people.filter((p) => eligible(p) && ready(p));
    if (candidates.length === 0) return false;
    act(pick(candidates));
    return true;
  }
  function mover(person: Person) {
    person.title = pick(TITLES);
    if (chance(0.7)) person.groups = someGroups();
    userUpsert(person);
  }
  function rename(person: Person) {
    person.renames += 1;
    person.userName = `soak.u${String(person.number).padStart(5, '0')}.r${person.renames}`;
    userUpsert(person);
  }
  function leaver(person: Person) {
    touch(person);
    person.active = false;
    emit('user.deleted', { userName: person.userName, externalId: person.externalId });
  }
  function rehire(person: Person) {
    person.active = true;
    if (chance(0.5)) rename(person);
    else {
      person.groups = someGroups();
      userUpsert(person);
    }
  }
  function titleChange(person: Person) {
    person.title = pick(TITLES);
    userUpsert(person);
  }
  function membershipChange(person: Person) {
    touch(person);
    const group = pick(STABLE_GROUPS);
    const adding = !person.groups.has(group) || chance(0.1);
    if (adding) person.groups.add(group);
    else person.groups.delete(group);
    emit(adding ? 'membership.added' : 'membership.removed', { userName: person.userName, groupDisplayName: group });
  }
  function stableGroupChange(): boolean {
    const displayName = pick(STABLE_GROUPS);
    emit('group.upserted', { group: { DisplayName: displayName, Description: `${displayName} (v${source.length})` } });
    return true;
  }
  function shortLivedGroupChange(): boolean {
    const candidates = shortLived.filter(ready);
    const group = candidates.length > 0 && chance(0.7) ? pick(candidates) : undefined;
    if (!group) {
      const created = { displayName: `soak-tmp-${shortLived.length + 1}`, exists: true, lastIndex: source.length };
      shortLived.push(created);
      emit('group.upserted', { group: { DisplayName: created.displayName, Description: 'short-lived' } });
      return true;
    }
    touch(group);
    if (group.exists && chance(0.5)) {
      group.exists = false;
      emit('group.deleted', { displayName: group.displayName });
    } else {
      group.exists = true;
      emit('group.upserted', { group: { DisplayName: group.displayName, Description: `short-lived (v${source.length})` } });
    }
    return true;
  }

  while (source.length < options.events) {
    if (chance(options.invalidRate ?? 0.02)) {
      const badCase = pick(corpus);
      const eventId = idOf();
      source.push({ body: badInputBody(badCase, eventId), badCase });
      continue;
    }
    let roll = random() * totalWeight;
    const action = actions.find(([weight]) => (roll -= weight) < 0) ?? actions[0];
    // A subject not ready yet: draw again (joiners are always possible, so this ends).
    action[1]();
  }

  return deliver(source, options, random);
}

/** Bodies, envelopes, duplicates and the shuffled send order. */
function deliver(
  source: { change?: IdentityChange; body?: string; badCase?: BadInputCase }[],
  options: WorkloadOptions,
  random: () => number,
): Workload {
  const window = options.reorderWindow ?? 20;
  let viaEventBridge = 0;
  const originals: (WorkloadSend & { sortKey: number })[] = source.map((entry, sourceIndex) => {
    let body = entry.body;
    if (entry.change) {
      // Drawn even at rate 0, so a seed gives the same workload whatever the rate.
      const wrap = random() < (options.eventBridgeRate ?? 0);
      if (wrap) viaEventBridge++;
      body = JSON.stringify(wrap ? eventBridgeEnvelope(entry.change) : entry.change);
    }
    return { body: body!, eventId: entry.change?.id, sourceIndex, duplicate: false, badCase: entry.badCase, sortKey: sourceIndex + random() * window };
  });
  originals.sort((a, b) => a.sortKey - b.sortKey);

  const sends: WorkloadSend[] = originals.map(({ sortKey: _sortKey, ...send }) => send);
  let duplicates = 0;
  for (const original of [...sends]) {
    if (random() >= (options.duplicateRate ?? 0.03)) continue;
    // Re-sent a little later, as an at-least-once producer or a replay would.
    const at = Math.min(sends.length, sends.indexOf(original) + 1 + Math.floor(random() * 60));
    sends.splice(at, 0, { ...original, duplicate: true });
    duplicates++;
  }

  let newest = -1;
  let reordered = 0;
  for (const send of sends) {
    if (send.duplicate) continue;
    if (send.sourceIndex < newest) reordered++;
    newest = Math.max(newest, send.sourceIndex);
  }
  const changes = source.flatMap((entry) => (entry.change ? [entry.change] : []));
  return {
    changes,
    sends,
    counts: { distinct: source.length, valid: changes.length, invalid: source.length - changes.length, duplicates, reordered, viaEventBridge },
  };
}

/** As the bus rule delivers an event to the queue. */
function eventBridgeEnvelope(change: IdentityChange) {
  return {
    version: '0',
    id: `eb-${change.id}`,
    'detail-type': change.type,
    source: 'identity-provisioner.hr',
    account: '000000000000',
    time: change.occurredAt.replace(/\.\d{3}Z$/, 'Z'),
    region: 'us-east-1',
    resources: [],
    detail: change,
  };
}
