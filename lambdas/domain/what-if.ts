/**
 * What-if ports: the engine runs exactly as it does in the function, reading the live Identity
 * Store and the live state table, but every write lands in an overlay held in memory and nothing
 * reaches the store, the state table or the audit trail. Later reads see the overlay, so a plan of
 * many events sees its own earlier writes (a joiner's user exists for its membership), as the
 * apply will. The audit port keeps the intent and write records: they are the plan.
 *
 * The overlay keeps the store's rules the engine relies on: user and group names unique as the
 * store compares them (nameKey), one membership per pair, not-found for a missing target, and a
 * user's or group's memberships gone with it.
 */
import { nameKey } from './names';
import {
  AlreadyExistsError,
  NotFoundError,
  type AttributeOperation,
  type AuditLogPort,
  type CallReceipt,
  type IdentityStorePort,
  type IntentRecord,
  type LeaseResult,
  type LookupOptions,
  type Membership,
  type OutcomeRecord,
  type ProcessingStatePort,
  type StoredGroup,
  type StoredUser,
  type Watermark,
  type WriteRecord,
} from './ports';
import type { ExternalId, UserAttributes } from './identity-change';
import { applyOperations } from './user-diff';

/** Ids of what a plan would create start with this: they never reach the live store. */
export const PLANNED_ID_PREFIX = 'planned-';

/** A planned write made no call: no request id, no attempts, no wait. */
const PLANNED: CallReceipt = { attempts: 0, waitedMs: 0 };

const isPlanned = (id: string) => id.startsWith(PLANNED_ID_PREFIX);

export interface WhatIfPorts {
  identityStore: WhatIfIdentityStore;
  state: WhatIfState;
  audit: RecordingAudit;
}

/** The three ports a plan runs the engine with, over the live store and state (read only). */
export function whatIf(live: { identityStore: IdentityStorePort; state: ProcessingStatePort }): WhatIfPorts {
  return { identityStore: new WhatIfIdentityStore(live.identityStore), state: new WhatIfState(live.state), audit: new RecordingAudit() };
}

export class WhatIfIdentityStore implements IdentityStorePort {
  /** What the plan knows of a user or group: its planned state, or null when the plan deleted it. */
  private readonly users = new Map<string, StoredUser | null>();
  private readonly groups = new Map<string, StoredGroup | null>();
  private readonly addedMemberships = new Map<string, Membership>();
  private readonly removedMemberships = new Set<string>();
  private created = 0;

  constructor(private readonly live: IdentityStorePort) {}

  async findUserIdByUserName(userName: string, options?: LookupOptions): Promise<string | undefined> {
    const key = nameKey(userName);
    for (const [userId, user] of this.users) if (user && nameKey(user.attributes.UserName) === key) return userId;
    const userId = await this.live.findUserIdByUserName(userName, options);
    // Known to the plan and not found above: renamed away from this name, or deleted.
    return userId !== undefined && this.users.has(userId) ? undefined : userId;
  }

  async findUserIdByExternalId(externalId: ExternalId): Promise<string | undefined> {
    const userId = await this.live.findUserIdByExternalId(externalId);
    return userId !== undefined && this.users.get(userId) === null ? undefined : userId;
  }

  async describeUser(userId: string): Promise<StoredUser | undefined> {
    if (!this.users.has(userId)) {
      if (isPlanned(userId)) return undefined;
      this.users.set(userId, (await this.live.describeUser(userId)) ?? null);
    }
    const user = this.users.get(userId);
    return user ? structuredClone(user) : undefined;
  }

  async createUser(attributes: UserAttributes): Promise<{ userId: string; receipt: CallReceipt }> {
    if ((await this.findUserIdByUserName(attributes.UserName)) !== undefined) throw new AlreadyExistsError('UserName is already taken');
    const userId = `${PLANNED_ID_PREFIX}user-${++this.created}`;
    this.users.set(userId, { userId, attributes: structuredClone(attributes), externalIds: [] });
    return { userId, receipt: PLANNED };
  }

  async updateUser(userId: string, operations: AttributeOperation[]): Promise<CallReceipt> {
    const user = await this.describeUser(userId);
    if (!user) throw new NotFoundError('the user does not exist', 'USER');
    const rename = operations.find((operation) => operation.attributePath === 'userName');
    if (typeof rename?.attributeValue === 'string') {
      const holder = await this.findUserIdByUserName(rename.attributeValue);
      if (holder !== undefined && holder !== userId) throw new AlreadyExistsError('UserName is already taken');
    }
    this.users.set(userId, { ...user, attributes: applyOperations(user.attributes, operations) });
    return PLANNED;
  }

  async deleteUser(userId: string): Promise<CallReceipt> {
    if (!(await this.describeUser(userId))) throw new NotFoundError('the user does not exist', 'USER');
    this.users.set(userId, null);
    return PLANNED;
  }

  async findGroupIdByDisplayName(displayName: string, options?: LookupOptions): Promise<string | undefined> {
    const key = nameKey(displayName);
    for (const [groupId, group] of this.groups) if (group && nameKey(group.displayName) === key) return groupId;
    const groupId = await this.live.findGroupIdByDisplayName(displayName, options);
    return groupId !== undefined && this.groups.has(groupId) ? undefined : groupId;
  }

  async describeGroup(groupId: string): Promise<StoredGroup | undefined> {
    if (!this.groups.has(groupId)) {
      if (isPlanned(groupId)) return undefined;
      this.groups.set(groupId, (await this.live.describeGroup(groupId)) ?? null);
    }
    const group = this.groups.get(groupId);
    return group ? { ...group } : undefined;
  }

  async createGroup(group: { displayName: string; description?: string }): Promise<{ groupId: string; receipt: CallReceipt }> {
    if ((await this.findGroupIdByDisplayName(group.displayName)) !== undefined) throw new AlreadyExistsError('DisplayName is already taken');
    const groupId = `${PLANNED_ID_PREFIX}group-${++this.created}`;
    this.groups.set(groupId, { groupId, displayName: group.displayName, ...(group.description !== undefined && { description: group.description }) });
    return { groupId, receipt: PLANNED };
  }

  async updateGroup(groupId: string, operations: AttributeOperation[]): Promise<CallReceipt> {
    const group = await this.describeGroup(groupId);
    if (!group) throw new NotFoundError('the group does not exist', 'GROUP');
    for (const { attributePath, attributeValue } of operations) {
      if (attributePath === 'description') group.description = attributeValue as string | undefined;
      if (attributePath === 'displayName') group.displayName = attributeValue as string;
    }
    this.groups.set(groupId, group);
    return PLANNED;
  }

  async deleteGroup(groupId: string): Promise<CallReceipt> {
    if (!(await this.describeGroup(groupId))) throw new NotFoundError('the group does not exist', 'GROUP');
    this.groups.set(groupId, null);
    return PLANNED;
  }

  async listGroups(): Promise<StoredGroup[]> {
    const listed = new Map((await this.live.listGroups()).map((group) => [group.groupId, group]));
    for (const [groupId, group] of this.groups) {
      if (group) listed.set(groupId, { ...group });
      else listed.delete(groupId);
    }
    return [...listed.values()];
  }

  async listMembershipsForUser(userId: string): Promise<Membership[]> {
    const live = isPlanned(userId) ? [] : await this.live.listMembershipsForUser(userId);
    return this.current([...live, ...[...this.addedMemberships.values()].filter((m) => m.userId === userId)]);
  }

  async listMembershipsInGroup(groupId: string): Promise<Membership[]> {
    const live = isPlanned(groupId) ? [] : await this.live.listMembershipsInGroup(groupId);
    return this.current([...live, ...[...this.addedMemberships.values()].filter((m) => m.groupId === groupId)]);
  }

  async findMembershipId(groupId: string, userId: string): Promise<string | undefined> {
    for (const membership of this.addedMemberships.values()) {
      if (membership.groupId === groupId && membership.userId === userId) return membership.membershipId;
    }
    if (isPlanned(groupId) || isPlanned(userId)) return undefined;
    const membershipId = await this.live.findMembershipId(groupId, userId);
    if (membershipId === undefined) return undefined;
    return this.current([{ membershipId, groupId, userId }]).length > 0 ? membershipId : undefined;
  }

  async createMembership(groupId: string, userId: string): Promise<{ membershipId: string; receipt: CallReceipt }> {
    if (!(await this.describeGroup(groupId))) throw new NotFoundError('the group does not exist', 'GROUP');
    if (!(await this.describeUser(userId))) throw new NotFoundError('the user does not exist', 'USER');
    if ((await this.findMembershipId(groupId, userId)) !== undefined) throw new AlreadyExistsError('the user is already a member');
    const membershipId = `${PLANNED_ID_PREFIX}membership-${++this.created}`;
    this.addedMemberships.set(membershipId, { membershipId, groupId, userId });
    return { membershipId, receipt: PLANNED };
  }

  async deleteMembership(membershipId: string): Promise<CallReceipt> {
    if (this.addedMemberships.delete(membershipId)) return PLANNED;
    // Ids come from listings of the live store; one the plan already removed is gone.
    if (this.removedMemberships.has(membershipId)) throw new NotFoundError('the membership does not exist', 'GROUP_MEMBERSHIP');
    this.removedMemberships.add(membershipId);
    return PLANNED;
  }

  /** Memberships as the plan leaves them: not removed, and their user and group not deleted. */
  private current(memberships: Membership[]): Membership[] {
    return memberships.filter(
      (m) => !this.removedMemberships.has(m.membershipId) && this.users.get(m.userId) !== null && this.groups.get(m.groupId) !== null,
    );
  }
}

/** The state table, read live, with the plan's own marks, intents and reservations on top. */
export class WhatIfState implements ProcessingStatePort {
  private readonly watermarks = new Map<string, Watermark>();
  private readonly managed = new Set<string>();
  private readonly creationIntents = new Map<string, boolean>();
  private readonly externalIds = new Map<string, string>();
  private readonly deletions = new Map<string, Set<string>>();

  constructor(private readonly live: ProcessingStatePort) {}

  async getWatermarks(keys: string[]): Promise<Map<string, Watermark>> {
    const unknown = keys.filter((key) => !this.watermarks.has(key));
    const found = unknown.length > 0 ? await this.live.getWatermarks(unknown) : new Map<string, Watermark>();
    for (const key of keys) {
      const planned = this.watermarks.get(key);
      if (planned) found.set(key, planned);
    }
    return found;
  }

  async advanceWatermarks(keys: string[], mark: Watermark): Promise<void> {
    const current = await this.getWatermarks(keys);
    for (const key of keys) {
      const existing = current.get(key);
      if (!existing || existing.occurredAt < mark.occurredAt) this.watermarks.set(key, mark);
    }
  }

  async isManagedGroup(groupId: string): Promise<boolean> {
    if (this.managed.has(groupId)) return true;
    return isPlanned(groupId) ? false : this.live.isManagedGroup(groupId);
  }

  async markManagedGroup(groupId: string): Promise<void> {
    this.managed.add(groupId);
  }

  async recordGroupCreationIntent(displayName: string): Promise<void> {
    this.creationIntents.set(nameKey(displayName), true);
  }

  async hasGroupCreationIntent(displayName: string): Promise<boolean> {
    return this.creationIntents.get(nameKey(displayName)) ?? this.live.hasGroupCreationIntent(displayName);
  }

  async clearGroupCreationIntent(displayName: string): Promise<void> {
    this.creationIntents.set(nameKey(displayName), false);
  }

  async getUserIdForExternalId(externalId: ExternalId): Promise<string | undefined> {
    return this.externalIds.get(externalIdKey(externalId)) ?? this.live.getUserIdForExternalId(externalId);
  }

  async putUserIdForExternalId(externalId: ExternalId, userId: string): Promise<void> {
    this.externalIds.set(externalIdKey(externalId), userId);
  }

  /** The live window's reservations count: a plan says when a deletion would be held back by the cap. */
  async tryReserveDeletion(now: Date, windowSeconds: number, cap: number, token: string): Promise<boolean> {
    const tokens = new Set(await this.reservedDeletions(now, windowSeconds));
    if (tokens.has(token)) return true;
    if (tokens.size >= cap) return false;
    const window = windowOf(now, windowSeconds);
    this.deletions.set(window, new Set([...(this.deletions.get(window) ?? []), token]));
    return true;
  }

  async reservedDeletions(now: Date, windowSeconds: number): Promise<string[]> {
    const live = await this.live.reservedDeletions(now, windowSeconds);
    return [...new Set([...live, ...(this.deletions.get(windowOf(now, windowSeconds)) ?? [])])];
  }

  /** A plan runs one event at a time and holds nothing: every lease is granted, none is taken. */
  async tryLeaseSubjects(): Promise<LeaseResult> {
    return { leased: true };
  }

  async releaseSubjects(): Promise<void> {}
}

/** Keeps what the engine would have recorded: the intents and writes are the plan. */
export class RecordingAudit implements AuditLogPort {
  readonly intents: IntentRecord[] = [];
  readonly writes: WriteRecord[] = [];
  readonly outcomes: OutcomeRecord[] = [];

  async recordIntent(record: IntentRecord): Promise<void> {
    this.intents.push(record);
  }

  async recordWrite(record: WriteRecord): Promise<void> {
    this.writes.push(record);
  }

  async recordOutcome(record: OutcomeRecord): Promise<void> {
    this.outcomes.push(record);
  }

  /** The writes one event's attempt would make, in order. */
  writesOf(eventId: string, attempt: number): WriteRecord[] {
    return this.writes.filter((write) => write.eventId === eventId && write.attempt === attempt);
  }
}

function externalIdKey({ Issuer, Id }: ExternalId): string {
  return JSON.stringify([Issuer, Id]);
}

function windowOf(now: Date, windowSeconds: number): string {
  return String(Math.floor(now.getTime() / 1000 / windowSeconds));
}
