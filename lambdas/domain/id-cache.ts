/**
 * A short-lived cache of looked-up ids (GetUserId/GetGroupId) for a warm process. It wraps an
 * IdentityStorePort, so the engine cannot tell it is there. Entries are dropped as soon as this
 * process learns they are wrong: on a delete, a rename, a describe that finds nothing, or a write
 * the store answers "not found" (the retry then looks the name up again instead of reusing the id).
 * A caller that doubts an answer asks again with `fresh`, which replaces the entry.
 */
import type { ExternalId } from './identity-change';
import { nameKey } from './names';
import { NotFoundError, type AttributeOperation, type Clock, type IdentityStorePort, type LookupOptions } from './ports';

export class IdCache {
  private readonly entries = new Map<string, { id: string; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  get(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.clock.now().getTime()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.id;
  }

  set(key: string, id: string): void {
    if (this.enabled) this.entries.set(key, { id, expiresAt: this.clock.now().getTime() + this.ttlMs });
  }

  forgetId(id: string): void {
    for (const [key, entry] of this.entries) if (entry.id === id) this.entries.delete(key);
  }

  forgetKey(key: string): void {
    this.entries.delete(key);
  }
}

/**
 * User names and group display names are keyed folded (nameKey), as the store compares them: a
 * lookup of `engineering` is answered by the entry `Engineering` filled, and a delete or rename
 * drops the one entry whatever case it was looked up in. ExternalIds are exact, as the store
 * matches them; their parts are length-prefixed so no Issuer/Id split can stand for another.
 */
const keys = {
  userName: (store: string, userName: string) => `${store}|user|${nameKey(userName)}`,
  externalId: (store: string, e: ExternalId) => `${store}|ext|${e.Issuer.length}:${e.Issuer}|${e.Id}`,
  group: (store: string, displayName: string) => `${store}|group|${nameKey(displayName)}`,
};

export function withCachedLookups(port: IdentityStorePort, cache: IdCache, identityStoreId: string): IdentityStorePort {
  if (!cache.enabled) return port;
  const cached = async (key: string, lookup: () => Promise<string | undefined>, options?: LookupOptions) => {
    const hit = options?.fresh ? undefined : cache.get(key);
    if (hit) return hit;
    const id = await lookup();
    if (id) cache.set(key, id);
    else cache.forgetKey(key);
    return id;
  };
  const forgetWhenGone = async <T>(ids: string[], write: () => Promise<T>): Promise<T> => {
    try {
      return await write();
    } catch (error) {
      if (error instanceof NotFoundError) for (const id of ids) cache.forgetId(id);
      throw error;
    }
  };
  return {
    ...bindAll(port),
    findUserIdByUserName: (userName, options) =>
      cached(keys.userName(identityStoreId, userName), () => port.findUserIdByUserName(userName), options),
    findUserIdByExternalId: (e) => cached(keys.externalId(identityStoreId, e), () => port.findUserIdByExternalId(e)),
    findGroupIdByDisplayName: (name, options) =>
      cached(keys.group(identityStoreId, name), () => port.findGroupIdByDisplayName(name), options),
    describeUser: async (userId) => {
      const user = await port.describeUser(userId);
      if (!user) cache.forgetId(userId);
      return user;
    },
    describeGroup: async (groupId) => {
      const group = await port.describeGroup(groupId);
      if (!group) cache.forgetId(groupId);
      return group;
    },
    createUser: async (attributes) => {
      const created = await port.createUser(attributes);
      cache.set(keys.userName(identityStoreId, attributes.UserName), created.userId);
      return created;
    },
    updateUser: async (userId: string, operations: AttributeOperation[]) => {
      // A rename makes the old name's entry wrong.
      if (operations.some((op) => op.attributePath === 'userName')) cache.forgetId(userId);
      return forgetWhenGone([userId], () => port.updateUser(userId, operations));
    },
    deleteUser: async (userId) => {
      cache.forgetId(userId);
      return port.deleteUser(userId);
    },
    createGroup: async (group) => {
      const created = await port.createGroup(group);
      cache.set(keys.group(identityStoreId, group.displayName), created.groupId);
      return created;
    },
    deleteGroup: async (groupId) => {
      cache.forgetId(groupId);
      return port.deleteGroup(groupId);
    },
    updateGroup: (groupId, operations) => forgetWhenGone([groupId], () => port.updateGroup(groupId, operations)),
    createMembership: (groupId, userId) => forgetWhenGone([groupId, userId], () => port.createMembership(groupId, userId)),
  };
}

function bindAll(port: IdentityStorePort): IdentityStorePort {
  return {
    findUserIdByUserName: port.findUserIdByUserName.bind(port),
    findUserIdByExternalId: port.findUserIdByExternalId.bind(port),
    describeUser: port.describeUser.bind(port),
    createUser: port.createUser.bind(port),
    updateUser: port.updateUser.bind(port),
    deleteUser: port.deleteUser.bind(port),
    findGroupIdByDisplayName: port.findGroupIdByDisplayName.bind(port),
    describeGroup: port.describeGroup.bind(port),
    createGroup: port.createGroup.bind(port),
    updateGroup: port.updateGroup.bind(port),
    deleteGroup: port.deleteGroup.bind(port),
    listMembershipsForUser: port.listMembershipsForUser.bind(port),
    listGroups: port.listGroups.bind(port),
    listMembershipsInGroup: port.listMembershipsInGroup.bind(port),
    findMembershipId: port.findMembershipId.bind(port),
    createMembership: port.createMembership.bind(port),
    deleteMembership: port.deleteMembership.bind(port),
  };
}
