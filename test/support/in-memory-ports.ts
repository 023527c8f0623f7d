/**
 * In-memory ports for the engine's unit tests. The Identity Store fake keeps the API's rules that
 * the engine relies on (unique user names case-insensitively, unique group names and membership
 * pairs, not-found on missing targets, memberships removed with their user or group) and counts
 * every call, so tests can assert on needless writes.
 */
import { randomUUID } from 'node:crypto';
import type { ExternalId, UserAttributes } from '../../lambdas/domain/identity-change';
import {
  AlreadyExistsError,
  NotFoundError,
  type AppliedMark,
  type AppliedViewPort,
  type AttributeOperation,
  type AuditLogPort,
  type CallReceipt,
  type Clock,
  type IdentityStorePort,
  type LeaseResult,
  type Membership,
  type OutcomeRecord,
  type ProcessingStatePort,
  type StoredGroup,
  type StoredUser,
  type Watermark,
  type IntentRecord,
  type WriteRecord,
} from '../../lambdas/domain/ports';

const receipt = (): CallReceipt => ({ requestId: randomUUID(), attempts: 1, waitedMs: 0 });
const PATH_TO_ATTRIBUTE: Record<string, keyof UserAttributes> = {
  userName: 'UserName', displayName: 'DisplayName', nickName: 'NickName', profileUrl: 'ProfileUrl',
  emails: 'Emails', addresses: 'Addresses', phoneNumbers: 'PhoneNumbers', userType: 'UserType',
  title: 'Title', preferredLanguage: 'PreferredLanguage', locale: 'Locale', timezone: 'Timezone',
  photos: 'Photos', website: 'Website', birthdate: 'Birthdate',
};

export class InMemoryIdentityStore implements IdentityStorePort {
  readonly users = new Map<string, StoredUser>();
  readonly groups = new Map<string, StoredGroup>();
  readonly memberships = new Map<string, Membership>();
  readonly calls: string[] = [];

  get writeCalls(): string[] {
    return this.calls.filter((c) => /^(Create|Update|Delete)/.test(c));
  }

  /** A user that arrived through SCIM, carrying ExternalIds the API cannot set. */
  seedUser(attributes: UserAttributes, externalIds: ExternalId[] = []): string {
    const userId = randomUUID();
    this.users.set(userId, { userId, attributes: structuredClone(attributes), externalIds });
    return userId;
  }

  seedGroup(displayName: string, description?: string): string {
    const groupId = randomUUID();
    this.groups.set(groupId, { groupId, displayName, description });
    return groupId;
  }

  async findUserIdByUserName(userName: string) {
    this.calls.push('GetUserId');
    return [...this.users.values()].find((u) => u.attributes.UserName.toLowerCase() === userName.toLowerCase())?.userId;
  }
  async findUserIdByExternalId(externalId: ExternalId) {
    this.calls.push('GetUserId');
    return [...this.users.values()].find((u) =>
      u.externalIds.some((e) => e.Issuer === externalId.Issuer && e.Id === externalId.Id),
    )?.userId;
  }
  async describeUser(userId: string) {
    this.calls.push('DescribeUser');
    const user = this.users.get(userId);
    return user && structuredClone(user);
  }
  async createUser(attributes: UserAttributes) {
    this.calls.push('CreateUser');
    if (await this.taken(attributes.UserName)) throw new AlreadyExistsError('UserName taken');
    const userId = randomUUID();
    this.users.set(userId, { userId, attributes: structuredClone(attributes), externalIds: [] });
    return { userId, receipt: receipt() };
  }
  async updateUser(userId: string, operations: AttributeOperation[]) {
    this.calls.push('UpdateUser');
    const user = this.users.get(userId);
    if (!user) throw new NotFoundError('no such user', 'USER');
    for (const { attributePath, attributeValue } of operations) {
      if (attributePath === 'userName' && typeof attributeValue === 'string') {
        const holder = [...this.users.values()].find((u) => u.attributes.UserName.toLowerCase() === attributeValue.toLowerCase());
        if (holder && holder.userId !== userId) throw new AlreadyExistsError('UserName taken');
      }
      const attrs = user.attributes as Record<string, unknown>;
      if (attributePath.startsWith('name.')) {
        const part = attributePath.slice(5);
        const name = (attrs.Name ?? {}) as Record<string, unknown>;
        name[part.charAt(0).toUpperCase() + part.slice(1)] = attributeValue;
        attrs.Name = name;
      } else if (attributePath.startsWith('aws:identitystore:')) {
        attrs.Extensions = { ...(attrs.Extensions as object), [attributePath]: attributeValue };
      } else {
        attrs[PATH_TO_ATTRIBUTE[attributePath]] = attributeValue;
      }
    }
    return receipt();
  }
  async deleteUser(userId: string) {
    this.calls.push('DeleteUser');
    if (!this.users.delete(userId)) throw new NotFoundError('no such user', 'USER');
    for (const [id, m] of this.memberships) if (m.userId === userId) this.memberships.delete(id);
    return receipt();
  }
  async findGroupIdByDisplayName(displayName: string) {
    this.calls.push('GetGroupId');
    return [...this.groups.values()].find((g) => g.displayName === displayName)?.groupId;
  }
  async describeGroup(groupId: string) {
    this.calls.push('DescribeGroup');
    const group = this.groups.get(groupId);
    return group && { ...group };
  }
  async createGroup(group: { displayName: string; description?: string }) {
    this.calls.push('CreateGroup');
    if ([...this.groups.values()].some((g) => g.displayName === group.displayName)) throw new AlreadyExistsError('taken');
    const groupId = randomUUID();
    this.groups.set(groupId, { groupId, ...group });
    return { groupId, receipt: receipt() };
  }
  async updateGroup(groupId: string, operations: AttributeOperation[]) {
    this.calls.push('UpdateGroup');
    const group = this.groups.get(groupId);
    if (!group) throw new NotFoundError('no such group', 'GROUP');
    for (const op of operations) if (op.attributePath === 'description') group.description = op.attributeValue as string;
    return receipt();
  }
  async deleteGroup(groupId: string) {
    this.calls.push('DeleteGroup');
    if (!this.groups.delete(groupId)) throw new NotFoundError('no such group', 'GROUP');
    for (const [id, m] of this.memberships) if (m.groupId === groupId) this.memberships.delete(id);
    return receipt();
  }
  async listMembershipsForUser(userId: string) {
    this.calls.push('ListGroupMembershipsForMember');
    return [...this.memberships.values()].filter((m) => m.userId === userId);
  }
  async listGroups() {
    this.calls.push('ListGroups');
    return [...this.groups.values()].map((group) => ({ ...group }));
  }
  async listMembershipsInGroup(groupId: string) {
    this.calls.push('ListGroupMemberships');
    return [...this.memberships.values()].filter((m) => m.groupId === groupId);
  }
  async findMembershipId(groupId: string, userId: string) {
    this.calls.push('GetGroupMembershipId');
    return [...this.memberships.values()].find((m) => m.groupId === groupId && m.userId === userId)?.membershipId;
  }
  async createMembership(groupId: string, userId: string) {
    this.calls.push('CreateGroupMembership');
    if (!this.groups.has(groupId)) throw new NotFoundError('no such group', 'GROUP');
    if (!this.users.has(userId)) throw new NotFoundError('no such user', 'USER');
    if ((await this.findMembershipId(groupId, userId)) !== undefined) throw new AlreadyExistsError('member already');
    const membershipId = randomUUID();
    this.memberships.set(membershipId, { membershipId, groupId, userId });
    return { membershipId, receipt: receipt() };
  }
  async deleteMembership(membershipId: string) {
    this.calls.push('DeleteGroupMembership');
    if (!this.memberships.delete(membershipId)) throw new NotFoundError('no such membership', 'GROUP_MEMBERSHIP');
    return receipt();
  }

  /** userName -> sorted group names, for whole-state assertions. */
  snapshot(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const user of this.users.values()) {
      out[user.attributes.UserName] = [...this.memberships.values()]
        .filter((m) => m.userId === user.userId)
        .map((m) => this.groups.get(m.groupId)!.displayName)
        .sort();
    }
    return out;
  }

  private async taken(userName: string) {
    return [...this.users.values()].some((u) => u.attributes.UserName.toLowerCase() === userName.toLowerCase());
  }
}

export class InMemoryProcessingState implements ProcessingStatePort, AppliedViewPort {
  readonly watermarks = new Map<string, Watermark>();
  readonly managed = new Map<string, string>();
  readonly externalIds = new Map<string, string>();
  readonly creationIntents = new Set<string>();
  async recordGroupCreationIntent(displayName: string) {
    this.creationIntents.add(displayName.toLowerCase());
  }
  async hasGroupCreationIntent(displayName: string) {
    return this.creationIntents.has(displayName.toLowerCase());
  }
  async clearGroupCreationIntent(displayName: string) {
    this.creationIntents.delete(displayName.toLowerCase());
  }
  readonly deletionWindows = new Map<number, Set<string>>();

  async getWatermarks(keys: string[]) {
    return new Map(keys.flatMap((k) => (this.watermarks.has(k) ? [[k, this.watermarks.get(k)!] as const] : [])));
  }
  async advanceWatermarks(keys: string[], mark: Watermark) {
    for (const key of keys) {
      const current = this.watermarks.get(key);
      if (!current || current.occurredAt < mark.occurredAt) this.watermarks.set(key, mark);
    }
  }
  async isManagedGroup(groupId: string) {
    return this.managed.has(groupId);
  }
  async markManagedGroup(groupId: string, displayName: string) {
    this.managed.set(groupId, displayName);
  }
  async getUserIdForExternalId(externalId: ExternalId) {
    return this.externalIds.get(`${externalId.Issuer}|${externalId.Id}`);
  }
  async putUserIdForExternalId(externalId: ExternalId, userId: string) {
    this.externalIds.set(`${externalId.Issuer}|${externalId.Id}`, userId);
  }
  readonly leases = new Map<string, { owner: string; expiresAtMs: number }>();

  async tryLeaseSubjects(keys: string[], owner: string, now: Date, until: Date): Promise<LeaseResult> {
    const held = keys
      .map((key) => this.leases.get(key))
      .find((lease) => lease && lease.owner !== owner && lease.expiresAtMs >= now.getTime());
    if (held) return { leased: false, heldUntil: new Date(held.expiresAtMs) };
    for (const key of keys) this.leases.set(key, { owner, expiresAtMs: until.getTime() });
    return { leased: true };
  }
  async releaseSubjects(keys: string[], owner: string) {
    for (const key of keys) if (this.leases.get(key)?.owner === owner) this.leases.delete(key);
  }
  async tryReserveDeletion(now: Date, windowSeconds: number, cap: number, token: string) {
    const window = Math.floor(now.getTime() / 1000 / windowSeconds);
    const tokens = this.deletionWindows.get(window) ?? new Set<string>();
    this.deletionWindows.set(window, tokens);
    if (tokens.has(token)) return true;
    if (tokens.size >= cap) return false;
    tokens.add(token);
    return true;
  }
  async reservedDeletions(now: Date, windowSeconds: number) {
    return [...(this.deletionWindows.get(Math.floor(now.getTime() / 1000 / windowSeconds)) ?? [])];
  }
  /** The applied facts on the watermarks, as the DynamoDB adapter's scan returns them. */
  async listApplied(): Promise<AppliedMark[]> {
    return [...this.watermarks.values()].flatMap((mark) =>
      mark.applied ? [{ occurredAt: mark.occurredAt, eventId: mark.eventId, applied: mark.applied }] : [],
    );
  }
}

export class InMemoryAuditLog implements AuditLogPort {
  readonly intents: IntentRecord[] = [];
  readonly writes: WriteRecord[] = [];
  readonly outcomes: OutcomeRecord[] = [];
  failNext = 0;
  /** Fails only the next WRITE records (the write itself was made): a record lost after the fact. */
  failNextWriteRecord = 0;

  async recordIntent(record: IntentRecord) {
    this.maybeFail();
    this.intents.push(record);
  }

  async recordWrite(record: WriteRecord) {
    this.maybeFail();
    if (this.failNextWriteRecord > 0) {
      this.failNextWriteRecord--;
      throw new Error('audit store unavailable');
    }
    this.writes.push(record);
  }
  async recordOutcome(record: OutcomeRecord) {
    this.maybeFail();
    this.outcomes.push(record);
  }
  private maybeFail() {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('audit store unavailable');
    }
  }
}

export class FixedClock implements Clock {
  constructor(public current = new Date('2026-11-22T10:00:00.000Z')) {}
  now() {
    return new Date(this.current);
  }
  advance(ms: number) {
    this.current = new Date(this.current.getTime() + ms);
  }
}
