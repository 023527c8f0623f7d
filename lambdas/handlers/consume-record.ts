/**
 * One SQS record: read once, through the record path (lambdas/domain/process-event.ts), then the
 * disposition the path decided is carried out:
 * - ack: return normally, the batch processor acknowledges it;
 * - deadLetter: move it to the DLQ with its reason, then acknowledge it (never blocks the queue);
 * - retryAfter: delay its redelivery, then throw so it is reported as failed;
 * - leave: throw, touching nothing (a record SQS did not confirm).
 * The outcome is in the audit trail before any of these that lets go of the message.
 */
import type { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { createHash } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { IdentityStoreAdapter, type IdentityStoreCall } from '../adapters/identity-store';
import type { SqsTransport } from '../adapters/sqs-transport';
import type { ErrorCode } from '../domain/error-codes';
import type { Failure } from '../domain/errors';
import { withCachedLookups, type IdCache } from '../domain/id-cache';
import { leaseKeysOf } from '../domain/ordering';
import { factsOfReading, readDelivery, type Reading } from '../domain/parse-event';
import type { AuditLogPort, Clock, ProcessingStatePort } from '../domain/ports';
import {
  processReading,
  type CallTally,
  type OutcomePublisher,
  type ProcessDependencies,
  type ProcessResult,
  type ProcessSettings,
} from '../domain/process-event';
import type { RuntimeConfig } from '../shared/config';
import type { RuntimeProducer } from '../shared/producers';

export type ConsumerSettings = ProcessSettings & { maxReceiveCount: number };

/** The record path's settings from the function's configuration: the consumer's, and a plan's (cli/plan-inputs.ts). */
export function consumerSettingsOf(config: RuntimeConfig): ConsumerSettings {
  return {
    identityStoreId: config.IDENTITY_STORE_ID,
    managedGroupScope: config.MANAGED_GROUP_SCOPE,
    maxMembershipRemovalsPerEvent: config.MAX_MEMBERSHIP_REMOVALS_PER_EVENT,
    deletionCap: config.DELETION_CAP,
    deletionWindowSeconds: config.DELETION_WINDOW_SECONDS,
    maxReceiveCount: config.MAX_RECEIVE_COUNT,
    redeliveryBaseDelaySeconds: config.REDELIVERY_BASE_DELAY_SECONDS,
    producers: config.PRODUCERS,
    occurredAtBounds: { floor: new Date(config.OCCURRED_AT_FLOOR), maxSkewMs: config.MAX_CLOCK_SKEW_SECONDS * 1000 },
  };
}

export interface ConsumerObserver {
  call(call: IdentityStoreCall): void;
  result(result: ProcessResult): void;
}

export interface ConsumerDependencies {
  identityStoreClient: IdentitystoreClient;
  idCache: IdCache;
  state: ProcessingStatePort;
  audit: AuditLogPort;
  publisher: OutcomePublisher;
  transport: SqsTransport;
  clock: Clock;
  observer: ConsumerObserver;
}

/** What the idempotency store keeps for a completed event (no personal data). */
export interface ConsumedSummary {
  eventId: string;
  outcome: string;
  userId?: string;
  groupId?: string;
}

/** Thrown for a record that must come back later; the batch processor reports it as failed. */
export class RedeliveryRequestedError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'RedeliveryRequestedError';
    this.code = code;
  }
}

/** A record SQS did not confirm (recorded already): reported as failed, never applied. */
export class UnconfirmedRecordError extends Error {
  constructor(messageId: string) {
    super(`record ${messageId} not confirmed by SQS as received from its queue`);
    this.name = 'UnconfirmedRecordError';
  }
}

/** Thrown after a record went to the DLQ: acknowledged, but not cached as done. */
export class RejectedToDeadLetterQueueError extends Error {
  readonly summary: ConsumedSummary;
  constructor(summary: ConsumedSummary) {
    super(`event ${summary.eventId} moved to the DLQ`);
    this.name = 'RejectedToDeadLetterQueueError';
    this.summary = summary;
  }
}

/** The one parse of a record's body. */
export function readRecord(record: SQSRecord, producers: readonly RuntimeProducer[]): Reading {
  return readDelivery(record.body, originOf(record), producers);
}

/** A reading refused before the engine could look at it (an id reused for other content, a record SQS did not confirm). */
export function refusedReading(reading: Reading, failure: Failure, trusted: boolean, eventId?: string): Reading {
  const facts = trusted ? factsOfReading(reading) : { source: reading.door.via === 'queue' ? 'sqs' : 'unknown' };
  return { kind: 'refused', door: reading.door, scope: reading.scope, document: reading.document, failure, facts: { ...facts, ...(eventId && { id: eventId }) } } as Reading;
}

export async function consumeRecord(
  record: SQSRecord,
  reading: Reading,
  deps: ConsumerDependencies,
  settings: ConsumerSettings,
  invocationDeadline: Date,
): Promise<ConsumedSummary> {
  const tally = { waitedMs: 0 };
  const result = await processReading(
    reading,
    deliveryOf(record, settings, deps.clock.now(), invocationDeadline),
    processDependencies(deps, settings, tally),
    settings,
    tally,
  );
  deps.observer.result(result);
  return dispose(record, result, deps.transport);
}

/** The record path's ports for one record: its Identity Store calls are counted into `tally`. */
export function processDependencies(deps: ConsumerDependencies, settings: ConsumerSettings, tally: CallTally): ProcessDependencies {
  const adapter = new IdentityStoreAdapter({
    client: deps.identityStoreClient,
    identityStoreId: settings.identityStoreId,
    onCall: (call) => {
      tally.waitedMs += call.waitedMs;
      deps.observer.call(call);
    },
  });
  return {
    identityStore: withCachedLookups(adapter, deps.idCache, settings.identityStoreId),
    state: deps.state,
    audit: deps.audit,
    publisher: deps.publisher,
    clock: deps.clock,
    pause: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

/** Carries out the disposition the record path decided. */
export async function dispose(record: SQSRecord, result: ProcessResult, transport: SqsTransport): Promise<ConsumedSummary> {
  // Stored by the idempotency layer: DynamoDB marshalling refuses undefined members.
  const summary: ConsumedSummary = {
    eventId: result.eventId,
    outcome: result.record.outcome,
    ...(result.record.userId && { userId: result.record.userId }),
    ...(result.record.groupId && { groupId: result.record.groupId }),
  };
  const { disposition } = result;
  switch (disposition.kind) {
    case 'ack':
      return summary;
    case 'deadLetter':
      await transport.moveToDeadLetterQueue(record, {
        eventId: result.eventId,
        code: disposition.code,
        reason: disposition.reason,
        rejectedAt: result.record.at,
      });
      throw new RejectedToDeadLetterQueueError(summary);
    case 'retryAfter':
      await transport.delayRedelivery(record, disposition.seconds);
      throw new RedeliveryRequestedError(result.failure?.code ?? 'UNEXPECTED', result.failure?.message ?? 'retry');
    case 'leave':
      throw new UnconfirmedRecordError(record.messageId);
  }
}

export function deliveryOf(record: SQSRecord, settings: ConsumerSettings, receivedAt: Date, deadline: Date) {
  return {
    messageId: record.messageId,
    receiveCount: Number(record.attributes?.ApproximateReceiveCount) || 1,
    maxReceiveCount: settings.maxReceiveCount,
    receivedAt,
    deadline,
    origin: originOf(record),
  };
}

/** What AWS vouches for about the sender: the queue, and SQS's SenderId. */
function originOf(record: SQSRecord) {
  return { queueArn: record.eventSourceARN, senderId: String(record.attributes?.SenderId ?? '') };
}

/** How long a completed event id is remembered: covers SQS and EventBridge duplicate deliveries. */
export const IDEMPOTENCY_TTL_SECONDS = 3_600;

/** Where the idempotency layer finds idempotencyInputOf's key and content hash (Powertools' JMESPaths). */
export const IDEMPOTENCY_PATHS = { eventKeyJmesPath: 'idempotencyKey', payloadValidationJmesPath: 'contentHash' } as const;

/** Why an id this door already used, within the idempotency window, for different content is refused (ID_REUSED). */
export function reusedIdMessage(eventId: string | undefined): string {
  return (
    `id: "${eventId}" was already used by this producer, within the last ${IDEMPOTENCY_TTL_SECONDS / 60} minutes, for a ` +
    'different change; that change stands and this one is not applied: send it with a new id'
  );
}

/**
 * What the idempotency layer keys and checks a record by, from its reading:
 * - `idempotencyKey`: for a valid change, its event id scoped to where it came from (the queue,
 *   and for an envelope its source), so one producer cannot have another producer's event answered
 *   as a duplicate by sending its id first; for anything refused, the message id, so even an
 *   unreadable message is handled once per delivery (and a refusal names its own fault, not a reuse).
 * - `contentHash`: a fingerprint of what it asks for, the v1 document with its keys sorted, hashed.
 *   A re-delivery, or the same event in a new envelope, has the same one; the same id with
 *   different content does not (ID_REUSED).
 */
export function idempotencyInputOf(record: SQSRecord, reading: Reading): { idempotencyKey: string; contentHash: string } {
  const content = reading.document === undefined ? record.body : canonicalJson(reading.document);
  const contentHash = createHash('sha256').update(content).digest('hex');
  if (reading.kind !== 'change') return { idempotencyKey: `message:${record.messageId}`, contentHash };
  return { idempotencyKey: `event:${record.eventSourceARN}|${reading.scope}|${reading.change.id}`, contentHash };
}

/** Keys sorted at every level. The strict parse bounded the depth, so the recursion is bounded too. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The subject a record is about, so changes to one subject in a batch run in turn: the first key
 * its lease would take (the same keys, from the same reading), or the message itself.
 */
export function subjectOf(record: SQSRecord, reading: Reading): string {
  return reading.kind === 'change' ? (leaseKeysOf(reading.change)[0] ?? `message:${record.messageId}`) : `message:${record.messageId}`;
}
