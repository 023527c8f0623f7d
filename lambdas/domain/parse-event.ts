/**
 * From a queue message body to a validated identity change from a verified producer. The shape a
 * body may have follows from the door it came in by (lambdas/domain/producer.ts): on a producer
 * queue, the bare v1 document; on the bus queue, an EventBridge event whose `detail` is the
 * document. The body is parsed once; the producer is verified first, then the document is
 * validated. Anything else is rejected with a message that names the field and the rule.
 */
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import type { z } from 'zod';
import type { RuntimeProducer } from '../shared/producers';
import { EventRejectedError } from './errors';
import { identityChangeSchema, type IdentityChange } from './identity-change';
import { isRefusal, PRODUCER_UNKNOWN, verifyProducer, type Door, type VerifiedProducer } from './producer';

export interface ParsedEvent {
  change: IdentityChange;
  /** `sqs` for a bare document (a producer queue), else the EventBridge `source`. */
  source: string;
  producer: VerifiedProducer;
}

/** What could be read from an event that was rejected, so its audit record is findable. */
export interface RejectedEventFacts {
  id?: string;
  type?: string;
  actor?: string;
  occurredAt?: string;
  source: string;
  /** Absent when no producer could be verified. */
  producer?: VerifiedProducer;
}

export class InvalidEventError extends EventRejectedError {
  readonly facts: RejectedEventFacts;
  constructor(code: string, message: string, facts: RejectedEventFacts) {
    super(code, message);
    this.name = 'InvalidEventError';
    this.facts = facts;
  }
}

export function parseEvent(body: string, door: Door, producers: readonly RuntimeProducer[]): ParsedEvent {
  // A producer queue vouches for its producer whatever the body holds.
  const queueProducer: VerifiedProducer | undefined = door.via === 'queue' ? { producer: door.producer, via: 'queue' } : undefined;
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch (error) {
    throw new InvalidEventError('MALFORMED_JSON', `body: is not valid JSON (${(error as Error).message})`, {
      source: door.via === 'queue' ? 'sqs' : 'unknown',
      producer: queueProducer,
    });
  }

  const verified = verifyProducer(door, document, producers);
  if (isRefusal(verified)) {
    const claimed = isObject(document) && isObject(document.detail) ? document.detail : document;
    const source = isObject(document) && typeof document.source === 'string' ? document.source : door.via === 'queue' ? 'sqs' : 'unknown';
    throw new InvalidEventError(PRODUCER_UNKNOWN, verified.refused, { ...factsOf(claimed), source, producer: queueProducer });
  }

  if (verified.via === 'queue') return validated(document, '', { source: 'sqs', producer: verified });

  const envelope = EventBridgeSchema.safeParse(document);
  if (!envelope.success) {
    const source = isObject(document) && typeof document.source === 'string' ? document.source : 'eventbridge';
    throw new InvalidEventError('INVALID_ENVELOPE', `EventBridge envelope: ${describeIssues(envelope.error)}`, { source, producer: verified });
  }
  const { source, detail } = envelope.data;
  const detailType = envelope.data['detail-type'];
  if (isObject(detail) && detail.type !== undefined && detail.type !== detailType) {
    throw new InvalidEventError(
      'DETAIL_TYPE_MISMATCH',
      `detail-type: must equal detail.type ("${String(detail.type)}"), got "${detailType}"`,
      { ...factsOf(detail), source, producer: verified },
    );
  }
  return validated(detail, 'detail.', { source, producer: verified });
}

function validated(document: unknown, prefix: string, from: { source: string; producer: VerifiedProducer }): ParsedEvent {
  const parsed = identityChangeSchema.safeParse(document);
  if (!parsed.success) {
    throw new InvalidEventError('INVALID_EVENT', describeIssues(parsed.error, prefix), { ...factsOf(document), ...from });
  }
  return { change: parsed.data, ...from };
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

function factsOf(document: unknown): Omit<RejectedEventFacts, 'source' | 'producer'> {
  if (!isObject(document)) return {};
  const text = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length <= 128 ? v : undefined);
  return {
    id: text(document.id),
    type: text(document.type),
    actor: text(document.actor),
    occurredAt: text(document.occurredAt),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
