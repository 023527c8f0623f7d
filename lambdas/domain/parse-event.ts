/**
 * From a queue message body to a validated identity change. The body is either the v1 document
 * itself (sent straight to SQS) or an EventBridge event whose `detail` is the document (the bus
 * rule delivers those to the same queue). Anything else is rejected with a message that names
 * the field and the rule.
 */
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import type { z } from 'zod';
import { EventRejectedError } from './errors';
import { identityChangeSchema, type IdentityChange } from './identity-change';

export interface ParsedEvent {
  change: IdentityChange;
  /** `sqs` for a bare document, else the EventBridge `source`. */
  source: string;
}

/** What could be read from an event that was rejected, so its audit record is findable. */
export interface RejectedEventFacts {
  id?: string;
  type?: string;
  actor?: string;
  occurredAt?: string;
  source: string;
}

export class InvalidEventError extends EventRejectedError {
  readonly facts: RejectedEventFacts;
  constructor(code: string, message: string, facts: RejectedEventFacts) {
    super(code, message);
    this.name = 'InvalidEventError';
    this.facts = facts;
  }
}

export function parseEvent(body: string): ParsedEvent {
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch (error) {
    throw new InvalidEventError('MALFORMED_JSON', `body: is not valid JSON (${(error as Error).message})`, { source: 'unknown' });
  }

  let source = 'sqs';
  let prefix = '';
  if (isObject(document) && ('detail-type' in document || 'detail' in document)) {
    const envelope = EventBridgeSchema.safeParse(document);
    if (!envelope.success) {
      throw new InvalidEventError('INVALID_ENVELOPE', `EventBridge envelope: ${describeIssues(envelope.error)}`, {
        source: typeof document.source === 'string' ? document.source : 'eventbridge',
      });
    }
    source = envelope.data.source;
    prefix = 'detail.';
    document = envelope.data.detail;
    const detailType = envelope.data['detail-type'];
    if (isObject(document) && document.type !== undefined && document.type !== detailType) {
      throw new InvalidEventError(
        'DETAIL_TYPE_MISMATCH',
        `detail-type: must equal detail.type ("${String(document.type)}"), got "${detailType}"`,
        { ...factsOf(document), source },
      );
    }
  }

  const parsed = identityChangeSchema.safeParse(document);
  if (!parsed.success) {
    throw new InvalidEventError('INVALID_EVENT', describeIssues(parsed.error, prefix), { ...factsOf(document), source });
  }
  return { change: parsed.data, source };
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

function factsOf(document: unknown): Omit<RejectedEventFacts, 'source'> {
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
