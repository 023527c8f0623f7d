/**
 * A person, not a name: the audit questions about people and memberships that span renames.
 *
 * Records about a user carry the UserId once the service knows it, and the name the user had then.
 * A person's history is every record naming their UserId (byPerson), plus what is filed under each
 * name they held (records from before byPerson existed, and events about the name that never got
 * as far as a UserId — rejected, or waiting for the user to exist), followed from name to name
 * through the renames the trail recorded. Membership at a point in time is a replay of the
 * membership writes up to that time, ended by the deletion of the user or the group.
 *
 * Everything here reads through HistoryReader (the DynamoDB audit query in practice) and decides
 * on values: no SDK.
 */
import type { AuditRecord, PersonLink } from '../lambdas/adapters/dynamodb-audit-log';
import { nameKey } from '../lambdas/domain/names';
import { TOP_LEVEL_PATHS } from '../lambdas/domain/user-diff';

/** How a write's changes name the user name: a rename is a change of it. */
const USER_NAME_PATH = TOP_LEVEL_PATHS.UserName;

export interface HistoryReader {
  recordsOfUserId(userId: string): Promise<AuditRecord[]>;
  recordsOfUserName(userName: string): Promise<AuditRecord[]>;
  recordsOfGroupName(displayName: string): Promise<AuditRecord[]>;
  linksOfExternalId(issuer: string, id: string): Promise<PersonLink[]>;
}

/**
 * The reader, each partition read once: one answer reads the same partitions again and again (the
 * name asked for while following a person's names, a member's records for each group under the
 * name, a group's records for each of a person's memberships).
 */
export function readOnce(reader: HistoryReader): HistoryReader {
  const read = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, load: () => Promise<T>): Promise<T> => {
    if (!read.has(key)) read.set(key, load());
    return read.get(key) as Promise<T>;
  };
  return {
    recordsOfUserId: (userId) => once(`userId\u0000${userId}`, () => reader.recordsOfUserId(userId)),
    recordsOfUserName: (userName) => once(`userName\u0000${userName}`, () => reader.recordsOfUserName(userName)),
    recordsOfGroupName: (displayName) => once(`group\u0000${displayName}`, () => reader.recordsOfGroupName(displayName)),
    linksOfExternalId: (issuer, id) => once(`externalId\u0000${issuer}\u0000${id}`, () => reader.linksOfExternalId(issuer, id)),
  };
}

/** How the person was asked for. */
export type PersonQuery = { kind: 'user'; text: string } | { kind: 'external-id'; text: string };

export interface Person {
  userId: string;
  /** The names the person had, in the order they had them (case as recorded). */
  names: string[];
  /** The ExternalIds (issuer/id) the trail linked to this person. */
  externalIds: string[];
  /** Oldest first; each record carries the name the user had at that time. */
  records: AuditRecord[];
}

export interface PersonAnswer {
  persons: Person[];
  /** Records filed under the name asked for that no UserId can be tied to (no record of the name has one). */
  unattributed: AuditRecord[];
}

/** The person (or persons: a name or an HR id can be reused after a deletion) a query stands for. */
export async function findPersons(reader: HistoryReader, query: PersonQuery): Promise<PersonAnswer> {
  const userIds: string[] = [];
  const add = (userId: string | undefined) => {
    if (userId !== undefined && !userIds.includes(userId)) userIds.push(userId);
  };
  let unattributed: AuditRecord[] = [];
  if (query.kind === 'external-id') {
    for (const link of await linksOf(reader, query.text)) add(link.userId);
  } else {
    if ((await reader.recordsOfUserId(query.text)).length > 0) add(query.text);
    const filed = await reader.recordsOfUserName(query.text);
    for (const record of filed) add(record.userId);
    if (userIds.length === 0) unattributed = filed;
  }
  const persons: Person[] = [];
  for (const userId of userIds) persons.push(await gatherPerson(reader, userId));
  return { persons, unattributed };
}

/**
 * `ISSUER/ID`: an issuer is often a URL and an id may hold a slash too, so every split at a slash
 * is tried; the trail says which ones name somebody.
 */
async function linksOf(reader: HistoryReader, text: string): Promise<PersonLink[]> {
  const links: PersonLink[] = [];
  for (let at = text.indexOf('/'); at > 0 && at < text.length - 1; at = text.indexOf('/', at + 1)) {
    links.push(...(await reader.linksOfExternalId(text.slice(0, at), text.slice(at + 1))));
  }
  return links.sort((a, b) => compareTime(a.at, b.at));
}

/** Everything about one UserId: its byPerson records, and what each of its names has on file for it. */
async function gatherPerson(reader: HistoryReader, userId: string): Promise<Person> {
  const byKey = new Map<string, AuditRecord>();
  const keep = (record: AuditRecord) => byKey.set(recordKey(record), record);
  (await reader.recordsOfUserId(userId)).forEach(keep);
  const read = new Set<string>();
  // Follow the names: each name's partition may hold records (and renames) that lead to another.
  for (;;) {
    const next = namesIn([...byKey.values()]).find((name) => !read.has(nameKey(name)));
    if (next === undefined) break;
    read.add(nameKey(next));
    const filed = await reader.recordsOfUserName(next);
    const owners = attributeByTime(filed);
    filed.forEach((record, i) => {
      if (owners[i] === userId) keep(record);
    });
  }
  const records = [...byKey.values()].sort(inTrailOrder);
  const externalIds = new Set<string>();
  for (const record of records) {
    if (record.kind === 'OUTCOME' && record.userId === userId) {
      for (const id of record.externalIds ?? []) externalIds.add(`${id.Issuer}/${id.Id}`);
    }
  }
  return { userId, names: namesIn(records), externalIds: [...externalIds], records };
}

/** The user names records carry and the renames writes made, in order of appearance. */
function namesIn(records: AuditRecord[]): string[] {
  const names: string[] = [];
  const add = (name: unknown) => {
    if (typeof name === 'string' && name !== '' && !names.some((known) => nameKey(known) === nameKey(name))) names.push(name);
  };
  for (const record of [...records].sort(inTrailOrder)) {
    if (record.kind === 'WRITE') {
      for (const change of record.changes ?? []) {
        if (change.path === USER_NAME_PATH) {
          add(change.before);
          add(change.after);
        }
      }
    }
    add(record.userName);
  }
  return names;
}

/**
 * Who each record of one name's partition is about: its own UserId, else that of the nearest
 * record before it that has one (the person who held the name then), else the nearest after.
 */
function attributeByTime(filed: AuditRecord[]): (string | undefined)[] {
  const order = filed.map((record, i) => ({ record, i })).sort((a, b) => inTrailOrder(a.record, b.record));
  const owners: (string | undefined)[] = new Array(filed.length).fill(undefined);
  let holder: string | undefined;
  for (const { record, i } of order) {
    holder = record.userId ?? holder;
    owners[i] = holder;
  }
  let later: string | undefined;
  for (const { record, i } of [...order].reverse()) {
    later = record.userId ?? later;
    owners[i] ??= later;
  }
  return owners;
}

/** A membership as the trail shows it at a point in time. */
export interface MembershipAt {
  userId: string;
  groupId: string;
  /** The names at that time. */
  userName?: string;
  groupDisplayName?: string;
  /** When the membership began, by which event, sent by whom, claimed by whom. */
  since: string;
  eventId: string;
  producer?: string;
  actor?: string;
  /** `added`: a write of this service; `found`: an event found it already there (NOOP). */
  how: 'added' | 'found';
}

export interface GroupAt {
  groupId: string;
  /** The group's name at that time (else the name asked for). */
  displayName: string;
  members: MembershipAt[];
}

/** Who was in the group (by display name, any case) at `at`: one answer per group that existed then under that name. */
export async function membersAt(reader: HistoryReader, displayName: string, at: Date): Promise<GroupAt[]> {
  const groups = await gatherGroups(reader, displayName);
  const answers: GroupAt[] = [];
  for (const [groupId, records] of groups) {
    if (!existedAt(records, groupId, at)) continue;
    const candidates = replay(records, at).filter((m) => m.groupId === groupId);
    // A member's deletion ends the membership; it is filed under the user, not the group.
    const members: MembershipAt[] = [];
    for (const membership of candidates) {
      const person = await reader.recordsOfUserId(membership.userId);
      if (deletedBy(person, 'DeleteUser', membership.userId, at, membership.since)) continue;
      members.push({ ...membership, userName: nameAt(person, at) ?? membership.userName });
    }
    answers.push({ groupId, displayName: groupNameAt(records, at) ?? displayName, members: members.sort(byName) });
  }
  return answers;
}

/** The groups the person was in at `at`. */
export async function groupsOfAt(person: Person, reader: HistoryReader, at: Date): Promise<MembershipAt[]> {
  if (deletedBy(person.records, 'DeleteUser', person.userId, at)) return [];
  const memberships: MembershipAt[] = [];
  for (const membership of replay(person.records, at).filter((m) => m.userId === person.userId)) {
    const group = await recordsOfGroupId(reader, membership.groupId, membership.groupDisplayName);
    if (deletedBy(group, 'DeleteGroup', membership.groupId, at, membership.since)) continue;
    memberships.push({ ...membership, userName: nameAt(person.records, at), groupDisplayName: groupNameAt(group, at) ?? membership.groupDisplayName });
  }
  return memberships.sort((a, b) => compareText(a.groupDisplayName ?? a.groupId, b.groupDisplayName ?? b.groupId));
}

/**
 * The membership writes (and NOOP membership events) up to `at`, replayed pair by pair: a write
 * adding the pair starts it, one removing it ends it, deleting the user or the group ends all of theirs.
 */
function replay(records: AuditRecord[], at: Date): MembershipAt[] {
  const current = new Map<string, MembershipAt>();
  const pair = (userId: string, groupId: string) => `${userId} ${groupId}`;
  for (const record of [...records].sort(inTrailOrder)) {
    if (Date.parse(record.at) > at.getTime()) break;
    if (record.kind === 'WRITE') {
      const { userId, groupId } = record;
      if (record.action === 'CreateGroupMembership' && userId && groupId) current.set(pair(userId, groupId), membershipFrom(record, userId, groupId, 'added'));
      if (record.action === 'DeleteGroupMembership' && userId && groupId) current.delete(pair(userId, groupId));
    }
    if (record.userId && ends(record, 'DeleteUser', record.userId)) for (const key of [...current.keys()]) if (key.startsWith(`${record.userId} `)) current.delete(key);
    if (record.groupId && ends(record, 'DeleteGroup', record.groupId)) for (const key of [...current.keys()]) if (key.endsWith(` ${record.groupId}`)) current.delete(key);
    // An event that found the membership already there (or already gone) is evidence too.
    if (record.kind === 'OUTCOME' && record.outcome === 'NOOP' && record.userId && record.groupId) {
      const key = pair(record.userId, record.groupId);
      if (record.type === 'membership.added' && !current.has(key)) current.set(key, membershipFrom(record, record.userId, record.groupId, 'found'));
      if (record.type === 'membership.removed') current.delete(key);
    }
  }
  return [...current.values()];
}

function membershipFrom(record: AuditRecord, userId: string, groupId: string, how: MembershipAt['how']): MembershipAt {
  return {
    userId,
    groupId,
    userName: record.userName,
    groupDisplayName: record.groupDisplayName,
    since: record.at,
    eventId: record.eventId ?? '-',
    producer: record.producer,
    actor: 'actor' in record && typeof record.actor === 'string' ? record.actor : undefined,
    how,
  };
}

/** Each GroupId that held the name (any case), with everything filed under every name it had. */
async function gatherGroups(reader: HistoryReader, displayName: string): Promise<Map<string, AuditRecord[]>> {
  const filed = await reader.recordsOfGroupName(displayName);
  const groups = new Map<string, AuditRecord[]>();
  for (const record of filed) {
    if (record.groupId !== undefined && !groups.has(record.groupId)) {
      groups.set(record.groupId, await recordsOfGroupId(reader, record.groupId, displayName));
    }
  }
  return groups;
}

/** Everything filed under the group's name about that GroupId (another group may have had the name before or after). */
async function recordsOfGroupId(reader: HistoryReader, groupId: string, displayName: string | undefined): Promise<AuditRecord[]> {
  const byKey = new Map<string, AuditRecord>();
  const pending = displayName === undefined ? [] : [displayName];
  const read = new Set<string>();
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (read.has(nameKey(name))) continue;
    read.add(nameKey(name));
    const filed = await reader.recordsOfGroupName(name);
    for (const record of filed) {
      if (record.groupId !== groupId) continue;
      byKey.set(recordKey(record), record);
      // This service never renames a group (UpdateGroup changes its description), but records may
      // spell the name in another case: each spelling's key is the same partition, read once.
      if (record.groupDisplayName) pending.push(record.groupDisplayName);
    }
  }
  return [...byKey.values()].sort(inTrailOrder);
}

/** The group existed at `at` as far as the trail knows: a record of it by then, and no deletion after its last creation. */
function existedAt(records: AuditRecord[], groupId: string, at: Date): boolean {
  const before = records.filter((record) => Date.parse(record.at) <= at.getTime());
  return before.length > 0 && !deletedBy(before, 'DeleteGroup', groupId, at);
}

/** A deletion of the id by `at` (and after `after`, when given: a membership begun after a deletion is of a new incarnation). */
function deletedBy(records: AuditRecord[], action: 'DeleteUser' | 'DeleteGroup', id: string, at: Date, after?: string): boolean {
  return records.some(
    (record) =>
      ends(record, action, id) && Date.parse(record.at) <= at.getTime() && (after === undefined || Date.parse(record.at) >= Date.parse(after)),
  );
}

/**
 * The record says the user (DeleteUser) or group (DeleteGroup) is gone: its deletion's WRITE, or
 * the outcome of the deletion event naming the id, which is there even when the WRITE record was
 * lost (the retry ends NOOP, naming the id it found gone: docs/audit.md, Deletions).
 */
function ends(record: AuditRecord, action: 'DeleteUser' | 'DeleteGroup', id: string): boolean {
  const ofUser = action === 'DeleteUser';
  if ((ofUser ? record.userId : record.groupId) !== id) return false;
  if (record.kind === 'WRITE') return record.action === action;
  return record.kind === 'OUTCOME' && record.type === (ofUser ? 'user.deleted' : 'group.deleted') && (record.outcome === 'APPLIED' || record.outcome === 'NOOP');
}

/** The user's name at `at`: the latest name a record carried by then (a rename's write carries the new one). */
export function nameAt(records: AuditRecord[], at: Date): string | undefined {
  let name: string | undefined;
  for (const record of [...records].sort(inTrailOrder)) {
    if (Date.parse(record.at) > at.getTime()) break;
    name = record.userName ?? name;
  }
  return name;
}

function groupNameAt(records: AuditRecord[], at: Date): string | undefined {
  let name: string | undefined;
  for (const record of records) {
    if (Date.parse(record.at) > at.getTime()) break;
    name = record.groupDisplayName ?? name;
  }
  return name;
}

/** One identity per stored record (the same record is found under several keys). */
function recordKey(record: AuditRecord): string {
  const owner = record.kind === 'DRIFT' ? record.findingKey : record.eventId;
  const attempt = record.kind === 'DRIFT' ? '' : record.attempt;
  const sequence = record.kind === 'WRITE' || record.kind === 'INTENT' ? record.sequence : '';
  return [record.kind, owner, new Date(record.at).toISOString(), attempt, sequence].join('|');
}

/** The trail's own order: time, then as sort keys order kinds at one instant (DRIFT, INTENT, OUTCOME, WRITE), then attempt and sequence. */
export function inTrailOrder(a: AuditRecord, b: AuditRecord): number {
  return (
    compareTime(a.at, b.at) ||
    compareText(a.kind, b.kind) ||
    (a.attempt ?? 0) - (b.attempt ?? 0) ||
    ('sequence' in a ? a.sequence : 0) - ('sequence' in b ? b.sequence : 0) ||
    compareText(a.eventId ?? '', b.eventId ?? '')
  );
}

function compareTime(a: string, b: string): number {
  return Date.parse(a) - Date.parse(b);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byName(a: MembershipAt, b: MembershipAt): number {
  return compareText(nameKey(a.userName ?? a.userId), nameKey(b.userName ?? b.userId));
}
