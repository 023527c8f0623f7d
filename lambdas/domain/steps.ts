/** Steps several appliers share: the ordering check, the deletion allowance, group resolution. */
import { EventRejectedError, RetryableError } from './errors';
import { isDriftRepair, type ApplyResult, type EngineRun } from './engine-run';
import { isInManagedScope, describeScope } from './managed-scope';
import { newerWatermark } from './ordering';
import type { AppliedFacts, StoredGroup, Watermark } from './ports';

/** A SUPERSEDED result when a newer change already touched one of `keys`, else undefined. */
export async function supersededBy(
  run: EngineRun,
  keys: string[],
  onlyKinds?: Map<string, Set<string>>,
): Promise<ApplyResult | undefined> {
  const watermarks = await run.ports.state.getWatermarks(keys);
  for (const key of keys) {
    const newer = newerWatermark(watermarks, [key], run.context.occurredAt, onlyKinds?.get(key));
    if (newer) {
      return {
        outcome: 'SUPERSEDED',
        reason: `a newer change (${newer.mark.eventId}, ${newer.mark.kind} at ${newer.mark.occurredAt}) already applied to ${newer.key.split(':')[0]}`,
        writes: 0,
      };
    }
  }
  return undefined;
}

/**
 * Moves the subjects' watermarks to this event, with what it left them as (for drift detection), when
 * known. A drift repair moves none: it restores the fact already there (isDriftRepair).
 */
export async function advance(run: EngineRun, keys: string[], kind: string, applied?: AppliedFacts): Promise<void> {
  if (isDriftRepair(run)) return;
  const mark: Watermark = { occurredAt: run.context.occurredAt, eventId: run.context.eventId, kind, ...(applied && { applied }) };
  await run.ports.state.advanceWatermarks([...new Set(keys)], mark);
}

/** Take one slot of the deletion allowance, or hold the event back until the window ends. */
export async function reserveDeletion(run: EngineRun, what: string): Promise<void> {
  const { deletionCap, deletionWindowSeconds } = run.settings;
  const now = run.ports.clock.now();
  const reserved = await run.ports.state.tryReserveDeletion(now, deletionWindowSeconds, deletionCap, run.context.eventId);
  if (reserved) return;
  const windowMs = deletionWindowSeconds * 1000;
  const owedWaitMs = windowMs - (now.getTime() % windowMs);
  throw new RetryableError(
    'DELETION_CAP_REACHED',
    `deletion cap reached: at most ${deletionCap} deletions per ${deletionWindowSeconds} s; the ${what} deletion is held back until the window ends`,
    owedWaitMs,
  );
}

/** The group with its description, or undefined when it does not exist. */
export async function findGroup(run: EngineRun, displayName: string): Promise<StoredGroup | undefined> {
  const groupId = await run.ports.identityStore.findGroupIdByDisplayName(displayName);
  if (!groupId) return undefined;
  return (await run.ports.identityStore.describeGroup(groupId)) ?? undefined;
}

/** The group's id under the name the event uses, when only the id is needed (one call, cacheable). */
export async function findGroupRef(run: EngineRun, displayName: string): Promise<GroupRef | undefined> {
  const groupId = await run.ports.identityStore.findGroupIdByDisplayName(displayName);
  return groupId ? { groupId, displayName } : undefined;
}

export interface GroupRef {
  groupId: string;
  displayName: string;
}

/**
 * Whether this service may change the group. With the default scope, a group that has no managed
 * mark but whose creation this service recorded setting out to do is ours (the create landed, the
 * mark did not): it is marked now.
 */
export async function isManaged(run: EngineRun, group: GroupRef): Promise<boolean> {
  const { managedGroupScope } = run.settings;
  const { state } = run.ports;
  if (await isInManagedScope(managedGroupScope, group, state)) return true;
  if (managedGroupScope.kind !== 'created' || !(await state.hasGroupCreationIntent(group.displayName))) return false;
  await state.markManagedGroup(group.groupId, group.displayName);
  return true;
}

/** Refuse, as the event's fault, a change to a group this service does not manage. */
export async function requireManaged(run: EngineRun, group: GroupRef, action: string): Promise<void> {
  if (!(await isManaged(run, group))) {
    throw new EventRejectedError(
      'GROUP_NOT_MANAGED',
      `group "${group.displayName}" is outside the managed scope (${describeScope(run.settings.managedGroupScope)}); refusing to ${action}`,
    );
  }
}

/**
 * A write answered "not found" for an id we resolved from a name. Either the subject is gone
 * (the wanted state for a delete), or our id was stale: the name now belongs to a new incarnation
 * made by another instance since we (or our warm cache) looked it up. A fresh lookup tells which.
 */
export async function staleOrGone(currentId: string | undefined, resolvedId: string, what: string): Promise<void> {
  if (currentId !== undefined && currentId !== resolvedId) {
    throw new RetryableError('STALE_REFERENCE', `the ${what} was re-created with a new id meanwhile; will look it up again`);
  }
}

export function groupNotFound(displayName: string): RetryableError {
  return new RetryableError(
    'GROUP_NOT_FOUND',
    `group "${displayName}" does not exist yet (the event creating it may still be in flight)`,
  );
}
