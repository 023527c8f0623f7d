/** membership.added and membership.removed. */
import type { MembershipChange } from './identity-change';
import { RetryableError } from './errors';
import { type ApplyResult, type EngineRun, outcomeOf } from './engine-run';
import { subjectKey } from './ordering';
import { AlreadyExistsError, NotFoundError } from './ports';
import { advance, findGroupRef, groupNotFound, requireManaged, staleOrGone, supersededBy } from './steps';
import { translateMembershipWriteError } from './user-changes';

const DELETED = new Set(['deleted']);

export async function applyMembershipChange(change: MembershipChange, run: EngineRun): Promise<ApplyResult> {
  const { userName, groupDisplayName } = change.data;
  const adding = change.type === 'membership.added';
  const pairKey = subjectKey.membership(userName, groupDisplayName);
  // A later change to this pair, a later full reconcile of the user's groups, or a later deletion
  // of the user or the group all make this change too late.
  const userKey = subjectKey.userName(userName);
  const groupKey = subjectKey.group(groupDisplayName);
  const superseded = await supersededBy(
    run,
    [pairKey, subjectKey.membershipsOf(userName), userKey, groupKey],
    new Map([
      [userKey, DELETED],
      [groupKey, DELETED],
    ]),
  );
  const names = { userName, groupDisplayName };
  if (superseded) return { ...superseded, ...names };

  const { identityStore } = run.ports;
  const userId = await identityStore.findUserIdByUserName(userName);
  if (!userId) {
    if (!adding) return finish(run, pairKey, { outcome: 'NOOP', reason: 'the user does not exist', ...names, writes: 0 });
    throw new RetryableError('USER_NOT_FOUND', 'the user does not exist yet (the event creating it may still be in flight)');
  }
  const group = await findGroupRef(run, groupDisplayName);
  if (!group) {
    if (!adding) return finish(run, pairKey, { outcome: 'NOOP', reason: 'the group does not exist', userId, ...names, writes: 0 });
    throw groupNotFound(groupDisplayName);
  }
  await requireManaged(run, group, adding ? 'add a member to it' : 'remove a member from it');

  const record = { userId, userName, groupId: group.groupId, groupDisplayName: group.displayName };
  if (adding) {
    // No lookup first: the store refuses a second membership of the same pair, and that is our NOOP.
    try {
      const created = await identityStore.createMembership(group.groupId, userId);
      await run.writes.record({ action: 'CreateGroupMembership', ...record, membershipId: created.membershipId }, created.receipt);
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw translateMembershipWriteError(error, group.displayName);
    }
  }
  const membershipId = adding ? undefined : await identityStore.findMembershipId(group.groupId, userId);
  if (!adding && !membershipId) {
    // Before concluding there is nothing to remove, make sure the ids (perhaps from a warm cache)
    // still name this user and group, not incarnations deleted since.
    await staleOrGone(await identityStore.findUserIdByUserName(userName, { fresh: true }), userId, 'user');
    await staleOrGone(await identityStore.findGroupIdByDisplayName(groupDisplayName, { fresh: true }), group.groupId, 'group');
  }
  if (membershipId) {
    try {
      const receipt = await identityStore.deleteMembership(membershipId);
      await run.writes.record({ action: 'DeleteGroupMembership', ...record, membershipId }, receipt);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }
  return finish(run, pairKey, { outcome: outcomeOf(run), ...record, writes: run.writes.count }, adding);
}

async function finish(run: EngineRun, pairKey: string, result: ApplyResult, member?: boolean): Promise<ApplyResult> {
  const { userId, groupId } = result;
  const applied = member !== undefined && userId && groupId ? { kind: 'membership' as const, userId, groupId, member } : undefined;
  await advance(run, [pairKey], 'membership', applied);
  return result;
}
