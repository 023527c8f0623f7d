/**
 * One delivery of one queue message, as one explicit pipeline:
 *
 *   read (once, at the edge) -> decide -> apply -> record -> announce -> dispose
 *
 * Each step returns a value; nothing is steered by exceptions. `decide` is pure: what the producer
 * may not ask for, a date out of bounds or another identity store is refused before any call.
 * `apply` leases the subjects and runs the engine (write-ahead). `record` writes the outcome to
 * the audit trail; only a recorded outcome is announced, and only a recorded outcome can be
 * acknowledged. `dispositionOf` (disposition.ts) says what the queue must do; the handler does it.
 */
import type { RuntimeProducer } from '../shared/producers';
import { dispositionOf, type Disposition } from './disposition';
import type { ApplyContext, ApplyResult, EnginePorts, EngineSettings } from './engine-run';
import { applyChange } from './engine';
import { ERROR_CODES } from './error-codes';
import { errorMessage, type Failure } from './errors';
import type { ExternalId, IdentityChange } from './identity-change';
import { leaseKeysOf, normalizeOccurredAt, occurredAtRefusal, type OccurredAtBounds } from './ordering';
import { factsOfReading, readDelivery, type EventFacts, type Reading } from './parse-event';
import type { Outcome, OutcomeRecord, ProducerFacts } from './ports';
import { grantRefusal, UNVERIFIED_PRODUCER, type RecordOrigin, type VerifiedProducer } from './producer';
import { WriteRecorder } from './write-recorder';

export interface ProcessSettings extends EngineSettings {
  /** The identity store this deployment manages (and the only one its IAM role may touch). */
  identityStoreId: string;
  /** The declared producers (PRODUCERS): who may send, by which door, and what each may ask for. */
  producers: readonly RuntimeProducer[];
  /** When an event may have happened: never after now plus the clock skew, never before the floor. */
  occurredAtBounds: OccurredAtBounds;
  /** First redelivery delay for a retry that owes no particular wait; doubles per delivery. */
  redeliveryBaseDelaySeconds: number;
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

export interface ProcessResult {
  eventId: string;
  /** The outcome as recorded; when it could not be recorded, RETRYING with AUDIT_UNAVAILABLE. */
  record: OutcomeRecord;
  recorded: boolean;
  /** Why it did not succeed, when it did not. */
  failure?: Failure;
  /** What the queue must do with the message. */
  disposition: Disposition;
  /** The change, when the message held a valid one. */
  change?: IdentityChange;
  /** Best-effort steps that failed without changing the outcome, for the caller to log. */
  warnings: string[];
  /** The outcome was recorded but its outcome event could not be published (downstream missed it). */
  announcementFailed: boolean;
}

/** Observes the Identity Store calls of one attempt (the adapter reports them). */
export interface CallTally {
  waitedMs: number;
}

export interface ProcessDependencies extends EnginePorts {
  publisher: OutcomePublisher;
  /** Waits this long: real time in the function, a test clock's advance in tests. */
  pause(ms: number): Promise<void>;
}

/** The pipeline from a raw body (reads it, then processes the reading). */
export function processDelivery(
  body: string,
  delivery: Delivery,
  deps: ProcessDependencies,
  settings: ProcessSettings,
  tally: CallTally = { waitedMs: 0 },
): Promise<ProcessResult> {
  return processReading(readDelivery(body, delivery.origin, settings.producers), delivery, deps, settings, tally);
}

export async function processReading(
  reading: Reading,
  delivery: Delivery,
  deps: ProcessDependencies,
  settings: ProcessSettings,
  tally: CallTally = { waitedMs: 0 },
): Promise<ProcessResult> {
  const warnings: string[] = [];
  const decision = decide(reading, delivery, settings);
  const attempt: Attempt = decision.kind === 'apply' ? await apply(decision, reading.door.via, delivery, deps, settings, warnings) : { failure: decision.failure, writes: 0 };

  const facts = factsOfReading(reading);
  const eventId = facts.id ?? `message:${delivery.messageId}`;
  const lastDelivery = delivery.receiveCount >= delivery.maxReceiveCount;
  const outcome: Outcome = attempt.result?.outcome ?? outcomeOfFailure(attempt.failure!, lastDelivery);
  const record = outcomeRecord(eventId, facts, reading.door.via, decision.kind === 'apply' ? decision.change : undefined, attempt, outcome, delivery, deps, settings, tally);

  const recorded = await tryRecord(deps, record, warnings);
  // A RETRYING record is a progress note: the message comes back whether or not it landed.
  const durable = recorded || outcome === 'RETRYING';
  const failure = durable
    ? attempt.failure
    : { code: 'AUDIT_UNAVAILABLE' as const, message: `the ${outcome} outcome could not be recorded: ${warnings[warnings.length - 1]}`, owedWaitMs: 0 };
  const announcementFailed = recorded && announced(outcome) && !(await announce(deps, record, warnings));
  return {
    eventId,
    record: durable ? record : { ...record, outcome: 'RETRYING', errorCode: failure!.code, errorMessage: failure!.message },
    recorded,
    failure,
    disposition: dispositionOf({
      failure,
      recorded: durable,
      receiveCount: delivery.receiveCount,
      maxReceiveCount: delivery.maxReceiveCount,
      redeliveryBaseDelaySeconds: settings.redeliveryBaseDelaySeconds,
    }),
    change: decision.kind === 'apply' ? decision.change : undefined,
    warnings,
    announcementFailed,
  };
}

type Decision = { kind: 'apply'; change: IdentityChange; producer: VerifiedProducer } | { kind: 'refuse'; failure: Failure };

/** Pure: whether the change may be applied at all, before any lookup. */
export function decide(reading: Reading, delivery: Delivery, settings: ProcessSettings): Decision {
  if (reading.kind === 'refused') return { kind: 'refuse', failure: reading.failure };
  const { change, producer } = reading;
  const refuse = (code: Failure['code'], message: string): Decision => ({ kind: 'refuse', failure: { code, message, owedWaitMs: 0 } });
  const notGranted = grantRefusal(change, producer.producer);
  if (notGranted !== undefined) return refuse('PRODUCER_NOT_ALLOWED', notGranted);
  const outOfBounds = occurredAtRefusal(change.occurredAt, delivery.receivedAt, settings.occurredAtBounds);
  if (outOfBounds !== undefined) return refuse('OCCURRED_AT_OUT_OF_RANGE', outOfBounds);
  const targetStore = change.identityStoreId ?? settings.identityStoreId;
  if (targetStore !== settings.identityStoreId) {
    return refuse('WRONG_IDENTITY_STORE', `identityStoreId: must be this deployment's identity store (${settings.identityStoreId}), got ${targetStore}`);
  }
  return { kind: 'apply', change, producer };
}

interface Attempt {
  result?: ApplyResult;
  failure?: Failure;
  /** Writes made and recorded in this attempt, whatever its outcome. */
  writes: number;
}

/** Leases the change's subjects, runs the engine, gives the leases back. */
async function apply(
  { change, producer }: { change: IdentityChange; producer: VerifiedProducer },
  via: 'bus' | 'queue',
  delivery: Delivery,
  deps: ProcessDependencies,
  settings: ProcessSettings,
  warnings: string[],
): Promise<Attempt> {
  const context: ApplyContext = {
    eventId: change.id,
    attempt: delivery.receiveCount,
    actor: change.actor,
    identityStoreId: settings.identityStoreId,
    occurredAt: normalizeOccurredAt(change.occurredAt),
    sender: senderOf(via, delivery, producer.producer.name),
    grant: producer.producer,
    // The leases below last until the delivery's deadline, and so may no write.
    leaseUntil: delivery.deadline,
  };
  const writes = new WriteRecorder(context, deps.audit, deps.clock);
  const leaseKeys = leaseKeysOf(change);
  // Owned by the event, not the delivery: a retry of this event takes back a lease it left behind.
  const leaseOwner = change.id;
  let lease: Awaited<ReturnType<typeof leaseWhenFree>>;
  try {
    lease = await leaseWhenFree(leaseKeys, leaseOwner, delivery, deps);
  } catch (error) {
    return { failure: { code: 'STATE_UNAVAILABLE', message: `the subjects could not be leased: ${errorMessage(error)}`, owedWaitMs: 0 }, writes: 0 };
  }
  if (!lease.leased) return { failure: subjectBusy(lease.heldUntil, delivery, deps.clock.now()), writes: 0 };
  const verdict = await applyChange(change, context, deps, settings, writes);
  // A lease that cannot be given back lapses at this invocation's deadline; the outcome of this
  // event does not depend on it, so a failed release must not fail the event.
  await deps.state
    .releaseSubjects(leaseKeys, leaseOwner)
    .catch((error: unknown) => warnings.push(`subject lease not released (it lapses at the invocation deadline): ${errorMessage(error)}`));
  return verdict.kind === 'applied' ? { result: verdict.result, writes: writes.count } : { failure: verdict.failure, writes: writes.count };
}

function outcomeOfFailure(failure: Failure, lastDelivery: boolean): Outcome {
  if (ERROR_CODES[failure.code].kind !== 'retry') return 'REJECTED';
  return lastDelivery ? 'FAILED' : 'RETRYING';
}

/** Final outcomes and FAILED are announced; a RETRYING attempt is not news downstream. */
function announced(outcome: Outcome): boolean {
  return outcome !== 'RETRYING';
}

function outcomeRecord(
  eventId: string,
  facts: EventFacts,
  via: 'bus' | 'queue',
  change: IdentityChange | undefined,
  attempt: Attempt,
  outcome: Outcome,
  delivery: Delivery,
  deps: ProcessDependencies,
  settings: ProcessSettings,
  tally: CallTally,
): OutcomeRecord {
  const subject = change ? subjectOf(change) : {};
  const { result, failure } = attempt;
  return {
    eventId,
    attempt: delivery.receiveCount,
    at: deps.clock.now().toISOString(),
    receivedAt: delivery.receivedAt.toISOString(),
    ...senderOf(via, delivery, facts.producer?.producer.name),
    occurredAt: facts.occurredAt,
    source: facts.source,
    actor: facts.actor,
    type: facts.type,
    identityStoreId: settings.identityStoreId,
    userName: result?.userName ?? subject.userName,
    groupDisplayName: result?.groupDisplayName ?? subject.groupDisplayName,
    userId: result?.userId,
    groupId: result?.groupId,
    externalIds: subject.externalIds,
    outcome,
    errorCode: failure?.code,
    errorMessage: failure?.message ?? result?.reason,
    waitedMs: tally.waitedMs,
    // Writes made before a failure stay made (and recorded); the retry converges from there.
    writes: attempt.writes,
    owedWaitMs: failure && failure.owedWaitMs > 0 ? failure.owedWaitMs : undefined,
  };
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
function subjectBusy(heldUntil: Date, delivery: Delivery, now: Date): Failure {
  const untilFree = Math.max(1_000, heldUntil.getTime() - now.getTime());
  const backoff = 1_000 * 2 ** (delivery.receiveCount - 1);
  const owedWaitMs = delivery.receiveCount >= delivery.maxReceiveCount - 1 ? untilFree : Math.min(untilFree, backoff);
  return { code: 'SUBJECT_BUSY', message: 'another change to the same person or group is being applied right now', owedWaitMs };
}

/**
 * Publishes an outcome that is already recorded. Never before the record: an outcome event is an
 * announcement of what the audit trail holds, so a publisher that fails cannot fail (or retry into
 * FAILED) a change that was applied. A failure is reported, for the metric and the log; downstream
 * catches up from the audit trail. True when published.
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

async function tryRecord(deps: ProcessDependencies, record: OutcomeRecord, warnings: string[]): Promise<boolean> {
  try {
    await deps.audit.recordOutcome(record);
    return true;
  } catch (error) {
    warnings.push(`${record.outcome} outcome not recorded: ${errorMessage(error)}`);
    return false;
  }
}

/** What the records say of who sent the event: the door always, the producer when verified. */
function senderOf(via: 'bus' | 'queue', delivery: Delivery, producer: string | undefined): ProducerFacts {
  return { producer: producer ?? UNVERIFIED_PRODUCER, senderId: delivery.origin.senderId, via };
}

function subjectOf(change: IdentityChange): { userName?: string; groupDisplayName?: string; externalIds?: ExternalId[] } {
  switch (change.type) {
    case 'user.upserted':
      return { userName: change.data.user.UserName, externalIds: change.data.user.ExternalIds };
    case 'user.deleted':
      return { userName: change.data.userName, externalIds: change.data.externalId && [change.data.externalId] };
    case 'group.upserted':
      return { groupDisplayName: change.data.group.DisplayName };
    case 'group.deleted':
      return { groupDisplayName: change.data.displayName };
    case 'membership.added':
    case 'membership.removed':
      return { userName: change.data.userName, groupDisplayName: change.data.groupDisplayName };
  }
}
