/**
 * Who sent a record, and whether they may ask for what it asks.
 *
 * The producer comes only from what AWS vouches for, never from the event body:
 * - a record whose queue (eventSourceARN) is a producer queue was sent by that producer: only its
 *   principals may send there (queue policy). Its body must be a bare v1 document.
 * - any other record came through the bus queue, which only the bus rule may fill. Its body must
 *   be an EventBridge envelope whose `source` is a declared bus producer's (the bus policy ties
 *   each source to that producer's principals) and whose `account` (set by EventBridge to the
 *   sender's account) is one of that producer's accounts.
 * Anything else is PRODUCER_UNKNOWN. A change beyond the producer's grant (an event type it may not
 * send, a group it may not touch) is PRODUCER_NOT_ALLOWED. Both are rejections: retrying cannot help.
 */
import { groupInGrant, type ProducerGrant, type ProducerVia, type RuntimeProducer } from '../shared/producers';
import type { IdentityChange } from './identity-change';

/** The refusals decided here (and in the runtime, for UNCONFIRMED_RECORD): see error-codes.ts. */
export { PRODUCER_REFUSAL_CODES } from './error-codes';
/** `producer` on records of a message whose producer could not be verified (a name no producer may take). */
export { UNVERIFIED_PRODUCER } from '../shared/producers';

/** Where a record came from, as AWS tells it: the queue, and SQS's SenderId. */
export interface RecordOrigin {
  /** The record's eventSourceARN. */
  queueArn: string;
  /** SQS's SenderId attribute, kept raw (the sending principal's unique id, or the rule's). */
  senderId: string;
}

/**
 * The door a record came in by. `queue`: a producer queue, so its producer is known before the
 * body is read. `bus`: the bus queue, where only the envelope's source and account can tell.
 */
export type Door = { via: 'queue'; producer: RuntimeProducer } | { via: 'bus' };

export function doorOf(origin: RecordOrigin, producers: readonly RuntimeProducer[]): Door {
  const owner = producers.find((producer) => producer.via === 'queue' && producer.queueArn === origin.queueArn);
  return owner ? { via: 'queue', producer: owner } : { via: 'bus' };
}

/** The producer a record is verified to come from. */
export interface VerifiedProducer {
  producer: RuntimeProducer;
  via: ProducerVia;
}

/** Why a record's producer could not be verified (PRODUCER_UNKNOWN), naming what is wrong. */
export type ProducerRefusal = { refused: string };

/**
 * The producer of a parsed body that arrived by `door`. `document` is the parsed JSON body.
 * For the bus queue only `source` and `account` are read here; the rest of the envelope is
 * validated after, once the producer is known.
 */
export function verifyProducer(door: Door, document: unknown, producers: readonly RuntimeProducer[]): VerifiedProducer | ProducerRefusal {
  const envelope = looksLikeEnvelope(document);
  if (door.via === 'queue') {
    if (envelope) {
      return {
        refused: `body: is an EventBridge envelope, but this is producer "${door.producer.name}"'s own queue: send the bare v1 document to this queue (an envelope's source cannot be verified here)`,
      };
    }
    return { producer: door.producer, via: 'queue' };
  }

  if (!envelope) {
    return {
      refused:
        "body: is not an EventBridge event, and on the bus queue only the envelope the bus builds names its producer: no producer can be verified: send through the bus with your producer's source, or to your producer queue",
    };
  }
  const { source, account } = document;
  if (typeof source !== 'string' || source.length === 0) {
    return { refused: 'source: is required: the EventBridge envelope names no source, so no producer can be verified' };
  }
  // EventBridge compares sources exactly (case-sensitive), and so do we.
  const producer = producers.find((candidate) => candidate.via === 'bus' && candidate.source === source);
  if (!producer) {
    const declared = producers.filter((p) => p.via === 'bus').map((p) => p.source);
    return {
      refused: `source: "${printable(source)}" is not the source of a declared bus producer (declared: ${declared.length > 0 ? declared.join(', ') : 'none'})`,
    };
  }
  const accounts = producer.accounts ?? [];
  if (typeof account !== 'string' || !accounts.includes(account)) {
    return {
      refused: `account: ${typeof account === 'string' ? `"${printable(account)}"` : 'is missing and'} is not one of producer "${producer.name}"'s accounts (${accounts.join(', ') || 'none'})`,
    };
  }
  return { producer, via: 'bus' };
}

export function isRefusal(value: VerifiedProducer | ProducerRefusal): value is ProducerRefusal {
  return 'refused' in value;
}

/**
 * What a change asks of its producer's grant that the grant does not give, as the rejection
 * message; undefined when the change is within the grant. Pure: called before any Identity Store call.
 */
export function grantRefusal(change: IdentityChange, producer: { name: string } & ProducerGrant): string | undefined {
  if (!producer.eventTypes.includes(change.type)) {
    return `producer "${producer.name}" may not send ${change.type} (it may send ${producer.eventTypes.join(', ') || 'nothing'})`;
  }
  const outside = groupsTouchedBy(change).filter((group) => !groupInGrant(group, producer.groups));
  if (outside.length === 0) return undefined;
  const named = [...new Set(outside)].map((group) => `"${printable(group)}"`).join(', ');
  return `producer "${producer.name}" may not touch group${outside.length > 1 ? 's' : ''} ${named} (its groups: ${producer.groups.join(', ') || 'none'})`;
}

/** The groups a change touches by name: the grant's `groups` patterns must cover each. */
export function groupsTouchedBy(change: IdentityChange): string[] {
  switch (change.type) {
    case 'group.upserted':
      return [change.data.group.DisplayName];
    case 'group.deleted':
      return [change.data.displayName];
    case 'membership.added':
    case 'membership.removed':
      return [change.data.groupDisplayName];
    case 'user.upserted':
      return change.data.groups ?? [];
    case 'user.deleted':
      return [];
  }
}

/** An EventBridge envelope, as opposed to a bare v1 document (which has neither member). */
export function looksLikeEnvelope(document: unknown): document is Record<string, unknown> {
  return typeof document === 'object' && document !== null && !Array.isArray(document) && ('detail-type' in document || 'detail' in document);
}

/**
 * Names from a sender are shown with invisible and look-alike-prone characters escaped, so a
 * reviewer reading "Engineering\u00a0" sees why it was refused.
 */
function printable(text: string): string {
  const shown = text.length > 128 ? `${text.slice(0, 128)}…` : text;
  return shown.replace(/[^\x21-\x7e ]|\s(?=$)/gu, (char) => `\\u${char.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}
