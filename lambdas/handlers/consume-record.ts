/**
 * One SQS record through the engine, and what the queue must do with it afterwards:
 * - applied / noop / superseded: return normally, the batch processor acknowledges it;
 * - rejected: move it to the DLQ with its reason, then acknowledge it (never blocks the queue);
 * - retry: delay its redelivery by the wait it owes, then throw so it is reported as failed.
 * The outcome is in the audit trail before any of these happens (processDelivery's rule).
 */
import type { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { createHash } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { IdentityStoreAdapter, type IdentityStoreCall } from '../adapters/identity-store';
import type { SqsTransport } from '../adapters/sqs-transport';
import { withCachedLookups, type IdCache } from '../domain/id-cache';
import { looksLikeEnvelope } from '../domain/producer';
import type { AuditLogPort, Clock, ProcessingStatePort } from '../domain/ports';
import {
  processDelivery,
  type OutcomePublisher,
  type ProcessResult,
  type ProcessSettings,
} from '../domain/process-event';

/** Longest backoff for a retry the service owed no wait for. */
const MAX_REDELIVERY_DELAY_SECONDS = 900;

export interface ConsumerSettings extends ProcessSettings {
  maxReceiveCount: number;
  redeliveryBaseDelaySeconds: number;
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
  readonly code: string;
  constructor(code: string, message: string) {
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

/** Thrown after a rejected record went to the DLQ: acknowledged, but not cached as done. */
export class RejectedToDeadLetterQueueError extends Error {
  readonly summary: ConsumedSummary;
  constructor(summary: ConsumedSummary) {
    super(`event ${summary.eventId} rejected and moved to the DLQ`);
    this.name = 'RejectedToDeadLetterQueueError';
    this.summary = summary;
  }
}

export async function consumeRecord(
  record: SQSRecord,
  deps: ConsumerDependencies,
  settings: ConsumerSettings,
  invocationDeadline: Date,
): Promise<ConsumedSummary> {
  const tally = { waitedMs: 0 };
  const adapter = new IdentityStoreAdapter({
    client: deps.identityStoreClient,
    identityStoreId: settings.identityStoreId,
    onCall: (call) => {
      tally.waitedMs += call.waitedMs;
      deps.observer.call(call);
    },
  });
  const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
  const result = await processDelivery(
    record.body,
    {
      messageId: record.messageId,
      receiveCount,
      maxReceiveCount: settings.maxReceiveCount,
      receivedAt: deps.clock.now(),
      deadline: invocationDeadline,
      // What AWS vouches for about the sender: the queue, and SQS's SenderId.
      origin: { queueArn: record.eventSourceARN, senderId: record.attributes.SenderId },
    },
    {
      identityStore: withCachedLookups(adapter, deps.idCache, settings.identityStoreId),
      state: deps.state,
      audit: deps.audit,
      publisher: deps.publisher,
      clock: deps.clock,
      pause: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    },
    settings,
    tally,
  );
  deps.observer.result(result);
  // Stored by the idempotency layer: DynamoDB marshalling refuses undefined members.
  const summary: ConsumedSummary = {
    eventId: result.eventId,
    outcome: result.record.outcome,
    ...(result.record.userId && { userId: result.record.userId }),
    ...(result.record.groupId && { groupId: result.record.groupId }),
  };

  switch (result.kind) {
    case 'done':
      return summary;
    case 'rejected':
      await deps.transport.moveToDeadLetterQueue(record, {
        eventId: result.eventId,
        code: result.code,
        reason: result.reason,
        rejectedAt: result.record.at,
      });
      throw new RejectedToDeadLetterQueueError(summary);
    case 'retry': {
      // The last delivery the queue allows: no wait, so the redrive moves it to the DLQ at once.
      const delaySeconds =
        result.record.outcome === 'FAILED'
          ? 0
          : result.owedWaitMs > 0
            ? result.owedWaitMs / 1000
            : redeliveryBackoffSeconds(receiveCount, settings.redeliveryBaseDelaySeconds);
      await deps.transport.delayRedelivery(record, delaySeconds);
      throw new RedeliveryRequestedError(result.code, result.reason);
    }
  }
}

/** base * 2^(receives - 1) seconds, at most 15 minutes. */
export function redeliveryBackoffSeconds(receiveCount: number, baseSeconds: number): number {
  return Math.min(MAX_REDELIVERY_DELAY_SECONDS, baseSeconds * 2 ** (receiveCount - 1));
}

/**
 * What the idempotency layer keys and checks a record by, from one parse of its body:
 * - `idempotencyKey`: the event id the record carries (bare document or EventBridge detail),
 *   scoped to where it came from (the queue, and for an envelope its source), so one producer
 *   cannot have another producer's event answered as a duplicate by sending its id first; the
 *   message id when there is none, so even unreadable messages are handled once per delivery.
 * - `contentHash`: a fingerprint of what it asks for, the v1 document (an envelope's detail, else
 *   the body) with its keys sorted, hashed. A re-delivery, or the same event in a new envelope,
 *   has the same one; the same id with different content does not (ID_REUSED).
 */
export function idempotencyInputOf(record: SQSRecord): { idempotencyKey: string; contentHash: string } {
  const document = readJson(record.body);
  const enveloped = looksLikeEnvelope(document);
  const change = enveloped ? document.detail : document;
  const content = document === undefined ? record.body : canonicalJson(change);
  const contentHash = createHash('sha256').update(content).digest('hex');
  const id = (change as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'string' || id.length === 0 || id.length > 128) return { idempotencyKey: `message:${record.messageId}`, contentHash };
  const source = enveloped && typeof document.source === 'string' ? document.source.slice(0, 256) : '';
  return { idempotencyKey: `event:${record.eventSourceARN}|${source}|${id}`, contentHash };
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The person or group a record is about, so changes to one subject in a batch run in turn. */
export function subjectOf(record: SQSRecord): string {
  const document = readJson(record.body);
  const change = (document?.detail && typeof document.detail === 'object' ? document.detail : document) as
    | { data?: Record<string, unknown> }
    | undefined;
  const data = change?.data;
  const user = data?.user as { UserName?: unknown } | undefined;
  const candidate = user?.UserName ?? data?.userName ?? (data?.group as { DisplayName?: unknown } | undefined)?.DisplayName ?? data?.displayName;
  return typeof candidate === 'string' ? candidate.toLowerCase() : `message:${record.messageId}`;
}

export function readJson(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
