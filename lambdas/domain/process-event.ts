/**
 * One delivery of one queue message, from body to recorded outcome. The handler calls this per
 * record; it decides nothing about queues itself, it only returns what the transport should do.
 *
 * Rule: the outcome is written to the audit trail before this returns, so nothing the caller
 * acknowledges can lack its record. When the record cannot be written the event is retried.
 */
import type { RuntimeProducer } from '../shared/producers';
import { EventRejectedError, RetryableError } from './errors';
import { applyChange, errorMessage, WriteRecorder, type ApplyResult, type EnginePorts, type EngineSettings } from './engine';
import type { IdentityChange } from './identity-change';
import { leaseKeysOf, normalizeOccurredAt, occurredAtRefusal, type OccurredAtBounds } from './ordering';
import { InvalidEventError, parseEvent, type ParsedEvent, type RejectedEventFacts } from './parse-event';
import type { OutcomeRecord, ProducerFacts } from './ports';
import { doorOf, grantRefusal, PRODUCER_NOT_ALLOWED, UNVERIFIED_PRODUCER, type Door, type RecordOrigin } from './producer';

export interface ProcessSettings extends EngineSettings {
  /** The identity store this deployment manages (and the only one its IAM role may touch). */
  identityStoreId: string;
  /** The declared producers (PRODUCERS): who may send, by which door, and what each may ask for. */
  producers: readonly RuntimeProducer[];
  /** When an event may have happened: never after now plus the clock skew, never before the floor. */
  occurredAtBounds: OccurredAtBounds;
}

export interface Delivery {
  /** The transport's id for this message (SQS messageId): names events that have no valid id. */
  messageId: string;
  /** 1 on first delivery (SQS ApproximateReceiveCount). */
  receiveCount: number;
  /** The delivery after which the queue moves the message to its DLQ. */
  maxReceiveCount: number;
  receivedAt: Date;
  /** When this delivery's invocation must be done: its subject leases last until then, no longer. */
  deadline: Date;
  /** The queue the message came from and its SenderId: all the function knows of who sent it. */
  origin: RecordOrigin;
}

/** Publishes what happened, for downstream automation (account assignments, notifications). */
export interface OutcomePublisher {
  publish(outcome: OutcomeRecord): Promise<void>;
}

export type ProcessResult = (
  | { kind: 'done'; eventId: string; record: OutcomeRecord; change: IdentityChange; result: ApplyResult }
  | { kind: 'rejected'; eventId: string; record: OutcomeRecord; code: string; reason: string }
  | { kind: 'retry'; eventId: string; record: OutcomeRecord; code: string; reason: string; owedWaitMs: number }
) & {
  /** Best-effort steps that failed without changing the outcome, for the caller to log. */
  warnings: string[];
  /** The outcome was recorded but its outcome event could not be published (downstream missed it). */
  announcementFailed: boolean;
};

/** Observes the Identity Store calls of one attempt (the adapter reports them). */
export interface CallTally {
  waitedMs: number;
}

export interface ProcessDependencies extends EnginePorts {
  publisher: OutcomePublisher;
  /** Waits this long: real time in the function, a test clock's advance in tests. */
  pause(ms: number): Promise<void>;
}

export async function processDelivery(
  body: string,
  delivery: Delivery,
  deps: ProcessDependencies,
  settings: ProcessSettings,
  tally: CallTally = { waitedMs: 0 },
): Promise<ProcessResult> {
  const base = {
    attempt: delivery.receiveCount,
    receivedAt: delivery.receivedAt.toISOString(),
  };

  const door = doorOf(delivery.origin, settings.producers);
  let parsed: ParsedEvent;
  try {
    parsed = parseEvent(body, door, settings.producers);
    const { change, source, producer } = parsed;
    const facts = { id: change.id, type: change.type, actor: change.actor, occurredAt: change.occurredAt, source, producer };
    // Before any Identity Store call: what the producer may not ask for is never looked up.
    const refusal = grantRefusal(change, producer.producer);
    if (refusal !== undefined) throw new InvalidEventError(PRODUCER_NOT_ALLOWED, refusal, facts);
    const outOfBounds = occurredAtRefusal(change.occurredAt, delivery.receivedAt, settings.occurredAtBounds);
    if (outOfBounds !== undefined) throw new InvalidEventError('OCCURRED_AT_OUT_OF_RANGE', outOfBounds, facts);
    const targetStore = change.identityStoreId ?? settings.identityStoreId;
    if (targetStore !== settings.identityStoreId) {
      throw new InvalidEventError(
        'WRONG_IDENTITY_STORE',
        `identityStoreId: must be this deployment's identity store (${settings.identityStoreId}), got ${targetStore}`,
        facts,
      );
    }
  } catch (error) {
    if (!(error instanceof InvalidEventError)) throw error;
    const eventId = error.facts.id ?? `message:${delivery.messageId}`;
    const sender = senderOf(door, delivery, error.facts.producer?.producer.name);
    const record = rejectedRecord(eventId, error.facts, error, { ...base, ...sender }, deps, settings);
    // Invalid events are rejections like any other: producers watch identity.change.rejected.
    await recordOutcome(deps, record);
    const warnings: string[] = [];
    const announcementFailed = !(await announce(deps, record, warnings));
    return { kind: 'rejected', eventId, record, code: error.code, reason: error.message, warnings, announcementFailed };
  }

  const { change, source, producer } = parsed;
  const sender = senderOf(door, delivery, producer.producer.name);
  const warnings: string[] = [];
  const noteFailure = (step: string) => (failure: unknown) => void warnings.push(`${step}: ${errorMessage(failure)}`);
  const subject = subjectOf(change);
  const common = {
    ...base,
    ...sender,
    eventId: change.id,
    occurredAt: change.occurredAt,
    source,
    actor: change.actor,
    type: change.type,
    identityStoreId: settings.identityStoreId,
    ...subject,
  };
  const context = {
    eventId: change.id,
    attempt: delivery.receiveCount,
    actor: change.actor,
    identityStoreId: settings.identityStoreId,
    occurredAt: normalizeOccurredAt(change.occurredAt),
    sender,
    grant: producer.producer,
  };

  const writes = new WriteRecorder(context, deps.audit, deps.clock);
  const leaseKeys = leaseKeysOf(change);
  // Owned by the event, not the delivery: a retry of this event takes back a lease it left behind.
  const leaseOwner = change.id;
  try {
    const lease = await leaseWhenFree(leaseKeys, leaseOwner, delivery, deps);
    if (!lease.leased) throw subjectBusy(lease.heldUntil, delivery, deps.clock.now());
    // A lease that cannot be given back lapses at this invocation's deadline; the outcome of this
    // event does not depend on it, so a failed release must not fail the event.
    const result = await applyChange(change, context, deps, settings, writes).finally(() =>
      deps.state.releaseSubjects(leaseKeys, leaseOwner).catch(noteFailure('subject lease not released (it lapses at the invocation deadline)')),
    );
    const record: OutcomeRecord = {
      ...common,
      at: deps.clock.now().toISOString(),
      outcome: result.outcome,
      userId: result.userId,
      groupId: result.groupId,
      userName: result.userName ?? common.userName,
      groupDisplayName: result.groupDisplayName ?? common.groupDisplayName,
      errorMessage: result.reason,
      waitedMs: tally.waitedMs,
      writes: result.writes,
    };
    await recordOutcome(deps, record);
    const announcementFailed = !(await announce(deps, record, warnings));
    return { kind: 'done', eventId: change.id, record, change, result, warnings, announcementFailed };
  } catch (error) {
    if (error instanceof EventRejectedError) {
      const record: OutcomeRecord = {
        ...common,
        at: deps.clock.now().toISOString(),
        outcome: 'REJECTED',
        errorCode: error.code,
        errorMessage: error.message,
        waitedMs: tally.waitedMs,
        writes: writes.count,
      };
      await recordOutcome(deps, record);
      const announcementFailed = !(await announce(deps, record, warnings));
      return { kind: 'rejected', eventId: change.id, record, code: error.code, reason: error.message, warnings, announcementFailed };
    }
    // Everything else is worth another try: our own RetryableErrors, and anything unexpected
    // (a state-store outage, a bug fixed by a redeploy) rather than losing the event.
    const retryable =
      error instanceof RetryableError ? error : new RetryableError('UNEXPECTED', errorMessage(error), 0, { cause: error });
    const lastDelivery = delivery.receiveCount >= delivery.maxReceiveCount;
    const record: OutcomeRecord = {
      ...common,
      at: deps.clock.now().toISOString(),
      outcome: lastDelivery ? 'FAILED' : 'RETRYING',
      errorCode: retryable.code,
      errorMessage: retryable.message,
      waitedMs: tally.waitedMs,
      // Writes made before the failure stay made (and recorded); the retry converges from there.
      writes: writes.count,
      owedWaitMs: retryable.owedWaitMs || undefined,
    };
    // Best effort: the event goes back to the queue (or on to the DLQ) whether or not these land.
    await deps.audit.recordOutcome(record).catch(noteFailure(`${record.outcome} outcome not recorded`));
    const announcementFailed = lastDelivery && !(await announce(deps, record, warnings));
    return {
      kind: 'retry',
      eventId: change.id,
      record,
      code: retryable.code,
      reason: retryable.message,
      owedWaitMs: retryable.owedWaitMs,
      warnings,
      announcementFailed,
    };
  }
}

/** How often a busy subject's lease is tried again while this delivery waits for it. */
const LEASE_POLL_MS = 500;
/** This delivery stops waiting for a lease this long before its invocation's deadline: the work needs the time. */
const LEASE_WAIT_RESERVE_MS = 15_000;

/**
 * The subjects' lease, waiting for it in this invocation while another event about the same
 * subject is being applied: that usually takes seconds, and waiting here spends none of the
 * message's deliveries (back on the queue, each wait costs one, and a slow holder could make a
 * change fail for nothing of its own). Gives up at the holder's lease expiry or when this
 * invocation has only the reserve left, whichever comes first, and then the answer is "busy".
 */
async function leaseWhenFree(keys: string[], owner: string, delivery: Delivery, deps: ProcessDependencies) {
  let lease = await deps.state.tryLeaseSubjects(keys, owner, deps.clock.now(), delivery.deadline);
  while (!lease.leased) {
    // One more try just after the holder's lease lapses (it may have died), unless time is short.
    const giveUpAt = Math.min(lease.heldUntil.getTime() + LEASE_POLL_MS, delivery.deadline.getTime() - LEASE_WAIT_RESERVE_MS);
    if (deps.clock.now().getTime() + LEASE_POLL_MS > giveUpAt) return lease;
    await deps.pause(LEASE_POLL_MS);
    lease = await deps.state.tryLeaseSubjects(keys, owner, deps.clock.now(), delivery.deadline);
  }
  return lease;
}

/**
 * Another event about the same subject is being applied. Usually it finishes within a second or
 * two, so look again soon (1, 2, 4... s), but never later than its holder's deadline; on the
 * second-to-last delivery the queue allows, wait the lease out rather than use up the last one.
 */
function subjectBusy(heldUntil: Date, delivery: Delivery, now: Date): RetryableError {
  const untilFree = Math.max(1_000, heldUntil.getTime() - now.getTime());
  const backoff = 1_000 * 2 ** (delivery.receiveCount - 1);
  const owedWaitMs = delivery.receiveCount >= delivery.maxReceiveCount - 1 ? untilFree : Math.min(untilFree, backoff);
  return new RetryableError('SUBJECT_BUSY', 'another change to the same person or group is being applied right now', owedWaitMs);
}

/**
 * Publishes an outcome that is already recorded. Never before the record: an outcome event is an
 * announcement of what the audit trail holds, so a publisher that fails cannot fail (or retry into
 * FAILED) a change that was applied. A failure is reported, for the metric and the log; downstream
 * catches up from the audit trail. True when published (or when there is nothing to announce).
 */
async function announce(deps: ProcessDependencies, record: OutcomeRecord, warnings: string[]): Promise<boolean> {
  try {
    await deps.publisher.publish(record);
    return true;
  } catch (error) {
    warnings.push(`outcome event not published: ${errorMessage(error)}`);
    return false;
  }
}

async function recordOutcome(deps: ProcessDependencies, record: OutcomeRecord): Promise<void> {
  try {
    await deps.audit.recordOutcome(record);
  } catch (error) {
    throw new RetryableError('AUDIT_UNAVAILABLE', `the outcome could not be recorded: ${errorMessage(error)}`, 0, { cause: error });
  }
}

/** What the records say of who sent the event: the door always, the producer when verified. */
function senderOf(door: Door, delivery: Delivery, producer: string | undefined): ProducerFacts {
  return { producer: producer ?? UNVERIFIED_PRODUCER, senderId: delivery.origin.senderId, via: door.via };
}

function rejectedRecord(
  eventId: string,
  facts: RejectedEventFacts,
  error: InvalidEventError,
  base: { attempt: number; receivedAt: string } & ProducerFacts,
  deps: ProcessDependencies,
  settings: ProcessSettings,
): OutcomeRecord {
  return {
    ...base,
    eventId,
    at: deps.clock.now().toISOString(),
    occurredAt: facts.occurredAt,
    source: facts.source,
    actor: facts.actor,
    type: facts.type,
    identityStoreId: settings.identityStoreId,
    outcome: 'REJECTED',
    errorCode: error.code,
    errorMessage: error.message,
    waitedMs: 0,
    writes: 0,
  };
}

function subjectOf(change: IdentityChange): { userName?: string; groupDisplayName?: string } {
  switch (change.type) {
    case 'user.upserted':
      return { userName: change.data.user.UserName };
    case 'user.deleted':
      return { userName: change.data.userName };
    case 'group.upserted':
      return { groupDisplayName: change.data.group.DisplayName };
    case 'group.deleted':
      return { groupDisplayName: change.data.displayName };
    case 'membership.added':
    case 'membership.removed':
      return { userName: change.data.userName, groupDisplayName: change.data.groupDisplayName };
  }
}
