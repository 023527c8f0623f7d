/**
 * In-memory identity stores: users, groups and memberships with the uniqueness rules of the
 * real service (UserName and group DisplayName case-insensitive, ExternalId Issuer+Id,
 * one membership per group/user pair). Records are kept in their wire shape.
 */
import { conflict } from './errors';

export interface ExternalId {
  Issuer: string;
  Id: string;
}

export interface AuditStamps {
  CreatedAt: number;
  CreatedBy: string;
  UpdatedAt: number;
  UpdatedBy: string;
}

export interface UserRecord extends AuditStamps {
  UserId: string;
  /** CreateUser attributes in wire shape (UserName, Name, Emails, Extensions, UserStatus...). */
  attributes: Record<string, unknown>;
  ExternalIds?: ExternalId[];
}

export interface GroupRecord extends AuditStamps {
  GroupId: string;
  DisplayName: string;
  Description?: string;
  ExternalIds?: ExternalId[];
}

export interface MembershipRecord extends AuditStamps {
  MembershipId: string;
  GroupId: string;
  UserId: string;
}

const fold = (value: string) => value.toLowerCase();
const externalKey = (id: ExternalId) => `${id.Issuer}\u0000${id.Id}`;
const pairKey = (groupId: string, userId: string) => `${groupId}\u0000${userId}`;

/** One identity store's data and its uniqueness indexes. */
export class IdentityStoreData {
  readonly users = new Map<string, UserRecord>();
  readonly groups = new Map<string, GroupRecord>();
  readonly memberships = new Map<string, MembershipRecord>();
  private readonly userNames = new Map<string, string>();
  private readonly userExternalIds = new Map<string, string>();
  private readonly groupNames = new Map<string, string>();
  private readonly groupExternalIds = new Map<string, string>();
  private readonly pairs = new Map<string, string>();

  findUserIdByUserName(userName: string): string | undefined {
    return this.userNames.get(fold(userName));
  }

  findUserIdByExternalId(id: ExternalId): string | undefined {
    return this.userExternalIds.get(externalKey(id));
  }

  /** The oldest user with this email (emails are not unique in the service). */
  findUserIdByEmail(email: string): string | undefined {
    for (const user of this.users.values()) {
      const emails = user.attributes.Emails as { Value?: string }[] | undefined;
      if (emails?.some((e) => e.Value !== undefined && fold(e.Value) === fold(email))) return user.UserId;
    }
    return undefined;
  }

  findGroupIdByDisplayName(displayName: string): string | undefined {
    return this.groupNames.get(fold(displayName));
  }

  findGroupIdByExternalId(id: ExternalId): string | undefined {
    return this.groupExternalIds.get(externalKey(id));
  }

  findMembershipId(groupId: string, userId: string): string | undefined {
    return this.pairs.get(pairKey(groupId, userId));
  }

  /** Insert or replace a user, refusing any uniqueness clash with another user. */
  putUser(user: UserRecord): void {
    const userName = user.attributes.UserName as string;
    const holder = this.findUserIdByUserName(userName);
    if (holder !== undefined && holder !== user.UserId)
      throw conflict('UNIQUENESS_CONSTRAINT_VIOLATION', `Duplicate UserName: ${userName}`);
    for (const id of user.ExternalIds ?? []) {
      const owner = this.findUserIdByExternalId(id);
      if (owner !== undefined && owner !== user.UserId)
        throw conflict('UNIQUENESS_CONSTRAINT_VIOLATION', `Duplicate ExternalId: ${id.Issuer}/${id.Id}`);
    }
    this.unindexUser(user.UserId);
    this.users.set(user.UserId, user);
    this.userNames.set(fold(userName), user.UserId);
    for (const id of user.ExternalIds ?? []) this.userExternalIds.set(externalKey(id), user.UserId);
  }

  /** Remove a user and, as the service does, every membership of that user. Returns the removed membership ids. */
  deleteUser(userId: string): string[] {
    this.unindexUser(userId);
    this.users.delete(userId);
    return this.removeMemberships((m) => m.UserId === userId);
  }

  putGroup(group: GroupRecord): void {
    const holder = this.findGroupIdByDisplayName(group.DisplayName);
    if (holder !== undefined && holder !== group.GroupId)
      throw conflict('UNIQUENESS_CONSTRAINT_VIOLATION', `Duplicate GroupDisplayName: ${group.DisplayName}`);
    for (const id of group.ExternalIds ?? []) {
      const owner = this.findGroupIdByExternalId(id);
      if (owner !== undefined && owner !== group.GroupId)
        throw conflict('UNIQUENESS_CONSTRAINT_VIOLATION', `Duplicate ExternalId: ${id.Issuer}/${id.Id}`);
    }
    this.unindexGroup(group.GroupId);
    this.groups.set(group.GroupId, group);
    this.groupNames.set(fold(group.DisplayName), group.GroupId);
    for (const id of group.ExternalIds ?? []) this.groupExternalIds.set(externalKey(id), group.GroupId);
  }

  /** Remove a group and every membership in it. Returns the removed membership ids. */
  deleteGroup(groupId: string): string[] {
    this.unindexGroup(groupId);
    this.groups.delete(groupId);
    return this.removeMemberships((m) => m.GroupId === groupId);
  }

  addMembership(membership: MembershipRecord): void {
    if (this.findMembershipId(membership.GroupId, membership.UserId) !== undefined)
      throw conflict(
        'UNIQUENESS_CONSTRAINT_VIOLATION',
        `Member ${membership.UserId} is already in group ${membership.GroupId}`,
      );
    this.memberships.set(membership.MembershipId, membership);
    this.pairs.set(pairKey(membership.GroupId, membership.UserId), membership.MembershipId);
  }

  deleteMembership(membershipId: string): void {
    const membership = this.memberships.get(membershipId);
    if (!membership) return;
    this.memberships.delete(membershipId);
    this.pairs.delete(pairKey(membership.GroupId, membership.UserId));
  }

  membershipsOf(filter: (m: MembershipRecord) => boolean): MembershipRecord[] {
    return [...this.memberships.values()].filter(filter);
  }

  private removeMemberships(filter: (m: MembershipRecord) => boolean): string[] {
    const removed = this.membershipsOf(filter).map((m) => m.MembershipId);
    for (const id of removed) this.deleteMembership(id);
    return removed;
  }

  private unindexUser(userId: string): void {
    const existing = this.users.get(userId);
    if (!existing) return;
    this.userNames.delete(fold(existing.attributes.UserName as string));
    for (const id of existing.ExternalIds ?? []) this.userExternalIds.delete(externalKey(id));
  }

  private unindexGroup(groupId: string): void {
    const existing = this.groups.get(groupId);
    if (!existing) return;
    this.groupNames.delete(fold(existing.DisplayName));
    for (const id of existing.ExternalIds ?? []) this.groupExternalIds.delete(externalKey(id));
  }
}

/** The persisted form: plain records per identity store. */
export interface StoreSnapshot {
  version: 1;
  identityStores: Record<string, { users: UserRecord[]; groups: GroupRecord[]; memberships: MembershipRecord[] }>;
}

/** Every identity store the emulator knows; only `hosted` ones answer API calls. */
export class Store {
  private readonly data = new Map<string, IdentityStoreData>();

  constructor(readonly hosted: readonly string[]) {
    for (const id of hosted) this.data.set(id, new IdentityStoreData());
  }

  /** The data of a hosted identity store, or undefined when the emulator does not host it. */
  get(identityStoreId: string): IdentityStoreData | undefined {
    return this.hosted.includes(identityStoreId) ? this.data.get(identityStoreId) : undefined;
  }

  snapshot(): StoreSnapshot {
    const identityStores: StoreSnapshot['identityStores'] = {};
    for (const [id, store] of this.data) {
      identityStores[id] = {
        users: [...store.users.values()],
        groups: [...store.groups.values()],
        memberships: [...store.memberships.values()],
      };
    }
    return { version: 1, identityStores };
  }

  /** Load a snapshot, rebuilding the indexes (stores not hosted are kept so they survive a rewrite). */
  restore(snapshot: StoreSnapshot): void {
    for (const [id, saved] of Object.entries(snapshot.identityStores)) {
      const store = new IdentityStoreData();
      for (const user of saved.users) store.putUser(user);
      for (const group of saved.groups) store.putGroup(group);
      for (const membership of saved.memberships) store.addMembership(membership);
      this.data.set(id, store);
    }
  }
}
