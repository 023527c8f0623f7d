/**
 * Reading a queue message, once, at the edge: from its body to a validated identity change from a
 * verified producer, or to the refusal that says why not. The shape a body may have follows from
 * the door it came in by (lambdas/domain/producer.ts): on a producer queue, the bare v1 document;
 * on the bus queue, an EventBridge event whose `detail` is the document. The producer is verified
 * first, then the document is validated. Every refusal names the field and the rule.
 *
 * Everything else that needs the body (the idempotency key, the content fingerprint, the subject
 * the batch serializes on, the facts a refusal is recorded with) takes them from this Reading.
 */
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import type { z } from 'zod';
import type { RuntimeProducer } from '../shared/producers';
import type { RejectionCode } from './error-codes';
import type { Failure } from './errors';
import { identityChangeSchema, type IdentityChange } from './identity-change';
import { doorOf, isRefusal, looksLikeEnvelope, verifyProducer, type Door, type RecordOrigin, type VerifiedProducer } from './producer';
import { describeJsonRefusal, parseStrictJson } from './strict-json';

/** What could be read from an event, verified or not, so its audit record is findable. */
export interface EventFacts {
  id?: string;
  type?: string;
  actor?: string;
  occurredAt?: string;
  /** `sqs` for a bare document (a producer queue), else the EventBridge `source`. */
  source: string;
  /** Absent when no producer could be verified. */
  producer?: VerifiedProducer;
}

export type Reading = {
  door: Door;
  /** The v1 document as sent (an envelope's detail), when the body was JSON: what the content fingerprint is of. */
  document?: unknown;
  /** The producer's event source (the envelope's `source`, bounded), part of the idempotency scope. */
  scope: string;
} & (
  | { kind: 'change'; change: IdentityChange; source: string; producer: VerifiedProducer }
  | { kind: 'refused'; failure: Failure & { code: RejectionCode }; facts: EventFacts }
);

export function readDelivery(body: string, origin: RecordOrigin, producers: readonly RuntimeProducer[]): Reading {
  const door = doorOf(origin, producers);
  // A producer queue vouches for its producer whatever the body holds.
  const queueProducer: VerifiedProducer | undefined = door.via === 'queue' ? { producer: door.producer, via: 'queue' } : undefined;
  const doorSource = door.via === 'queue' ? 'sqs' : 'unknown';
  const refused = (code: RejectionCode, message: string, facts: EventFacts, document?: unknown, scope = ''): Reading => ({
    kind: 'refused',
    door,
    document,
    scope,
    failure: { code, message, owedWaitMs: 0 },
    facts,
  });

  const json = parseStrictJson(body);
  if (!json.ok) return refused('MALFORMED_JSON', describeJsonRefusal(json), { source: doorSource, producer: queueProducer });
  const parsed = json.value;
  const enveloped = looksLikeEnvelope(parsed);
  const claimed = enveloped && isObject(parsed.detail) ? parsed.detail : parsed;
  const claimedSource = enveloped && typeof parsed.source === 'string' ? parsed.source : undefined;
  const scope = (claimedSource ?? '').slice(0, 256);

  const verified = verifyProducer(door, parsed, producers);
  if (isRefusal(verified)) {
    return refused('PRODUCER_UNKNOWN', verified.refused, { ...factsOf(claimed), source: claimedSource ?? doorSource, producer: queueProducer }, claimed, scope);
  }
  if (verified.via === 'queue') return validated(parsed, '', { door, scope, source: 'sqs', producer: verified });

  const envelope = EventBridgeSchema.safeParse(parsed);
  if (!envelope.success) {
    return refused('INVALID_ENVELOPE', `EventBridge envelope: ${describeIssues(envelope.error)}`, { source: claimedSource ?? 'eventbridge', producer: verified }, claimed, scope);
  }
  const { source, detail } = envelope.data;
  const detailType = envelope.data['detail-type'];
  if (isObject(detail) && detail.type !== undefined && detail.type !== detailType) {
    return refused(
      'DETAIL_TYPE_MISMATCH',
      `detail-type: must equal detail.type ("${String(detail.type)}"), got "${detailType}"`,
      { ...factsOf(detail), source, producer: verified },
      detail,
      scope,
    );
  }
  return validated(detail, 'detail.', { door, scope, source, producer: verified });
}

function validated(
  document: unknown,
  prefix: string,
  from: { door: Door; scope: string; source: string; producer: VerifiedProducer },
): Reading {
  const parsed = identityChangeSchema.safeParse(document);
  if (!parsed.success) {
    return {
      kind: 'refused',
      door: from.door,
      document,
      scope: from.scope,
      failure: { code: 'INVALID_EVENT', message: describeIssues(parsed.error, prefix), owedWaitMs: 0 },
      facts: { ...factsOf(document), source: from.source, producer: from.producer },
    };
  }
  return { kind: 'change', door: from.door, document, scope: from.scope, change: parsed.data, source: from.source, producer: from.producer };
}

/** The facts a reading gives for its records, whether or not it was refused. */
export function factsOfReading(reading: Reading): EventFacts {
  if (reading.kind === 'refused') return reading.facts;
  const { change, source, producer } = reading;
  return { id: change.id, type: change.type, actor: change.actor, occurredAt: change.occurredAt, source, producer };
}

/** "data.user.UserName: must be ...; data.groups[0]: is reserved ..." */
export function describeIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .slice(0, 10)
    .map((issue) => {
      const path = issue.path.reduce<string>(
        (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
        '',
      );
      const missing = issue.code === 'invalid_type' && issue.message.endsWith('received undefined');
      return `${prefix}${path || '(document)'}: ${missing ? 'is required' : issue.message}`;
    })
    .join('; ');
}

/**
 * What an unvalidated document says about itself, kept for the record only where it is plain text
 * that fits: ids without controls, at most 128 UTF-16 units like the contract's.
 */
function factsOf(document: unknown): Omit<EventFacts, 'source' | 'producer'> {
  if (!isObject(document)) return {};
  const text = (v: unknown, max: number) => (typeof v === 'string' && v.trim().length > 0 && v.length <= max && !/\p{Cc}/u.test(v) ? v : undefined);
  return {
    id: text(document.id, 128),
    type: text(document.type, 64),
    actor: text(document.actor, 256),
    occurredAt: text(document.occurredAt, 64),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
