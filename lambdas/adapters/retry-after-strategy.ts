/**
 * A retry strategy for the Identity Store client that honours the service's RetryAfterSeconds.
 *
 * The SDK's default strategy ignores the RetryAfterSeconds body field (measured: docs/performance.md), so
 * throttled calls come back too early and are throttled again. This strategy returns a token
 * whose getRetryDelay() is the wait; the SDK's retry middleware does the sleeping (sleeping here
 * as well would wait twice). Giving up is done by throwing from refreshRetryTokenForRetry: the
 * middleware then rethrows the original service error, which this module marks with the wait
 * that is still owed (owedWaitMsOf) so the caller can keep the event away that long.
 */
import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';
import type { CallPacer } from './rate-limiter';

export const DEFAULT_MAX_ATTEMPTS = 10;
export const DEFAULT_JITTER_MS = 250;
export const DEFAULT_BASE_DELAY_MS = 100;
export const DEFAULT_MAX_BACKOFF_MS = 20_000;

/**
 * The time an invocation may still spend waiting. One per client, shared by every call; the
 * handler moves the deadline at the start of each invocation (now + remaining time - margin).
 */
export class RetryBudget {
  private deadlineMs: number | undefined;

  /** Epoch milliseconds after which no retry wait may end; undefined = no deadline. */
  setDeadline(epochMs: number | undefined): void {
    this.deadlineMs = epochMs;
  }

  get deadline(): number | undefined {
    return this.deadlineMs;
  }

  allowsWaitUntil(epochMs: number): boolean {
    return this.deadlineMs === undefined || epochMs <= this.deadlineMs;
  }
}

/** Reported before every retry the strategy grants. */
export interface RetryNotice {
  errorName: string;
  /** How long the SDK will sleep before the next attempt. */
  delayMs: number;
  /** The attempt that failed (1 = the first call). */
  attempt: number;
  /** What the service asked for, when it said (body field or Retry-After header). */
  retryAfterSeconds?: number;
}

/** Reported for every throttling response, retried or not (the ThrottledCalls metric). */
export interface ThrottleNotice {
  errorName: string;
  retryAfterSeconds?: number;
}

/** What the strategy needs from the pacer: stop everyone until the server's time. */
export type PausableLimiter = Pick<CallPacer, 'pauseUntil'>;

export interface RetryAfterStrategyOptions {
  /** Total attempts including the first call. */
  maxAttempts?: number;
  budget?: RetryBudget;
  limiter?: PausableLimiter;
  /** Random extra wait added to RetryAfterSeconds, so paused callers do not return in lockstep. */
  jitterMs?: number;
  baseDelayMs?: number;
  maxBackoffMs?: number;
  onRetry?: (notice: RetryNotice) => void;
  onThrottle?: (notice: ThrottleNotice) => void;
  now?: () => number;
  /** Returns [0, 1), like Math.random. */
  random?: () => number;
}

/** How an error is retried: paced by the server's RetryAfterSeconds, by backoff, or not at all. */
export type RetryClass = 'server-paced' | 'backoff' | 'permanent';

const SERVER_PACED_ERRORS = new Set(['ThrottlingException', 'InternalServerException']);
const PERMANENT_ERRORS = new Set([
  'ThrottlePauseError',
  'ValidationException',
  'ResourceNotFoundException',
  'AccessDeniedException',
  'ServiceQuotaExceededException',
]);
const NETWORK_ERROR_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);
const NETWORK_ERROR_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  Reason?: unknown;
  RetryAfterSeconds?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const shapeOf = (error: unknown): ErrorShape =>
  typeof error === 'object' && error !== null ? (error as ErrorShape) : {};

/** The service's error name; for a bare Node network error (name 'Error'), its code. */
export function errorNameOf(error: unknown): string {
  const { name, code } = shapeOf(error);
  if ((name === undefined || name === 'Error') && typeof code === 'string' && code !== '') return code;
  return typeof name === 'string' && name !== '' ? name : 'UnknownError';
}

function isNetworkError(error: unknown): boolean {
  const { code, message, name } = shapeOf(error);
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
  if (typeof name === 'string' && NETWORK_ERROR_NAMES.has(name)) return true;
  return typeof message === 'string' && /socket hang up/i.test(message);
}

/** The retry classification table (exported for the adapter's error mapping and for tests). */
export function classifyForRetry(error: unknown, sdkErrorType?: RetryErrorInfo['errorType']): RetryClass {
  const shape = shapeOf(error);
  const name = errorNameOf(error);
  const status = shape.$metadata?.httpStatusCode;
  if (SERVER_PACED_ERRORS.has(name)) return 'server-paced';
  if (PERMANENT_ERRORS.has(name)) return 'permanent';
  if (name === 'ConflictException') {
    // Only a lost race is worth repeating; a uniqueness clash would clash again.
    return shape.Reason === 'CONCURRENT_MODIFICATION' ? 'backoff' : 'permanent';
  }
  if (isNetworkError(error)) return 'backoff';
  if (status === 429 || sdkErrorType === 'THROTTLING') return 'server-paced';
  if (status !== undefined && status >= 500) return 'backoff';
  // No HTTP response at all and the SDK calls it transient: a connection-level failure.
  if (status === undefined && sdkErrorType === 'TRANSIENT') return 'backoff';
  return 'permanent';
}

export function isThrottle(error: unknown, sdkErrorType?: RetryErrorInfo['errorType']): boolean {
  return (
    errorNameOf(error) === 'ThrottlingException' ||
    shapeOf(error).$metadata?.httpStatusCode === 429 ||
    sdkErrorType === 'THROTTLING'
  );
}

const owedWaits = new WeakMap<object, number>();

/**
 * The wait (ms) still owed on an error the strategy gave up on, measured from when it gave up.
 * Undefined for errors the strategy never meant to retry.
 */
export function owedWaitMsOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null ? owedWaits.get(error) : undefined;
}

/** Record the wait still owed on an error that will not be retried here. */
export function markOwedWait(error: unknown, owedMs: number): void {
  if (typeof error === 'object' && error !== null) owedWaits.set(error, Math.max(0, owedMs));
}

/**
 * The process is paused (a throttle named a time) past the invocation's deadline: waiting in
 * the limiter would run the invocation out, so the call fails at once with the wait owed.
 */
export class ThrottlePauseError extends Error {
  constructor(pausedForMs: number) {
    super(`calls are paused by an earlier throttle for another ${pausedForMs} ms, beyond the time budget`);
    this.name = 'ThrottlePauseError';
    markOwedWait(this, pausedForMs);
  }
}

/** Thrown from refreshRetryTokenForRetry to stop; the SDK middleware rethrows the service error instead. */
export class RetryRefusedError extends Error {
  constructor(reason: string) {
    super(`retry refused: ${reason}`);
    this.name = 'RetryRefusedError';
  }
}

class AttemptToken implements RetryToken {
  constructor(
    private readonly retryCount: number,
    private readonly delayMs: number,
  ) {}
  getRetryCount(): number {
    return this.retryCount;
  }
  getRetryDelay(): number {
    return this.delayMs;
  }
}

export class RetryAfterStrategy implements RetryStrategyV2 {
  readonly maxAttempts: number;
  readonly budget: RetryBudget;
  private readonly options: RetryAfterStrategyOptions;
  private readonly jitterMs: number;
  private readonly baseDelayMs: number;
  private readonly maxBackoffMs: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(options: RetryAfterStrategyOptions = {}) {
    this.options = options;
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new RangeError('maxAttempts must be an integer >= 1');
    }
    this.budget = options.budget ?? new RetryBudget();
    this.jitterMs = options.jitterMs ?? DEFAULT_JITTER_MS;
    this.baseDelayMs = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.maxBackoffMs = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  async acquireInitialRetryToken(_retryTokenScope: string): Promise<RetryToken> {
    return new AttemptToken(0, 0);
  }

  async refreshRetryTokenForRetry(token: RetryToken, errorInfo: RetryErrorInfo): Promise<RetryToken> {
    const error = errorInfo.error;
    const retryClass = classifyForRetry(error, errorInfo.errorType);
    const errorName = errorNameOf(error);
    const failedAttempt = token.getRetryCount() + 1;
    const retryAfterMs = retryClass === 'permanent' ? undefined : this.serverRetryAfterMs(errorInfo);
    const retryAfterSeconds = retryAfterMs === undefined ? undefined : retryAfterMs / 1000;

    const throttled = isThrottle(error, errorInfo.errorType);
    if (throttled) this.options.onThrottle?.({ errorName, retryAfterSeconds });
    // Everyone waits for the server, not only the caller that was told.
    if (retryAfterMs !== undefined && retryAfterMs > 0) {
      this.options.limiter?.pauseUntil(this.now() + retryAfterMs, throttled ? 'throttle' : 'server-asked');
    }

    if (retryClass === 'permanent') throw new RetryRefusedError(`${errorName} is not retryable`);

    const delayMs =
      retryAfterMs !== undefined
        ? retryAfterMs + Math.floor(this.random() * this.jitterMs)
        : this.backoffMs(failedAttempt);

    if (failedAttempt >= this.maxAttempts) {
      markOwedWait(error, delayMs);
      throw new RetryRefusedError(`${errorName} after ${failedAttempt} attempts`);
    }
    if (!this.budget.allowsWaitUntil(this.now() + delayMs)) {
      markOwedWait(error, delayMs);
      throw new RetryRefusedError(`${errorName}: a ${delayMs} ms wait would outlast the invocation`);
    }
    this.options.onRetry?.({ errorName, delayMs, attempt: failedAttempt, retryAfterSeconds });
    return new AttemptToken(failedAttempt, delayMs);
  }

  recordSuccess(_token: RetryToken): void {
    // No shared retry quota: pacing is the rate limiter's job.
  }

  /** RetryAfterSeconds from the body first, else the SDK's parse of a Retry-After header. */
  private serverRetryAfterMs(errorInfo: RetryErrorInfo): number | undefined {
    const fromBody = shapeOf(errorInfo.error).RetryAfterSeconds;
    if (typeof fromBody === 'number' && Number.isFinite(fromBody) && fromBody >= 0) return fromBody * 1000;
    if (errorInfo.retryAfterHint instanceof Date) {
      return Math.max(0, errorInfo.retryAfterHint.getTime() - this.now());
    }
    return undefined;
  }

  /** Exponential backoff with full jitter; `failedAttempt` starts at 1. */
  private backoffMs(failedAttempt: number): number {
    const ceiling = Math.min(this.maxBackoffMs, this.baseDelayMs * 2 ** (failedAttempt - 1));
    return Math.floor(this.random() * ceiling);
  }
}
