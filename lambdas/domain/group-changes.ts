/** group.upserted and group.deleted. */
import type { GroupDeleted, GroupUpserted } from './identity-change';
import { EventRejectedError, RetryableError } from './errors';
import { type ApplyResult, type EngineRun, isDriftRepair, outcomeOf } from './engine-run';
import { describeScope, mayCreateGroup } from './managed-scope';
import { subjectKey } from './ordering';
import { AlreadyExistsError, NotFoundError, type StoredGroup } from './ports';
import { advance, findGroup, findGroupRef, requireManaged, reserveDeletion, staleOrGone, supersededBy } from './steps';

export async function applyGroupUpserted(change: GroupUpserted, run: EngineRun): Promise<ApplyResult> {
  const { DisplayName: displayName, Description: description } = change.data.group;
  const keys = [subjectKey.group(displayName)];
  const superseded = await supersededBy(run, keys);
  if (superseded) return { ...superseded, groupDisplayName: displayName };

  const { identityStore, state } = run.ports;
  let group = await findGroup(run, displayName);
  if (!group && isDriftRepair(run)) {
    // Drift never asks for a missing group (drift.ts: a recreated group would not have its
    // members); a description repair whose group was deleted since drift read it must not
    // re-create it either.
    return { outcome: 'NOOP', reason: 'the group no longer exists, and a drift repair does not re-create a group', groupDisplayName: displayName, writes: 0 };
  }
  if (!group) {
    if (!mayCreateGroup(run.settings.managedGroupScope, displayName)) {
      throw new EventRejectedError(
        'GROUP_NOT_MANAGED',
        `data.group.DisplayName "${displayName}" is outside the managed scope (${describeScope(run.settings.managedGroupScope)}); refusing to create it`,
      );
    }
    await state.recordGroupCreationIntent(displayName, run.context.eventId);
    try {
      const { groupId, receipt } = await identityStore.createGroup({ displayName, description });
      // Mark before recording: a crash between the two must not leave a group we made but cannot prove we manage.
      await state.markManagedGroup(groupId, displayName);
      await run.writes.record(
        {
          action: 'CreateGroup',
          groupId,
          groupDisplayName: displayName,
          changes: [
            { path: 'displayName', after: displayName },
            ...(description === undefined ? [] : [{ path: 'description', after: description }]),
          ],
        },
        receipt,
      );
      group = { groupId, displayName, description };
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error;
      throw new RetryableError('GROUP_CREATE_RACE', `group "${displayName}" was created concurrently; will look it up again`);
    }
  } else {
    await requireManaged(run, group, 'update it');
    await updateDescription(run, group, description);
  }

  await advance(run, keys, 'upserted', { kind: 'group', groupId: group.groupId, displayName, ...(description !== undefined && { description }) });
  return { outcome: outcomeOf(run), groupId: group.groupId, groupDisplayName: displayName, writes: run.writes.count };
}

async function updateDescription(run: EngineRun, group: StoredGroup, description: string | undefined): Promise<void> {
  if (description === undefined || description === group.description) return;
  const changes = [{ path: 'description', before: group.description, after: description }];
  try {
    const receipt = await run.ports.identityStore.updateGroup(group.groupId, [{ attributePath: 'description', attributeValue: description }]);
    await run.writes.record({ action: 'UpdateGroup', groupId: group.groupId, groupDisplayName: group.displayName, changes }, receipt);
  } catch (error) {
    if (error instanceof NotFoundError) {
      throw new RetryableError('STALE_REFERENCE', `group "${group.displayName}" disappeared during the update; will look it up again`);
    }
    throw error;
  }
}

export async function applyGroupDeleted(change: GroupDeleted, run: EngineRun): Promise<ApplyResult> {
  const { displayName } = change.data;
  const keys = [subjectKey.group(displayName)];
  const superseded = await supersededBy(run, keys);
  if (superseded) return { ...superseded, groupDisplayName: displayName };

  const group = await findGroupRef(run, displayName);
  if (!group) return groupAlreadyDeleted(run, keys, displayName);
  await requireManaged(run, group, 'delete it');
  await reserveDeletion(run, 'group');

  // DeleteGroup ends every membership in the group (the members stay): the Identity Store removes
  // them with the group. The DeleteGroup record's groupId is what ends them in the audit trail.
  const { identityStore } = run.ports;
  try {
    const receipt = await identityStore.deleteGroup(group.groupId);
    await run.writes.record({ action: 'DeleteGroup', groupId: group.groupId, groupDisplayName: group.displayName }, receipt);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    await staleOrGone(await identityStore.findGroupIdByDisplayName(displayName, { fresh: true }), group.groupId, 'group');
  }
  // A group someone else creates under this name later is theirs, not ours.
  await run.ports.state.clearGroupCreationIntent(displayName);
  await advance(run, keys, 'deleted', { kind: 'group-deleted', groupId: group.groupId });
  return { outcome: outcomeOf(run), groupId: group.groupId, groupDisplayName: group.displayName, writes: run.writes.count };
}

/**
 * group.deleted found no group by the name: a NOOP that still records what it knows, as
 * user.deleted's does. When the group this service last applied under the name is gone from the
 * store (an earlier attempt's DeleteGroup whose response or WRITE record was lost, or a deletion
 * outside the service), the tombstone carries the `group-deleted` fact and the outcome its
 * GroupId. Either way no group of ours is left under the name, so the creation intent goes: a
 * group someone else creates under it later is theirs.
 */
async function groupAlreadyDeleted(run: EngineRun, keys: string[], displayName: string): Promise<ApplyResult> {
  const { identityStore, state } = run.ports;
  const applied = [...(await state.getWatermarks(keys)).values()][0]?.applied;
  let groupId: string | undefined;
  if (applied?.kind === 'group-deleted') groupId = applied.groupId;
  else if (applied?.kind === 'group' && !(await identityStore.describeGroup(applied.groupId))) groupId = applied.groupId;
  await state.clearGroupCreationIntent(displayName);
  await advance(run, keys, 'deleted', groupId === undefined ? undefined : { kind: 'group-deleted', groupId });
  const reason =
    groupId === undefined
      ? 'the group does not exist (already deleted)'
      : 'the group does not exist (already deleted): the group this service knew by this name is gone';
  return { outcome: 'NOOP', reason, groupId, groupDisplayName: displayName, writes: 0 };
}
