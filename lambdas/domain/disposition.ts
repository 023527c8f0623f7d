/**
 * What the queue must do with a message once its outcome is known: the one place that decides it.
 * Pure: the handler carries it out (lambdas/handlers/consume-record.ts).
 */
import { ERROR_CODES, type ErrorCode } from './error-codes';
import type { Failure } from './errors';

/** Longest backoff for a retry the service owed no wait for. */
export const MAX_REDELIVERY_DELAY_SECONDS = 900;

export type Disposition =
  /** Done (APPLIED, NOOP, SUPERSEDED): acknowledge. */
  | { kind: 'ack' }
  /** Rejected, or failed on its last delivery: move to the DLQ with the reason, then acknowledge. */
  | { kind: 'deadLetter'; code: ErrorCode; reason: string }
  /** Not now: keep it away this long, then it comes back. */
  | { kind: 'retryAfter'; seconds: number }
  /** Not trusted (SQS did not confirm it): report it failed and touch nothing. */
  | { kind: 'leave' };

export interface DispositionFacts {
  /** Why the attempt did not succeed; absent when it did. */
  failure?: Failure;
  /** Whether the outcome reached the audit trail. Nothing is acknowledged before it has. */
  recorded: boolean;
  /** 1 on first delivery. */
  receiveCount: number;
  /** The delivery after which the queue itself moves the message to its DLQ. */
  maxReceiveCount: number;
  redeliveryBaseDelaySeconds: number;
}

export function dispositionOf(facts: DispositionFacts): Disposition {
  const { failure, recorded, receiveCount, maxReceiveCount, redeliveryBaseDelaySeconds } = facts;
  // A record SQS did not confirm is never touched, recorded or not.
  if (failure !== undefined && ERROR_CODES[failure.code].kind === 'untrusted') return { kind: 'leave' };
  // Unrecorded, nothing may be acknowledged: it comes back (and, past the last delivery, the
  // queue's own redrive keeps it in the DLQ).
  if (!recorded) return { kind: 'retryAfter', seconds: redeliveryBackoffSeconds(receiveCount, redeliveryBaseDelaySeconds) };
  if (failure === undefined) return { kind: 'ack' };
  switch (ERROR_CODES[failure.code].kind) {
    case 'untrusted':
      return { kind: 'leave' };
    case 'rejected':
      return { kind: 'deadLetter', code: failure.code, reason: failure.message };
    case 'retry':
      // FAILED: the reason goes with it, rather than the queue's redrive moving it without one.
      if (receiveCount >= maxReceiveCount) return { kind: 'deadLetter', code: failure.code, reason: failure.message };
      return {
        kind: 'retryAfter',
        seconds: failure.owedWaitMs > 0 ? failure.owedWaitMs / 1000 : redeliveryBackoffSeconds(receiveCount, redeliveryBaseDelaySeconds),
      };
  }
}

/** base * 2^(receives - 1) seconds, at most 15 minutes. */
function redeliveryBackoffSeconds(receiveCount: number, baseSeconds: number): number {
  return Math.min(MAX_REDELIVERY_DELAY_SECONDS, baseSeconds * 2 ** (receiveCount - 1));
}
