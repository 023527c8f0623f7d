/**
 * Roster reconcile: a complete desired state of the people in the managed scope (a roster) against
 * the store as it is (a managed view, managed-view.ts), turned into ordinary v1 events that bring
 * the scope in line. Nothing here writes: the events go through a producer's door like any other,
 * so ordering, idempotency, the producer's grant, the caps and the audit trail apply unchanged.
 *
 * - Each roster person is found as the engine finds them (find-person.ts): by ExternalId first
 *   (the service's own mapping, then the store's ExternalIds), else by UserName. When the
 *   attributes the roster carries differ (diffUser: a patch, what the roster leaves out is left
 *   alone), or the person's groups within the scope differ, or the ExternalId is not yet known for
 *   them: one user.upserted with the roster's attributes, ExternalIds and complete `groups` list.
 *   The engine renames (a known ExternalId under another name), moves and joins from it.
 * - "The scope", for people: the members of the managed groups the producer's grant covers (a
 *   roster sent as `hr` says nothing about the `app-*` groups another producer manages). A person
 *   in it the roster does not name is offboarded (user.deleted) only with `offboardMissing`, and
 *   only when all of them fit in what the deletion cap leaves of the current window: otherwise none
 *   is (a roster missing more people than the cap allows is more likely a truncated export than a
 *   wave of leavers, and the cap would hold back an arbitrary part of them half-way).
 * - A roster group that does not exist is created first (group.upserted) when the managed scope
 *   allows creating it and the grant covers it. A group outside the grant, or one that exists
 *   outside the managed scope, is a problem, not ignored: the engine would reject the person's
 *   event for it, and dropping it silently would drop a membership the roster asks for.
 *
 * Any problem refuses the whole reconcile (`problems`): the caller sends nothing.
 */
import { createHash } from 'node:crypto';
import type { ExternalId, IdentityChange, UserAttributes } from './identity-change';
import { describeScope, mayCreateGroup, type ManagedGroupScope } from './managed-scope';
import type { ManagedView } from './managed-view';
import { nameKey } from './names';
import type { IdentityStorePort, ProcessingStatePort, StoredUser } from './ports';
import { diffUser, type AttributeChange } from './user-diff';
import { findPerson } from './find-person';

/** One roster person: where they are in the roster, and their user.upserted `data` (complete groups). */
export interface RosterEntry {
  /** `file:line`, for messages. */
  at: string;
  data: { user: UserAttributes & { ExternalIds?: ExternalId[] }; groups: string[] };
}

export interface ReconcileOptions {
  now: Date;
  /** The events' actor. */
  actor: string;
  /** The roster's own digest (sha256 of its bytes): with `now`, it makes each run's event ids its own. */
  rosterDigest: string;
  offboardMissing: boolean;
  scope: ManagedGroupScope;
  /** The producer the events are sent as, and its grant. */
  producer: { name: string; eventTypes: readonly string[]; covers(groupDisplayName: string): boolean };
  deletionCap: number;
  deletionWindowSeconds: number;
}

/** Read-only: the reconcile asks, it never writes. */
export interface ReconcilePorts {
  identityStore: Pick<IdentityStorePort, 'findUserIdByUserName' | 'findUserIdByExternalId' | 'describeUser' | 'findGroupIdByDisplayName'>;
  state: Pick<ProcessingStatePort, 'getUserIdForExternalId' | 'reservedDeletions'>;
}

export type ReconcileStepKind = 'create-group' | 'offboard' | 'join' | 'update';

/** One event and why. */
export interface ReconcileStep {
  kind: ReconcileStepKind;
  /** The user name or group name it is about. */
  subject: string;
  /** The roster line it comes from (not for an offboarding). */
  at?: string;
  /** What changes, for people: `userName: "a" -> "b"`, `+Platform`, `-Engineering`, ... */
  details: string[];
  event: IdentityChange;
}

export interface ReconcileResult {
  /** In the order to send: groups to create, offboardings, then the roster's people in roster order. */
  steps: ReconcileStep[];
  /** Roster people whose user, attributes and groups already match. */
  unchanged: number;
  /** People in the scope the roster does not name (offboarded only with offboardMissing). */
  missing: { userId: string; userName: string }[];
  /** The deletions the cap leaves in the current window. */
  deletionAllowance: { cap: number; reserved: number; left: number; windowSeconds: number };
  /** Reasons to send nothing at all; empty when the steps may be sent. */
  problems: string[];
}

/** The prefix of every reconcile event id: a reconcile's events say where they came from. */
export const RECONCILE_ID_PREFIX = 'reconcile-';

interface Match {
  entry: RosterEntry;
  user?: StoredUser;
  /** The user was found by the roster's ExternalId. */
  byExternalId: boolean;
}

export async function reconcileRoster(
  roster: readonly RosterEntry[],
  view: ManagedView,
  ports: ReconcilePorts,
  options: ReconcileOptions,
): Promise<ReconcileResult> {
  const problems: string[] = [];
  const { producer } = options;
  const steps: ReconcileStep[] = [];
  const occurredAt = options.now.toISOString();
  const event = (type: IdentityChange['type'], data: unknown): IdentityChange =>
    ({ id: eventId(options, type, data), type, occurredAt, actor: options.actor, data }) as IdentityChange;

  if (!producer.eventTypes.includes('user.upserted') && roster.length > 0) {
    problems.push(`producer "${producer.name}" may not send user.upserted (it may send ${producer.eventTypes.join(', ')}): send the roster as a producer that may`);
  }

  // The scope: managed groups in the producer's grant, and who is in them.
  const inGrant = view.groups.filter((group) => producer.covers(group.displayName));
  const managedByKey = new Map(view.groups.map((group) => [nameKey(group.displayName), group]));
  const scopeGroupsOf = new Map<string, Set<string>>();
  for (const group of inGrant) {
    for (const member of group.members) scopeGroupsOf.set(member.userId, new Set([...(scopeGroupsOf.get(member.userId) ?? []), group.groupId]));
  }

  // The roster's groups, by the store's spelling; the ones to create first.
  const toCreate = new Map<string, string>();
  const groupProblems = new Map<string, string>();
  const resolveGroup = async (name: string, at: string): Promise<{ groupId?: string; displayName: string } | undefined> => {
    const key = nameKey(name);
    const managed = managedByKey.get(key);
    let problem: string | undefined;
    if (managed) {
      if (producer.covers(managed.displayName)) return { groupId: managed.groupId, displayName: managed.displayName };
      problem = `group ${quoted(managed.displayName)} is outside the grant of producer "${producer.name}": its roster cannot speak for it`;
    } else if (toCreate.has(key)) {
      return { displayName: toCreate.get(key)! };
    } else if (!groupProblems.has(key)) {
      const existing = await ports.identityStore.findGroupIdByDisplayName(name);
      if (existing !== undefined) problem = `group ${quoted(name)} exists but is outside the managed scope (${describeScope(options.scope)}): this service never changes its members`;
      else if (!mayCreateGroup(options.scope, name)) problem = `group ${quoted(name)} does not exist, and the managed scope (${describeScope(options.scope)}) does not allow creating it`;
      else if (!producer.covers(name)) problem = `group ${quoted(name)} does not exist, and is outside the grant of producer "${producer.name}"`;
      else if (!producer.eventTypes.includes('group.upserted')) problem = `group ${quoted(name)} does not exist, and producer "${producer.name}" may not send group.upserted to create it`;
      else {
        toCreate.set(key, name);
        return { displayName: name };
      }
    }
    if (problem !== undefined && !groupProblems.has(key)) groupProblems.set(key, problem);
    problems.push(`${at}: ${groupProblems.get(key)}`);
    return undefined;
  };

  // Each roster person's live user, found as the engine finds it.
  const matches: Match[] = [];
  const matchOfUser = new Map<string, Match>();
  for (const entry of roster) {
    const match = await matchOf(entry, view, ports);
    matches.push(match);
    if (match.user === undefined) continue;
    const other = matchOfUser.get(match.user.userId);
    if (other) {
      problems.push(
        `${entry.at}: is the same user in the store as ${other.entry.at} (${match.user.attributes.UserName}, found by ${match.byExternalId ? 'ExternalId' : 'userName'} here and by ${other.byExternalId ? 'ExternalId' : 'userName'} there): one row per person`,
      );
    } else matchOfUser.set(match.user.userId, match);
  }

  // Who in the scope the roster does not name.
  const missingIds = [...scopeGroupsOf.keys()].filter((userId) => !matchOfUser.has(userId));
  const missing: { userId: string; userName: string }[] = [];
  for (const userId of missingIds) {
    const user = await describe(view, ports, userId);
    if (user) missing.push({ userId, userName: user.attributes.UserName });
  }
  missing.sort((a, b) => compare(nameKey(a.userName), nameKey(b.userName)));
  const offboarded = new Set(options.offboardMissing ? missing.map((person) => person.userId) : []);

  // A rename must find its new name free, or freed by this reconcile (renamed away, offboarded).
  const holderOf = new Map<string, string | undefined>();
  for (const match of matches) {
    if (match.user && nameKey(match.entry.data.user.UserName) !== nameKey(match.user.attributes.UserName)) {
      holderOf.set(match.user.userId, await ports.identityStore.findUserIdByUserName(match.entry.data.user.UserName));
    }
  }
  for (const match of matches) {
    if (!match.user || !holderOf.has(match.user.userId)) continue;
    const wanted = match.entry.data.user.UserName;
    const holderId = holderOf.get(match.user.userId);
    if (holderId === undefined || holderId === match.user.userId || offboarded.has(holderId)) continue;
    const holder = matchOfUser.get(holderId);
    if (holder) {
      if (renameCycle(match.user.userId, matchOfUser, holderOf)) {
        problems.push(`${match.entry.at}: renames ${match.user.attributes.UserName} to ${quoted(wanted)}, a name ${holder.entry.at} renames away in a cycle (names swapped): rename one of them to a free name first`);
      }
      continue;
    }
    const holderName = (await describe(view, ports, holderId))?.attributes.UserName ?? wanted;
    const why = missing.some((person) => person.userId === holderId)
      ? 'who is not in the roster (offboarded only with --offboard-missing)'
      : 'who is outside the scope of this roster';
    problems.push(`${match.entry.at}: cannot rename ${match.user.attributes.UserName} to ${quoted(wanted)}: the name belongs to another user, ${holderName}, ${why}`);
  }

  // The roster's people: joiners, and people whose attributes or groups differ.
  const personSteps: ReconcileStep[] = [];
  let unchanged = 0;
  for (const match of matches) {
    const { entry, user } = match;
    const groups: { groupId?: string; displayName: string }[] = [];
    for (const name of entry.data.groups) {
      const group = await resolveGroup(name, entry.at);
      if (group) groups.push(group);
    }
    const data = { user: entry.data.user, groups: groups.map((group) => group.displayName) };
    const userName = entry.data.user.UserName;
    if (!user) {
      personSteps.push({ kind: 'join', subject: userName, at: entry.at, details: [`new user`, ...groups.map((group) => `+${group.displayName}`)], event: event('user.upserted', data) });
      continue;
    }
    const { ExternalIds: externalIds = [], ...attributes } = entry.data.user;
    const changes = diffUser(attributes, user.attributes);
    const current = scopeGroupsOf.get(user.userId) ?? new Set<string>();
    const desired = new Set(groups.flatMap((group) => (group.groupId ? [group.groupId] : [])));
    const added = groups.filter((group) => group.groupId === undefined || !current.has(group.groupId)).map((group) => group.displayName);
    const removed = inGrant.filter((group) => current.has(group.groupId) && !desired.has(group.groupId)).map((group) => group.displayName);
    const unrecorded = match.byExternalId ? [] : externalIds;
    if (changes.length === 0 && added.length === 0 && removed.length === 0 && unrecorded.length === 0) {
      unchanged++;
      continue;
    }
    personSteps.push({
      kind: 'update',
      subject: userName,
      at: entry.at,
      details: [
        ...changes.map(describeChange),
        ...added.map((name) => `+${name}`),
        ...removed.map((name) => `-${name}`),
        ...unrecorded.map(({ Issuer, Id }) => `ExternalId ${Issuer}/${Id} recorded for ${user.attributes.UserName}`),
      ],
      event: event('user.upserted', data),
    });
  }

  const reserved = (await ports.state.reservedDeletions(options.now, options.deletionWindowSeconds)).length;
  const deletionAllowance = { cap: options.deletionCap, reserved, left: Math.max(0, options.deletionCap - reserved), windowSeconds: options.deletionWindowSeconds };
  const offboardSteps: ReconcileStep[] = [];
  if (options.offboardMissing && missing.length > 0) {
    if (!producer.eventTypes.includes('user.deleted')) {
      problems.push(`${missing.length} people in the scope are not in the roster, and producer "${producer.name}" may not send user.deleted to offboard them`);
    } else if (missing.length > deletionAllowance.left) {
      problems.push(
        `refusing to offboard ${missing.length} people not in the roster: the deletion cap allows ${options.deletionCap} deletions per ${options.deletionWindowSeconds} s, ` +
          `${reserved} already made in the current window leave ${deletionAllowance.left}; none is offboarded ` +
          '(a roster missing more people than the cap allows is more likely incomplete than right: check it; if it is right, raise deletionCap)',
      );
    } else {
      for (const person of missing) {
        offboardSteps.push({ kind: 'offboard', subject: person.userName, details: ['not in the roster'], event: event('user.deleted', { userName: person.userName }) });
      }
    }
  }

  for (const [, displayName] of [...toCreate].sort(([a], [b]) => compare(a, b))) {
    steps.push({ kind: 'create-group', subject: displayName, details: ['named in the roster, does not exist yet'], event: event('group.upserted', { group: { DisplayName: displayName } }) });
  }
  // Offboardings before the roster's people: a rename may need the name a leaver frees.
  steps.push(...offboardSteps, ...personSteps);
  return { steps, unchanged, missing, deletionAllowance, problems };
}

/** The live user of a roster person: by ExternalId (the mapping, then the store's), else by UserName. */
async function matchOf(entry: RosterEntry, view: ManagedView, ports: ReconcilePorts): Promise<Match> {
  const { user, byExternalId } = await findPerson(
    { ...ports, describe: (userId) => describe(view, ports, userId) },
    { userName: entry.data.user.UserName, externalIds: entry.data.user.ExternalIds ?? [] },
  );
  return { entry, user, byExternalId };
}

/** Whether following "my new name is held by a user this roster renames" from `start` comes back to it. */
function renameCycle(start: string, matchOfUser: Map<string, Match>, holderOf: Map<string, string | undefined>): boolean {
  const seen = new Set<string>();
  let userId: string | undefined = start;
  while (userId !== undefined && !seen.has(userId)) {
    seen.add(userId);
    const next: string | undefined = holderOf.get(userId);
    if (next === undefined || !matchOfUser.has(next)) return false;
    if (next === start) return true;
    userId = next;
  }
  return false;
}

/** The user, described once per reconcile (the view keeps what it described). */
async function describe(view: ManagedView, ports: ReconcilePorts, userId: string): Promise<StoredUser | undefined> {
  if (!view.users.has(userId)) view.users.set(userId, await ports.identityStore.describeUser(userId));
  return view.users.get(userId);
}

/** A name in quotes, its invisible characters escaped ("Everyone\\u00a0" is not "Everyone"). */
function quoted(name: string): string {
  return `"${name.replace(/[\p{C}\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f\u3000\ufeff]/gu, (char) => `\\u${char.codePointAt(0)!.toString(16).padStart(4, '0')}`)}"`;
}

function describeChange(change: AttributeChange): string {
  return `${change.path}: ${show(change.before)} -> ${show(change.after)}`;
}

function show(value: unknown): string {
  return value === undefined ? '(none)' : JSON.stringify(value);
}

/** `reconcile-<32 hex>`: from the roster, the run's time and the event's own content, so the same run makes the same ids. */
function eventId(options: ReconcileOptions, type: string, data: unknown): string {
  const hash = createHash('sha256').update(JSON.stringify([options.rosterDigest, options.now.toISOString(), options.actor, type, data])).digest('hex');
  return `${RECONCILE_ID_PREFIX}${hash.slice(0, 32)}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
