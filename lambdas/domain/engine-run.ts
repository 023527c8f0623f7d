/**
 * The engine's types: what one change's application sees (EngineRun) and returns (ApplyResult).
 * Their own module so imports run one way: engine.ts -> appliers -> engine-run.ts, never back.
 */
import { DRIFT_REPAIR_PRODUCER, type ProducerGrant } from '../shared/producers';
import type { ManagedGroupScope } from './managed-scope';
import type { AuditLogPort, Clock, IdentityStorePort, ProcessingStatePort } from './ports';
import type { WriteContext, WriteRecorder } from './write-recorder';

export interface EngineSettings {
  managedGroupScope: ManagedGroupScope;
  maxMembershipRemovalsPerEvent: number;
  deletionCap: number;
  deletionWindowSeconds: number;
}

export interface EnginePorts {
  identityStore: IdentityStorePort;
  state: ProcessingStatePort;
  audit: AuditLogPort;
  clock: Clock;
}

export type AppliedOutcome = 'APPLIED' | 'NOOP' | 'SUPERSEDED';

export interface ApplyResult {
  outcome: AppliedOutcome;
  /** Why, for SUPERSEDED and for a NOOP that is worth explaining (e.g. already gone). */
  reason?: string;
  userId?: string;
  userName?: string;
  groupId?: string;
  groupDisplayName?: string;
  writes: number;
}

/** One event's attempt, as the engine sees it. */
export interface ApplyContext extends WriteContext {
  /** UTC ISO, normalized. */
  occurredAt: string;
  /**
   * What that producer may touch. Its event types and groups were checked before the engine ran;
   * the engine still needs the groups: a user's `groups` list is the complete list within them,
   * so a reconcile never removes a membership in a group outside them.
   */
  grant: ProducerGrant;
}

export interface EngineRun {
  context: ApplyContext;
  /** The identity store here is write-ahead: each write is recorded as an intent before it is made. */
  ports: EnginePorts;
  settings: EngineSettings;
  writes: WriteRecorder;
}

export function outcomeOf(run: EngineRun): AppliedOutcome {
  return run.writes.count > 0 ? 'APPLIED' : 'NOOP';
}

/**
 * A drift repair (drift.ts, repairEventsFor) puts back a fact this service already applied, and is
 * dated at that fact: it is no newer decision. The ordinary check applies it only while nothing
 * newer than the fact touched its subjects, and it moves no watermark and records no fact (advance),
 * so an older real event still on its way (a leaver held back by the deletion cap, a late HR move)
 * is applied after it instead of ending SUPERSEDED. Nor does it re-create a user (user-changes.ts).
 */
export function isDriftRepair(run: EngineRun): boolean {
  return run.context.sender.producer === DRIFT_REPAIR_PRODUCER;
}
