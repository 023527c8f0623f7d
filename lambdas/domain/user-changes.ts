/** user.upserted and user.deleted. */
import type { ExternalId, UserAttributes, UserDeleted, UserUpserted } from './identity-change';
import { EventRejectedError, RetryableError } from './errors';
import { type ApplyResult, type EngineRun, outcomeOf } from './engine';
import { subjectKey } from './ordering';
import { AlreadyExistsError, NotFoundError, type StoredGroup, type StoredUser } from './ports';
import { advance, findGroup, groupNotFound, requireManaged, reserveDeletion, supersededBy } from './steps';
import { diffUser, toOperations } from './user-diff';
import { isInManagedScope } from './managed-scope';

export async function applyUserUpserted(change: UserUpserted, run: EngineRun): Promise<ApplyResult> {
  const { ExternalIds: externalIds = [], ...attributes } = change.data.user;
  const keys = [subjectKey.userName(attributes.UserName), ...externalIds.map(subjectKey.userExternalId)];
  if (change.data.groups) keys.push(subjectKey.membershipsOf(attributes.UserName));
  const superseded = await supersededBy(run, keys);
  if (superseded) return { ...superseded, userName: attributes.UserName };

  const { identityStore, state } = run.ports;
  let user = await findUser(run, { userName: attributes.UserName, externalIds });
  let previousUserName: string | undefined;
  let created = false;

  if (!user) {
    try {
      const { userId, receipt } = await identityStore.createUser(attributes);
      await run.writes.record(
        {
          action: 'CreateUser',
          userId,
          userName: attributes.UserName,
          changes: diffUser(attributes, {} as UserAttributes),
        },
        receipt,
      );
      user = { userId, attributes, externalIds: [] };
      created = true;
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error;
      // Someone created the same user name between our lookup and our create: converge on it.
      user = await findUser(run, { userName: attributes.UserName, externalIds: [] });
      if (!user) throw new RetryableError('USER_CREATE_RACE', 'the user name was taken and released concurrently');
    }
  }

  if (!created) {
    const changes = diffUser(attributes, user.attributes);
    if (changes.length > 0) {
      previousUserName = changes.some((c) => c.path === 'userName') ? user.attributes.UserName : undefined;
      try {
        const receipt = await identityStore.updateUser(user.userId, toOperations(changes));
        await run.writes.record({ action: 'UpdateUser', userId: user.userId, userName: attributes.UserName, changes }, receipt);
      } catch (error) {
        throw translateUserWriteError(error, 'update');
      }
    }
  }

  // Remember which person these ExternalIds name: CreateUser cannot store them in the Identity Store.
  for (const externalId of externalIds) await state.putUserIdForExternalId(externalId, user.userId);

  if (change.data.groups) await reconcileGroups(run, user.userId, attributes.UserName, change.data.groups);

  const watermarkKeys = [...keys];
  if (previousUserName) watermarkKeys.push(subjectKey.userName(previousUserName));
  await advance(run, watermarkKeys, 'upserted');
  return { outcome: outcomeOf(run), userId: user.userId, userName: attributes.UserName, writes: run.writes.count };
}

export async function applyUserDeleted(change: UserDeleted, run: EngineRun): Promise<ApplyResult> {
  const { userName, externalId } = change.data;
  const keys: string[] = [];
  if (userName) keys.push(subjectKey.userName(userName), subjectKey.membershipsOf(userName));
  if (externalId) keys.push(subjectKey.userExternalId(externalId));
  const superseded = await supersededBy(run, keys);
  if (superseded) return { ...superseded, userName };

  const user = await findUser(run, { userName, externalIds: externalId ? [externalId] : [] });
  if (!user) {
    await advance(run, keys, 'deleted');
    return { outcome: 'NOOP', reason: 'the user does not exist (already deleted)', userName, writes: 0 };
  }
  const resolvedName = user.attributes.UserName;
  await reserveDeletion(run, 'user');

  const { identityStore } = run.ports;
  for (const membership of await identityStore.listMembershipsForUser(user.userId)) {
    const group = await identityStore.describeGroup(membership.groupId);
    try {
      const receipt = await identityStore.deleteMembership(membership.membershipId);
      await run.writes.record(
        {
          action: 'DeleteGroupMembership',
          userId: user.userId,
          userName: resolvedName,
          groupId: membership.groupId,
          groupDisplayName: group?.displayName,
          membershipId: membership.membershipId,
        },
        receipt,
      );
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }
  try {
    const receipt = await identityStore.deleteUser(user.userId);
    await run.writes.record({ action: 'DeleteUser', userId: user.userId, userName: resolvedName }, receipt);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }

  const tombstones = [
    ...keys,
    subjectKey.userName(resolvedName),
    subjectKey.membershipsOf(resolvedName),
    ...user.externalIds.map(subjectKey.userExternalId),
  ];
  await advance(run, tombstones, 'deleted');
  return { outcome: outcomeOf(run), userId: user.userId, userName: resolvedName, writes: run.writes.count };
}

/**
 * Find the person: by ExternalId first (our own mapping, then the store's SCIM ExternalIds), so a
 * changed UserName is a rename and not a new person; else by UserName.
 */
async function findUser(
  run: EngineRun,
  by: { userName?: string; externalIds: ExternalId[] },
): Promise<StoredUser | undefined> {
  const { identityStore, state } = run.ports;
  for (const externalId of by.externalIds) {
    const userId = (await state.getUserIdForExternalId(externalId)) ?? (await identityStore.findUserIdByExternalId(externalId));
    if (!userId) continue;
    const user = await identityStore.describeUser(userId);
    if (user) return user;
  }
  if (by.userName === undefined) return undefined;
  const userId = await identityStore.findUserIdByUserName(by.userName);
  return userId ? identityStore.describeUser(userId) : undefined;
}

/** Make the user's managed memberships exactly `desired`; never touch unmanaged groups. */
async function reconcileGroups(run: EngineRun, userId: string, userName: string, desired: string[]): Promise<void> {
  const { identityStore, state } = run.ports;
  const desiredGroups = new Map<string, StoredGroup>();
  for (const displayName of new Set(desired)) {
    const group = await findGroup(run, displayName);
    if (!group) throw groupNotFound(displayName);
    await requireManaged(run, group, 'add a member to it');
    desiredGroups.set(group.groupId, group);
  }

  const current = await identityStore.listMembershipsForUser(userId);
  const currentGroupIds = new Set(current.map((m) => m.groupId));
  const toRemove: { membershipId: string; group: StoredGroup }[] = [];
  for (const membership of current) {
    if (desiredGroups.has(membership.groupId)) continue;
    const group = await identityStore.describeGroup(membership.groupId);
    if (!group) continue;
    const managed = await isInManagedScope(run.settings.managedGroupScope, group, state);
    if (managed) toRemove.push({ membershipId: membership.membershipId, group });
  }
  if (toRemove.length > run.settings.maxMembershipRemovalsPerEvent) {
    throw new EventRejectedError(
      'TOO_MANY_REMOVALS',
      `data.groups would remove ${toRemove.length} memberships at once, more than the configured maximum of ${run.settings.maxMembershipRemovalsPerEvent}; refusing (split the change or raise the limit)`,
    );
  }

  for (const group of desiredGroups.values()) {
    if (currentGroupIds.has(group.groupId)) continue;
    try {
      const { membershipId, receipt } = await identityStore.createMembership(group.groupId, userId);
      await run.writes.record(
        { action: 'CreateGroupMembership', userId, userName, groupId: group.groupId, groupDisplayName: group.displayName, membershipId },
        receipt,
      );
    } catch (error) {
      if (error instanceof AlreadyExistsError) continue;
      throw translateMembershipWriteError(error, group.displayName);
    }
  }
  for (const { membershipId, group } of toRemove) {
    try {
      const receipt = await identityStore.deleteMembership(membershipId);
      await run.writes.record(
        { action: 'DeleteGroupMembership', userId, userName, groupId: group.groupId, groupDisplayName: group.displayName, membershipId },
        receipt,
      );
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }
}

function translateUserWriteError(error: unknown, what: string): unknown {
  if (error instanceof AlreadyExistsError) {
    // Another user holds the new user name; a pending delete or rename may free it.
    return new RetryableError('USER_NAME_TAKEN', `cannot ${what} the user: the new user name belongs to another user`);
  }
  if (error instanceof NotFoundError) {
    return new RetryableError('STALE_REFERENCE', `the user disappeared during the ${what}; will look it up again`);
  }
  return error;
}

export function translateMembershipWriteError(error: unknown, groupDisplayName: string): unknown {
  if (error instanceof NotFoundError) {
    return new RetryableError(
      'STALE_REFERENCE',
      `the user or group "${groupDisplayName}" disappeared while adding the membership; will look them up again`,
    );
  }
  return error;
}
