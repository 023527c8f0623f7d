/**
 * The apply engine: turns one validated identity change into the Identity Store writes that
 * make the store match it, and nothing more. Convergent: applying an event twice, or again
 * after a crash half-way, ends in the same state and makes no needless writes, because every
 * step first reads what is there.
 *
 * Write-ahead: each write is preceded by its intent record and followed by its write record
 * (write-recorder.ts); if either cannot be written the attempt fails as retryable.
 *
 * The appliers steer by throwing typed errors deep inside a change; this is where that stops:
 * applyChange returns a value, the result or the Failure that classifyFailure made of what was thrown.
 */
import type { ApplyContext, ApplyResult, EnginePorts, EngineRun, EngineSettings } from './engine-run';
import { classifyFailure, errorMessage, RetryableError, type Failure } from './errors';
import { applyGroupDeleted, applyGroupUpserted } from './group-changes';
import type { IdentityChange } from './identity-change';
import { applyMembershipChange } from './membership-changes';
import type { ProcessingStatePort } from './ports';
import { applyUserDeleted, applyUserUpserted } from './user-changes';
import { writeAhead, type WriteRecorder } from './write-recorder';

export type EngineVerdict = { kind: 'applied'; result: ApplyResult } | { kind: 'failed'; failure: Failure };

/**
 * `writes` is the caller's, so that it can say how many writes an attempt made even when the
 * attempt then fails.
 */
export async function applyChange(
  change: IdentityChange,
  context: ApplyContext,
  ports: EnginePorts,
  settings: EngineSettings,
  writes: WriteRecorder,
): Promise<EngineVerdict> {
  const run: EngineRun = {
    context,
    ports: { ...ports, identityStore: writeAhead(ports.identityStore, writes), state: stateFailuresClassified(ports.state) },
    settings,
    writes,
  };
  try {
    return { kind: 'applied', result: await applierFor(change, run) };
  } catch (error) {
    return { kind: 'failed', failure: classifyFailure(error) };
  }
}

function applierFor(change: IdentityChange, run: EngineRun): Promise<ApplyResult> {
  switch (change.type) {
    case 'user.upserted':
      return applyUserUpserted(change, run);
    case 'user.deleted':
      return applyUserDeleted(change, run);
    case 'group.upserted':
      return applyGroupUpserted(change, run);
    case 'group.deleted':
      return applyGroupDeleted(change, run);
    case 'membership.added':
    case 'membership.removed':
      return applyMembershipChange(change, run);
  }
}

/**
 * The state port with its failures named: whatever the state table throws is STATE_UNAVAILABLE
 * (retried), not UNEXPECTED. Our own errors pass through unchanged.
 */
export function stateFailuresClassified(state: ProcessingStatePort): ProcessingStatePort {
  const guarded = {} as Record<string, unknown>;
  for (const name of Object.keys(STATE_METHODS) as (keyof ProcessingStatePort)[]) {
    const method = state[name] as (...args: unknown[]) => Promise<unknown>;
    guarded[name] = (...args: unknown[]) =>
      method.apply(state, args).catch((error: unknown) => {
        if (error instanceof RetryableError) throw error;
        throw new RetryableError('STATE_UNAVAILABLE', `the processing state could not be used (${name}): ${errorMessage(error)}`, 0, { cause: error });
      });
  }
  return guarded as unknown as ProcessingStatePort;
}

/** Every method of the state port, so a new one cannot be left unguarded (the type requires it here). */
const STATE_METHODS: Record<keyof ProcessingStatePort, true> = {
  getWatermarks: true,
  advanceWatermarks: true,
  isManagedGroup: true,
  markManagedGroup: true,
  recordGroupCreationIntent: true,
  hasGroupCreationIntent: true,
  clearGroupCreationIntent: true,
  getUserIdForExternalId: true,
  putUserIdForExternalId: true,
  tryReserveDeletion: true,
  reservedDeletions: true,
  tryLeaseSubjects: true,
  releaseSubjects: true,
};
