/**
 * Drift detection: does the managed scope still hold what this service last applied?
 *
 * Every watermark the engine advances carries what its change left the subject as, by id
 * (ports.ts, AppliedFacts). `expectedState` folds those facts into what should be true now;
 * `findDrift` compares that with the store (managed-view.ts); `repairEventsFor` turns findings
 * into ordinary v1 events that put things back through the normal pipeline (never direct writes:
 * ordering, grants, the audit trail and the deletion cap all apply to a repair as to any change).
 *
 * What counts: attributes the service set on a user (only the ones its last change carried, as
 * the engine compares them), a user it made or kept that no longer exists, members of managed
 * groups the facts do not explain or say should not be there, members the facts say should be
 * there and are not, and a managed group's description. Only groups in the managed scope count.
 */
import { createHash } from 'node:crypto';
import { groupInGrant } from '../shared/producers';
import type { IdentityChange, UserAttributes } from './identity-change';
import { describeUsers, readManagedView, type ManagedView } from './managed-view';
import { nameKey } from './names';
import type { ManagedGroupScope } from './managed-scope';
import type { AppliedMark, AppliedViewPort, Clock, IdentityStorePort, ProcessingStatePort } from './ports';
import { diffUser } from './user-diff';

/** The applied change a fact comes from. */
export interface AppliedRef {
  eventId: string;
  occurredAt: string;
}

type UserExpectation = { exists: true; attributes: UserAttributes; from: AppliedRef } | { exists: false; from: AppliedRef };

interface MembershipSet {
  groupIds: Set<string>;
  within: string[];
  from: AppliedRef;
}

/** What the applied facts say should be true now, by id. */
export interface ExpectedState {
  /** How many applied facts it was built from (0: nothing to compare with). */
  facts: number;
  /** Per user: the latest of its `user` and `user-deleted` facts. */
  users: Map<string, UserExpectation>;
  /** Per `userId|groupId`: the latest `membership` fact of the pair. */
  pairs: Map<string, { member: boolean; from: AppliedRef }>;
  /** Per user: every `memberships` fact (each decides only within its own grant), newest first. */
  membershipSets: Map<string, MembershipSet[]>;
  /** Per user, per group: when it was deleted (no membership can outlive either). */
  usersDeleted: Map<string, AppliedRef>;
  groupsDeleted: Map<string, AppliedRef>;
  /** Per group: the latest `group` fact. */
  groups: Map<string, { displayName: string; description?: string; from: AppliedRef }>;
}

export function expectedState(marks: AppliedMark[]): ExpectedState {
  const expected: ExpectedState = {
    facts: marks.length,
    users: new Map(),
    pairs: new Map(),
    membershipSets: new Map(),
    usersDeleted: new Map(),
    groupsDeleted: new Map(),
    groups: new Map(),
  };
  for (const mark of marks) {
    const from: AppliedRef = { eventId: mark.eventId, occurredAt: mark.occurredAt };
    const fact = mark.applied;
    switch (fact.kind) {
      case 'user':
        keepLatest(expected.users, fact.userId, { exists: true, attributes: fact.attributes, from });
        break;
      case 'user-deleted':
        keepLatest(expected.users, fact.userId, { exists: false, from });
        keepLatest(expected.usersDeleted, fact.userId, from);
        break;
      case 'memberships': {
        const sets = expected.membershipSets.get(fact.userId) ?? [];
        // The same event's fact sits on several keys (name, ExternalIds): keep it once.
        if (!sets.some((set) => set.from.eventId === from.eventId && set.from.occurredAt === from.occurredAt)) {
          sets.push({ groupIds: new Set(fact.groupIds), within: fact.within, from });
          sets.sort((a, b) => compareRefs(b.from, a.from));
        }
        expected.membershipSets.set(fact.userId, sets);
        break;
      }
      case 'membership':
        keepLatest(expected.pairs, pairKey(fact.userId, fact.groupId), { member: fact.member, from });
        break;
      case 'group':
        keepLatest(expected.groups, fact.groupId, {
          displayName: fact.displayName,
          ...(fact.description !== undefined && { description: fact.description }),
          from,
        });
        break;
      case 'group-deleted':
        keepLatest(expected.groupsDeleted, fact.groupId, from);
        break;
    }
  }
  forgetReplacedUsers(expected.users);
  return expected;
}

/**
 * A user name belongs to one user at a time: when a later fact gives another user id the name an
 * earlier fact left on this one, this one was replaced (deleted outside the service and made
 * again, by a repair or a producer). Its old facts may linger under other keys (an ExternalId):
 * it should not exist, rather than be missing forever.
 */
function forgetReplacedUsers(users: Map<string, UserExpectation>): void {
  const holder = new Map<string, { userId: string; from: AppliedRef }>();
  for (const [userId, user] of users) {
    if (!user.exists) continue;
    const name = nameKey(user.attributes.UserName);
    const current = holder.get(name);
    if (current === undefined || compareRefs(user.from, current.from) > 0) holder.set(name, { userId, from: user.from });
  }
  for (const [userId, user] of users) {
    if (!user.exists) continue;
    const taken = holder.get(nameKey(user.attributes.UserName))!;
    if (taken.userId !== userId) users.set(userId, { exists: false, from: taken.from });
  }
}

/**
 * Whether the user should be in the group, by the latest fact that decides the pair: its own
 * membership.added/removed, a group list whose grant covers the group (or that named it), or the
 * deletion of the user or the group. Undefined when no applied fact decides it.
 */
export function expectedMembership(
  expected: ExpectedState,
  userId: string,
  group: { groupId: string; displayName: string },
): { member: boolean; from: AppliedRef } | undefined {
  const candidates: { member: boolean; from: AppliedRef }[] = [];
  const pair = expected.pairs.get(pairKey(userId, group.groupId));
  if (pair) candidates.push(pair);
  const set = expected.membershipSets
    .get(userId)
    ?.find((s) => s.groupIds.has(group.groupId) || groupInGrant(group.displayName, s.within));
  if (set) candidates.push({ member: set.groupIds.has(group.groupId), from: set.from });
  const userDeleted = expected.usersDeleted.get(userId);
  if (userDeleted) candidates.push({ member: false, from: userDeleted });
  const groupDeleted = expected.groupsDeleted.get(group.groupId);
  if (groupDeleted) candidates.push({ member: false, from: groupDeleted });
  return candidates.reduce<{ member: boolean; from: AppliedRef } | undefined>(
    (latest, candidate) => (latest === undefined || compareRefs(candidate.from, latest.from) > 0 ? candidate : latest),
    undefined,
  );
}

export const DRIFT_KINDS = [
  'attribute-differs',
  'user-missing',
  'unexpected-member',
  'unexplained-member',
  'member-missing',
  'description-differs',
  'group-missing',
] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

/** One difference between the store and what this service last applied. */
export interface DriftFinding {
  /**
   * Stable across runs while the difference lasts: built from ids only (never names, which may
   * change and are personal data), so it can travel in logs and outcome events.
   */
  key: string;
  kind: DriftKind;
  userId?: string;
  userName?: string;
  groupId?: string;
  groupDisplayName?: string;
  membershipId?: string;
  /** attribute-differs: the UpdateUser path (`title`, `name.givenName`, ...). */
  path?: string;
  /** What the service applied, and what the store holds (absent: not set / not there). */
  expected?: unknown;
  actual?: unknown;
  /** The applied change it departs from; absent for an unexplained member (no change decided it). */
  departsFrom?: AppliedRef;
  /** attribute-differs, user-missing: every attribute that change applied (what a repair sends again). */
  appliedAttributes?: UserAttributes;
}

/** The users whose descriptions findDrift needs: users with applied attributes, and members in question. */
export function usersConcerned(expected: ExpectedState, view: ManagedView): Set<string> {
  const wanted = new Set<string>();
  if (expected.facts === 0) return wanted;
  for (const [userId, user] of expected.users) if (user.exists) wanted.add(userId);
  for (const group of view.groups) {
    const members = new Set(group.members.map((m) => m.userId));
    for (const member of group.members) if (expectedMembership(expected, member.userId, group)?.member !== true) wanted.add(member.userId);
    for (const userId of candidateMembers(expected, group.groupId)) {
      if (!members.has(userId) && expectedMembership(expected, userId, group)?.member === true) wanted.add(userId);
    }
  }
  return wanted;
}

/**
 * The differences, in a stable order (by kind, then key). With no applied facts at all there is
 * nothing to compare with (a deployment from before drift detection, or nothing applied yet):
 * no findings, rather than every member of every managed group.
 */
export function findDrift(expected: ExpectedState, view: ManagedView): DriftFinding[] {
  if (expected.facts === 0) return [];
  const findings: DriftFinding[] = [];
  const nameOf = (userId: string) => userNameOf(expected, view, userId);

  for (const [userId, user] of expected.users) {
    if (!user.exists || !view.users.has(userId)) continue;
    const stored = view.users.get(userId);
    if (!stored) {
      findings.push({
        key: `user-missing:${userId}`,
        kind: 'user-missing',
        userId,
        userName: user.attributes.UserName,
        departsFrom: user.from,
        appliedAttributes: user.attributes,
      });
      continue;
    }
    for (const change of diffUser(user.attributes, stored.attributes)) {
      findings.push({
        key: `attribute:${userId}:${change.path}`,
        kind: 'attribute-differs',
        userId,
        userName: stored.attributes.UserName,
        path: change.path,
        expected: change.after,
        ...(change.before !== undefined && { actual: change.before }),
        departsFrom: user.from,
        appliedAttributes: user.attributes,
      });
    }
  }

  for (const group of view.groups) {
    const names = { groupId: group.groupId, groupDisplayName: group.displayName };
    const members = new Set(group.members.map((m) => m.userId));
    for (const member of group.members) {
      const decided = expectedMembership(expected, member.userId, group);
      if (decided?.member === true) continue;
      findings.push({
        key: `extra-member:${group.groupId}:${member.userId}`,
        kind: decided ? 'unexpected-member' : 'unexplained-member',
        userId: member.userId,
        userName: nameOf(member.userId),
        ...names,
        membershipId: member.membershipId,
        expected: false,
        actual: true,
        ...(decided && { departsFrom: decided.from }),
      });
    }
    for (const userId of candidateMembers(expected, group.groupId)) {
      if (members.has(userId)) continue;
      const decided = expectedMembership(expected, userId, group);
      if (decided?.member !== true) continue;
      // Only a user the store holds can be missing from a group: a user who is gone is one finding
      // (user-missing) or none (replaced, deleted), not one per group they were in.
      if (view.users.get(userId) === undefined) continue;
      findings.push({
        key: `missing-member:${group.groupId}:${userId}`,
        kind: 'member-missing',
        userId,
        userName: nameOf(userId),
        ...names,
        expected: true,
        actual: false,
        departsFrom: decided.from,
      });
    }
    const applied = expected.groups.get(group.groupId);
    // Only a description the service set counts; group.upserted without one leaves it alone.
    if (applied?.description !== undefined && applied.description !== group.description && !deletedAfter(expected, group.groupId, applied.from)) {
      findings.push({
        key: `description:${group.groupId}`,
        kind: 'description-differs',
        ...names,
        path: 'description',
        expected: applied.description,
        ...(group.description !== undefined && { actual: group.description }),
        departsFrom: applied.from,
      });
    }
  }
  // A group a group.upserted of this service left in place, gone from the store (deleted in the
  // console, say): its members lost what the group gave them.
  for (const [groupId, applied] of expected.groups) {
    if (view.storeGroupIds.has(groupId) || deletedAfter(expected, groupId, applied.from)) continue;
    findings.push({ key: `group-missing:${groupId}`, kind: 'group-missing', groupId, groupDisplayName: applied.displayName, departsFrom: applied.from });
  }
  const order = (kind: DriftKind) => DRIFT_KINDS.indexOf(kind);
  return findings.sort((a, b) => order(a.kind) - order(b.kind) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** A finding with the time it was first seen (kept between runs by DriftMemoryPort). */
export interface SeenFinding extends DriftFinding {
  firstSeen: string;
}

export interface RepairPlan {
  /** v1 identity-change documents, in the order they should be sent. */
  events: IdentityChange[];
  /** Finding key -> the id of the event that puts it back. */
  repairOf: Map<string, string>;
  /** Findings no event can put back, with why. */
  notRepaired: { key: string; reason: string }[];
}

export const DRIFT_REPAIR_ACTOR = 'drift-detector';

/**
 * Ordinary events that put the findings back: user.upserted with the attributes the service
 * applied to a user that still exists (one event per user), membership.removed / membership.added,
 * group.upserted with the description. Nothing gone from the store is made again (a user, a
 * group). Each is dated at the applied change it restores (the finding's `departsFrom`), not at
 * `now`: it is no newer decision, so ordering supersedes it when anything newer touched the subject
 * since, and it must never supersede a producer's older event still on its way (the engine moves
 * no watermark for it: engine-run.ts, isDriftRepair). Each id is derived from the findings it
 * repairs and when they were first seen, so sending the same repair twice is one change (the
 * pipeline's idempotency) while a difference that comes back later gets a new one.
 */
export function repairEventsFor(findings: SeenFinding[], context: { actor?: string } = {}): RepairPlan {
  const actor = context.actor ?? DRIFT_REPAIR_ACTOR;
  const plan: RepairPlan = { events: [], repairOf: new Map(), notRepaired: [] };
  const skip = (finding: SeenFinding, reason: string) => plan.notRepaired.push({ key: finding.key, reason });
  const add = (covered: SeenFinding[], build: (id: string, occurredAt: string) => IdentityChange) => {
    // The findings of one event depart from one applied change (a user's attributes: its `user` fact).
    const occurredAt = covered[0]!.departsFrom?.occurredAt;
    if (occurredAt === undefined) {
      for (const finding of covered) skip(finding, 'the applied change it departs from is not at hand');
      return;
    }
    const id = repairEventId(covered);
    plan.events.push(build(id, occurredAt));
    for (const finding of covered) plan.repairOf.set(finding.key, id);
  };

  // Attributes: one user.upserted per user, carrying what was applied.
  const byUser = new Map<string, SeenFinding[]>();
  for (const finding of findings) {
    if (finding.kind !== 'attribute-differs') continue;
    byUser.set(finding.userId!, [...(byUser.get(finding.userId!) ?? []), finding]);
  }
  for (const covered of byUser.values()) {
    const applied = covered.find((finding) => finding.appliedAttributes !== undefined)?.appliedAttributes;
    if (!applied) {
      for (const finding of covered) skip(finding, 'the applied attributes are not at hand');
      continue;
    }
    if (covered.some((finding) => finding.path === 'userName')) {
      // The engine finds the person by user name: an event under the applied name would create a
      // second user instead of renaming this one back.
      for (const finding of covered) skip(finding, 'the user name was changed outside this service: rename it back by hand (or send user.upserted with its ExternalIds)');
      continue;
    }
    add(covered, (id, occurredAt) => ({ id, type: 'user.upserted', occurredAt, actor, data: { user: structuredClone(applied) } }));
  }

  for (const finding of findings) {
    switch (finding.kind) {
      case 'attribute-differs':
        break;
      case 'user-missing':
        // Never re-create a person from the facts: a user gone from the store may have been
        // offboarded (in the console, or by a deletion whose record was lost), and a new user under
        // the name would restore a leaver's account. Only a producer's event may bring them back.
        skip(finding, 'the user was deleted outside this service: it is not re-created from what was applied, as it may be a leaver (send user.upserted if they should exist)');
        break;
      case 'unexplained-member':
        skip(finding, 'no change of this service decided this membership: nothing to put back (remove it by hand, or send membership.removed)');
        break;
      case 'group-missing':
        // Recreating it makes a new group id, without the members the old one had.
        skip(finding, 'the group was deleted outside this service: recreating it would not bring its members back (send group.upserted, then the people\'s events or a roster reconcile)');
        break;
      case 'unexpected-member':
      case 'member-missing': {
        if (finding.userName === undefined || finding.groupDisplayName === undefined) {
          skip(finding, 'the user or group could not be named');
          break;
        }
        const data = { userName: finding.userName, groupDisplayName: finding.groupDisplayName };
        add([finding], (id, occurredAt) =>
          finding.kind === 'member-missing'
            ? { id, type: 'membership.added', occurredAt, actor, data }
            : { id, type: 'membership.removed', occurredAt, actor, data },
        );
        break;
      }
      case 'description-differs':
        add([finding], (id, occurredAt) => ({
          id,
          type: 'group.upserted',
          occurredAt,
          actor,
          data: { group: { DisplayName: finding.groupDisplayName!, Description: String(finding.expected) } },
        }));
        break;
    }
  }
  return plan;
}

/** `drift-<sha256 of the findings' keys and first-seen times>`, 70 characters. */
export function repairEventId(findings: { key: string; firstSeen: string }[]): string {
  const material = findings
    .map((f) => `${f.key}@${f.firstSeen}`)
    .sort()
    .join('\n');
  // 128 bits, as reconcile's ids: unique enough, and short enough to read in the audit table.
  return `drift-${createHash('sha256').update(material, 'utf8').digest('hex').slice(0, 32)}`;
}

// ---------------------------------------------------------------------------------------------
// The run: read, compare, remember, record, announce, repair.
// ---------------------------------------------------------------------------------------------

/** When each current finding was first seen, between runs (the state table in AWS). */
export interface DriftMemoryPort {
  /** Every remembered finding key with its first-seen time (ISO). */
  recall(): Promise<Map<string, string>>;
  /** Remember a finding's first-seen time; a key already remembered keeps its time. */
  remember(key: string, firstSeen: string): Promise<void>;
  /** Forget findings that are no longer there: if they come back, they are new. */
  forget(keys: string[]): Promise<void>;
}

/** One finding as the audit trail keeps it (append-only; one record per finding per run). */
export interface DriftRecord
  extends Pick<DriftFinding, 'userId' | 'userName' | 'groupId' | 'groupDisplayName' | 'membershipId' | 'path' | 'expected' | 'actual'> {
  at: string;
  identityStoreId: string;
  findingKey: string;
  drift: DriftKind;
  /** What differs, in words (no values: those are in expected/actual). */
  summary: string;
  firstSeen: string;
  /** The applied event this departs from, and its occurredAt. */
  eventId?: string;
  occurredAt?: string;
  /**
   * The run's action (named apart from a write's `action`). For repair: the id of the event made to
   * put it back (recorded before it is sent; `audit event <id>` shows whether it was applied), or
   * why none could be made.
   */
  driftAction: DriftAction;
  repairEventId?: string;
  notRepaired?: string;
}

export interface DriftAuditPort {
  recordDrift(record: DriftRecord): Promise<void>;
}

/** What `identity.drift.detected` carries: counts and ids, no names or attribute values. */
export interface DriftSummary {
  identityStoreId: string;
  at: string;
  action: DriftAction;
  findings: number;
  /** First seen in this run. */
  newFindings: number;
  byKind: Record<DriftKind, number>;
  /** The earliest first-seen time among the findings: how long drift has been there. */
  oldestFirstSeen: string;
  findingKeys: string[];
  repairsSent: number;
}

export interface DriftPublisher {
  publishDrift(summary: DriftSummary): Promise<void>;
}

export interface DriftRepairSender {
  send(events: IdentityChange[]): Promise<{ sent: number; failed: { id: string; reason: string }[] }>;
}

export type DriftAction = 'report' | 'repair';

export interface DriftDependencies {
  identityStore: IdentityStorePort;
  state: ProcessingStatePort;
  applied: AppliedViewPort;
  memory: DriftMemoryPort;
  audit: DriftAuditPort;
  publisher: DriftPublisher;
  /** Required for action `repair`; without it the report says no repair was sent. */
  repair?: DriftRepairSender;
  clock: Clock;
  /** Awaited between groups (and batches of users): the handler waits here while the source queues have work. */
  yieldToEvents(): Promise<void>;
}

export interface DriftSettings {
  identityStoreId: string;
  managedGroupScope: ManagedGroupScope;
  action: DriftAction;
  /** The actor repair events claim (default `drift-detector`). */
  repairActor?: string;
}

export interface DriftReport {
  at: string;
  identityStoreId: string;
  action: DriftAction;
  /** Applied facts read (0: nothing to compare with; no drift can be found). */
  appliedFacts: number;
  groupsChecked: number;
  usersChecked: number;
  findings: SeenFinding[];
  counts: Record<DriftKind, number>;
  newFindings: number;
  /** Whether identity.drift.detected was published (only when there is drift), or why not. */
  published: { ok: true } | { ok: false; error: string } | undefined;
  /** Action repair only. */
  repair?: {
    events: IdentityChange[];
    sent: number;
    failed: { id: string; reason: string }[];
    notRepaired: { key: string; reason: string }[];
    /** Set when no repair could be sent at all (no sender). */
    skipped?: string;
  };
}

export async function detectDrift(deps: DriftDependencies, settings: DriftSettings): Promise<DriftReport> {
  const at = deps.clock.now();
  const expected = expectedState(await deps.applied.listApplied());
  const view = await readManagedView(deps.identityStore, deps.state, settings.managedGroupScope, { pause: deps.yieldToEvents });
  const concerned = usersConcerned(expected, view);
  await deps.yieldToEvents();
  await describeUsers(deps.identityStore, view, concerned, deps.yieldToEvents);
  const found = findDrift(expected, view);

  // First seen: kept while the difference lasts; one that went away and came back is new.
  const remembered = await deps.memory.recall();
  const findings: SeenFinding[] = [];
  let newFindings = 0;
  for (const finding of found) {
    let firstSeen = remembered.get(finding.key);
    if (firstSeen === undefined) {
      firstSeen = at.toISOString();
      newFindings++;
      await deps.memory.remember(finding.key, firstSeen);
    }
    findings.push({ ...finding, firstSeen });
  }
  const present = new Set(found.map((f) => f.key));
  const gone = [...remembered.keys()].filter((key) => !present.has(key));
  if (gone.length > 0) await deps.memory.forget(gone);

  const plan = settings.action === 'repair' ? repairEventsFor(findings, { actor: settings.repairActor }) : undefined;
  const notRepairedOf = new Map(plan?.notRepaired.map((n) => [n.key, n.reason]));
  // The record comes first: no repair is sent for a finding the trail does not hold.
  for (const finding of findings) {
    await deps.audit.recordDrift(driftRecord(finding, at, settings, plan?.repairOf.get(finding.key), notRepairedOf.get(finding.key)));
  }

  let repair: DriftReport['repair'];
  if (plan) {
    if (plan.events.length === 0) repair = { events: [], sent: 0, failed: [], notRepaired: plan.notRepaired };
    else if (!deps.repair) repair = { events: plan.events, sent: 0, failed: [], notRepaired: plan.notRepaired, skipped: 'no repair sender configured' };
    else repair = { events: plan.events, ...(await deps.repair.send(plan.events)), notRepaired: plan.notRepaired };
  }

  const counts = countByKind(findings);
  let published: DriftReport['published'];
  if (findings.length > 0) {
    try {
      await deps.publisher.publishDrift({
        identityStoreId: settings.identityStoreId,
        at: at.toISOString(),
        action: settings.action,
        findings: findings.length,
        newFindings,
        byKind: counts,
        oldestFirstSeen: findings.map((f) => f.firstSeen).sort()[0]!,
        findingKeys: findings.map((f) => f.key),
        repairsSent: repair?.sent ?? 0,
      });
      published = { ok: true };
    } catch (error) {
      // Recorded in the trail already: a bus that is away changes nothing else.
      published = { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }

  return {
    at: at.toISOString(),
    identityStoreId: settings.identityStoreId,
    action: settings.action,
    appliedFacts: expected.facts,
    groupsChecked: view.groups.length,
    usersChecked: view.users.size,
    findings,
    counts,
    newFindings,
    published,
    ...(repair && { repair }),
  };
}

export function countByKind(findings: DriftFinding[]): Record<DriftKind, number> {
  const counts = Object.fromEntries(DRIFT_KINDS.map((kind) => [kind, 0])) as Record<DriftKind, number>;
  for (const finding of findings) counts[finding.kind]++;
  return counts;
}

/** What differs, in words, naming the subject but no attribute values. */
export function describeFinding(finding: DriftFinding): string {
  const user = finding.userName ?? finding.userId ?? 'a user';
  const group = finding.groupDisplayName ?? finding.groupId ?? 'a group';
  switch (finding.kind) {
    case 'attribute-differs':
      return `${finding.path} of ${user} differs from what this service set`;
    case 'user-missing':
      return `user ${user} no longer exists`;
    case 'unexpected-member':
      return `${user} is in ${group}, which this service's last change of the membership did not leave`;
    case 'unexplained-member':
      return `${user} is in ${group}, and no change of this service put them there`;
    case 'member-missing':
      return `${user} is not in ${group}, where this service put them`;
    case 'description-differs':
      return `the description of ${group} differs from what this service set`;
    case 'group-missing':
      return `group ${group} no longer exists`;
  }
}

function driftRecord(finding: SeenFinding, at: Date, settings: DriftSettings, repairEventId?: string, notRepaired?: string): DriftRecord {
  const record: DriftRecord = {
    at: at.toISOString(),
    identityStoreId: settings.identityStoreId,
    findingKey: finding.key,
    drift: finding.kind,
    summary: describeFinding(finding),
    firstSeen: finding.firstSeen,
    userId: finding.userId,
    userName: finding.userName,
    groupId: finding.groupId,
    groupDisplayName: finding.groupDisplayName,
    membershipId: finding.membershipId,
    path: finding.path,
    expected: finding.expected,
    actual: finding.actual,
    eventId: finding.departsFrom?.eventId,
    occurredAt: finding.departsFrom?.occurredAt,
    driftAction: settings.action,
    repairEventId,
    notRepaired,
  };
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as unknown as DriftRecord;
}

function userNameOf(expected: ExpectedState, view: ManagedView, userId: string): string | undefined {
  const stored = view.users.get(userId);
  if (stored) return stored.attributes.UserName;
  const applied = expected.users.get(userId);
  return applied?.exists ? applied.attributes.UserName : undefined;
}

/** Users some fact says may belong to the group: a membership.added, or a group list that named it. */
function candidateMembers(expected: ExpectedState, groupId: string): string[] {
  const users = new Set<string>();
  for (const [key, pair] of expected.pairs) {
    const [userId, pairGroupId] = key.split('|');
    if (pair.member && pairGroupId === groupId) users.add(userId!);
  }
  for (const [userId, sets] of expected.membershipSets) if (sets.some((set) => set.groupIds.has(groupId))) users.add(userId);
  return [...users].sort();
}

function deletedAfter(expected: ExpectedState, groupId: string, from: AppliedRef): boolean {
  const deleted = expected.groupsDeleted.get(groupId);
  return deleted !== undefined && compareRefs(deleted, from) > 0;
}

function pairKey(userId: string, groupId: string): string {
  return `${userId}|${groupId}`;
}

/** Later occurredAt wins (stored as UTC ISO, so text order is time order); the event id breaks a tie. */
function compareRefs(a: AppliedRef, b: AppliedRef): number {
  if (a.occurredAt !== b.occurredAt) return a.occurredAt < b.occurredAt ? -1 : 1;
  return a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;
}

function keepLatest<T extends { from: AppliedRef } | AppliedRef>(map: Map<string, T>, key: string, value: T): void {
  const current = map.get(key);
  const refOf = (v: T): AppliedRef => ('from' in v ? v.from : v);
  if (current === undefined || compareRefs(refOf(value), refOf(current)) > 0) map.set(key, value);
}
