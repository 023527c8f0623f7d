/**
 * How a step says an event cannot go on. Appliers throw these deep inside a change; the engine
 * turns whatever was thrown into a Failure value once, at its boundary (classifyFailure), so the
 * record path above it handles values and never has to guess whether to retry.
 */
import { ERROR_CODES, type ErrorCode, type RejectionCode, type RetryCode } from './error-codes';
import { InvalidRequestError } from './ports';

/** The event itself is wrong: retrying cannot help. Recorded REJECTED and sent to the DLQ. */
export class EventRejectedError extends Error {
  readonly code: RejectionCode;
  constructor(code: RejectionCode, message: string) {
    super(message);
    this.name = 'EventRejectedError';
    this.code = code;
  }
}

/**
 * Not now, maybe later: throttling that outlasted the time budget, a group that does not
 * exist yet, the deletion cap, an unavailable audit store. `owedWaitMs` is how long the
 * caller should keep the event away before trying again (0 when no particular wait is owed).
 */
export class RetryableError extends Error {
  readonly code: RetryCode;
  readonly owedWaitMs: number;
  constructor(code: RetryCode, message: string, owedWaitMs = 0, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableError';
    this.code = code;
    this.owedWaitMs = owedWaitMs;
  }
}

/** Why an attempt did not end in APPLIED, NOOP or SUPERSEDED, as a value. */
export interface Failure {
  code: ErrorCode;
  message: string;
  /** How long to keep the event away before the next try (0: no particular wait owed). */
  owedWaitMs: number;
  /** For a failure nothing classifies (UNEXPECTED): what to put in the function log. */
  unexpected?: { errorName: string; stack: string };
}

export function isRejection(failure: Failure): boolean {
  return ERROR_CODES[failure.code].kind !== 'retry';
}

/**
 * The one place a thrown error becomes a Failure:
 * - our own EventRejectedError / RetryableError carry their code;
 * - the Identity Store's ValidationException (InvalidRequestError) rejects the event with the
 *   service's message: it will refuse the same request on every retry;
 * - anything else is UNEXPECTED: retried a bounded number of times (the queue's maxReceiveCount),
 *   then FAILED, with its stack kept for the log. The stack's first line (the message) is left out:
 *   a message may quote a name from the event, and names stay out of the logs.
 */
export function classifyFailure(error: unknown): Failure {
  if (error instanceof EventRejectedError) return { code: error.code, message: error.message, owedWaitMs: 0 };
  if (error instanceof RetryableError) return { code: error.code, message: error.message, owedWaitMs: error.owedWaitMs };
  if (error instanceof InvalidRequestError) {
    return { code: 'IDENTITY_STORE_REFUSED', message: `the Identity Store refused the request: ${error.message}`, owedWaitMs: 0 };
  }
  const errorName = error instanceof Error ? error.name : typeof error;
  const stack = error instanceof Error && error.stack !== undefined ? error.stack.split('\n').slice(1).join('\n') : '';
  return { code: 'UNEXPECTED', message: `${errorName}: ${errorMessage(error)}`, owedWaitMs: 0, unexpected: { errorName, stack } };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
