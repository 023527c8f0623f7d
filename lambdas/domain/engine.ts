/**
 * The apply engine: turns one validated identity change into the Identity Store writes that
 * make the store match it, and nothing more. Convergent: applying an event twice, or again
 * after a crash half-way, ends in the same state and makes no needless writes, because every
 * step first reads what is there.
 *
 * Every write is recorded in the audit trail right after it succeeds; if that record cannot be
 * written the event fails as retryable (the retry finds the write done and records the rest).
 */
import type { ProducerGrant } from '../shared/producers';
import type { IdentityChange } from './identity-change';
import type { ManagedGroupScope } from './managed-scope';
import type {
  AuditLogPort,
  CallReceipt,
  Clock,
  IdentityStorePort,
  ProcessingStatePort,
  ProducerFacts,
  WriteRecord,
} from './ports';
import { RetryableError } from './errors';
import { applyUserUpserted, applyUserDeleted } from './user-changes';
import { applyGroupUpserted, applyGroupDeleted } from './group-changes';
import { applyMembershipChange } from './membership-changes';

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
export interface ApplyContext {
  eventId: string;
  attempt: number;
  actor: string;
  identityStoreId: string;
  /** UTC ISO, normalized. */
  occurredAt: string;
  /** Who sent the event, as AWS vouches for it: recorded on every write. */
  sender: ProducerFacts;
  /**
   * What that producer may touch. Its event types and groups were checked before the engine ran;
   * the engine still needs the groups: a user's `groups` list is the complete list within them,
   * so a reconcile never removes a membership in a group outside them.
   */
  grant: ProducerGrant;
}

/** Records each write of the current attempt in order. Created per event attempt. */
export class WriteRecorder {
  private sequence = 0;

  constructor(
    private readonly context: ApplyContext,
    private readonly audit: AuditLogPort,
    private readonly clock: Clock,
  ) {}

  get count(): number {
    return this.sequence;
  }

  async record(
    write: Omit<
      WriteRecord,
      keyof ProducerFacts | 'eventId' | 'sequence' | 'attempt' | 'at' | 'actor' | 'identityStoreId' | 'requestId' | 'attempts' | 'waitedMs'
    >,
    receipt: CallReceipt,
  ): Promise<void> {
    const record: WriteRecord = {
      ...write,
      eventId: this.context.eventId,
      sequence: this.sequence++,
      attempt: this.context.attempt,
      at: this.clock.now().toISOString(),
      actor: this.context.actor,
      ...this.context.sender,
      identityStoreId: this.context.identityStoreId,
      requestId: receipt.requestId,
      attempts: receipt.attempts,
      waitedMs: receipt.waitedMs,
    };
    try {
      await this.audit.recordWrite(record);
    } catch (error) {
      throw new RetryableError(
        'AUDIT_UNAVAILABLE',
        `the ${write.action} was made but its audit record could not be written: ${errorMessage(error)}`,
        0,
        { cause: error },
      );
    }
  }
}

export interface EngineRun {
  context: ApplyContext;
  ports: EnginePorts;
  settings: EngineSettings;
  writes: WriteRecorder;
}

/**
 * `writes` is the caller's, so that it can say how many writes an attempt made even when the
 * attempt then fails.
 */
export async function applyChange(
  change: IdentityChange,
  context: ApplyContext,
  ports: EnginePorts,
  settings: EngineSettings,
  writes = new WriteRecorder(context, ports.audit, ports.clock),
): Promise<ApplyResult> {
  const run: EngineRun = { context, ports, settings, writes };
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

export function outcomeOf(run: EngineRun): AppliedOutcome {
  return run.writes.count > 0 ? 'APPLIED' : 'NOOP';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
