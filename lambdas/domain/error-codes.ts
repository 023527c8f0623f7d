/**
 * Every error code this service can put on an outcome: in the audit trail, on the outcome event
 * (identity.change.rejected / identity.change.failed), in the DLQ's reason attributes, in the logs.
 * The codes are part of the outcome-event contract, so the set is closed: a code that is not here
 * does not type-check, and docs/record-path.md lists exactly these (a test holds it to that).
 *
 * `kind` decides what happens to the event, once, here:
 * - `rejected`: the event itself is wrong or not allowed; retrying cannot help. Recorded REJECTED,
 *   moved to the DLQ with the reason, acknowledged.
 * - `retry`: not now, maybe later. Recorded RETRYING and redelivered (after the wait it owes);
 *   on the queue's last delivery, recorded FAILED and moved to the DLQ with the reason.
 * - `untrusted`: SQS did not confirm the record; nothing in it is believed and nothing is done to
 *   the message (it may not be ours to touch). Recorded REJECTED, reported failed.
 */
export const ERROR_CODES = {
  // The message, before the event is read.
  MALFORMED_JSON: { kind: 'rejected', meaning: 'The body is not JSON this service accepts: not JSON, a duplicate or reserved key, too deep, too large, or not valid Unicode.' },
  INVALID_ENVELOPE: { kind: 'rejected', meaning: 'On the bus queue: the body is not an EventBridge event.' },
  DETAIL_TYPE_MISMATCH: { kind: 'rejected', meaning: "The EventBridge detail-type differs from the event's type." },
  UNCONFIRMED_RECORD: { kind: 'untrusted', meaning: 'SQS did not confirm the record as received from the queue it names (a hand-made invocation).' },
  // Who sent it.
  PRODUCER_UNKNOWN: { kind: 'rejected', meaning: 'No declared producer sent it by this door (an undeclared source or sender).' },
  PRODUCER_NOT_ALLOWED: { kind: 'rejected', meaning: "The producer's grant does not cover this event type or group." },
  // The event.
  INVALID_EVENT: { kind: 'rejected', meaning: 'The v1 document breaks the contract; the message names the field and the rule.' },
  ID_REUSED: { kind: 'rejected', meaning: 'The producer used this event id within the last hour for a different change.' },
  OCCURRED_AT_OUT_OF_RANGE: { kind: 'rejected', meaning: 'occurredAt is later than now plus the allowed clock skew, or earlier than the configured floor.' },
  WRONG_IDENTITY_STORE: { kind: 'rejected', meaning: "identityStoreId names another identity store than this deployment's." },
  // What applying it would do.
  GROUP_NOT_MANAGED: { kind: 'rejected', meaning: 'The group is outside the managed scope; this service never changes it.' },
  TOO_MANY_REMOVALS: { kind: 'rejected', meaning: 'A group list would remove more memberships at once than the configured maximum.' },
  IDENTITY_STORE_REFUSED: { kind: 'rejected', meaning: "The Identity Store refused a request as invalid (ValidationException); the message is the service's." },
  // Not now.
  SUBJECT_BUSY: { kind: 'retry', meaning: 'Another change to the same person or group was being applied.' },
  LEASE_LAPSED: { kind: 'retry', meaning: "The attempt reached its invocation's deadline, when its subject lease lapses, before a write: no write is made after it." },
  USER_NOT_FOUND: { kind: 'retry', meaning: 'The user does not exist yet; the event creating it may still be on its way.' },
  GROUP_NOT_FOUND: { kind: 'retry', meaning: 'The group does not exist yet; the event creating it may still be on its way.' },
  USER_NAME_TAKEN: { kind: 'retry', meaning: 'The new user name belongs to another user; a pending rename or delete may free it.' },
  USER_CREATE_RACE: { kind: 'retry', meaning: 'The user name was taken and released concurrently.' },
  GROUP_CREATE_RACE: { kind: 'retry', meaning: 'The group was created concurrently.' },
  STALE_REFERENCE: { kind: 'retry', meaning: 'A user or group was deleted or re-created while the change was applied.' },
  DELETION_CAP_REACHED: { kind: 'retry', meaning: "The deletion cap for the current window is used up; the deletion waits for the window's end." },
  AUDIT_UNAVAILABLE: { kind: 'retry', meaning: 'The audit trail could not be written; no write is made without its record.' },
  STATE_UNAVAILABLE: { kind: 'retry', meaning: 'The processing-state table could not be read or written.' },
  IDENTITY_STORE_THROTTLED: { kind: 'retry', meaning: 'The Identity Store kept throttling past the time this attempt had.' },
  IDENTITY_STORE_UNAVAILABLE: { kind: 'retry', meaning: 'The Identity Store failed (server error, network, malformed response, or a conflict that may clear).' },
  IDENTITY_STORE_ACCESS_DENIED: { kind: 'retry', meaning: "The function's role may not make the call: a deployment problem, retried until fixed or FAILED." },
  IDENTITY_STORE_NOT_FOUND: { kind: 'retry', meaning: 'The configured identity store does not exist: a deployment problem.' },
  IDENTITY_STORE_QUOTA_EXCEEDED: { kind: 'retry', meaning: 'A service quota of the identity store is used up (e.g. users or groups per store).' },
  UNEXPECTED: { kind: 'retry', meaning: 'A failure nothing above explains (a bug): retried a bounded number of times, then FAILED; its stack is in the function log.' },
} as const satisfies Record<string, { kind: 'rejected' | 'retry' | 'untrusted'; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
type CodeOfKind<K> = { [C in ErrorCode]: (typeof ERROR_CODES)[C]['kind'] extends K ? C : never }[ErrorCode];
/** Codes that reject an event: the event is at fault, retrying cannot help. */
export type RejectionCode = CodeOfKind<'rejected' | 'untrusted'>;
/** Codes that send an event back to the queue. */
export type RetryCode = CodeOfKind<'retry'>;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

/** Refusals of the sender rather than the content: counted by the ProducerRefused metric and alarm. */
export const PRODUCER_REFUSAL_CODES: readonly ErrorCode[] = ['PRODUCER_UNKNOWN', 'PRODUCER_NOT_ALLOWED', 'UNCONFIRMED_RECORD'];
