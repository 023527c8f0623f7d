import type { RetryErrorInfo, RetryToken, SdkError } from '@smithy/types';
import {
  RetryAfterStrategy,
  RetryBudget,
  RetryRefusedError,
  ThrottlePauseError,
  classifyForRetry,
  owedWaitMsOf,
  type RetryAfterStrategyOptions,
  type RetryNotice,
  type ThrottleNotice,
} from '../../lambdas/adapters/retry-after-strategy';

const NOW = 1_700_000_000_000;

function serviceError(name: string, status: number, fields: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} message`), { name, $fault: 'client', $metadata: { httpStatusCode: status }, ...fields });
}

function networkError(code: string, message = `connect ${code}`): Error {
  // What node:http hands the SDK: a plain Error with a code and no $metadata.
  return Object.assign(new Error(message), { code });
}

function infoFor(error: Error, extra: Partial<RetryErrorInfo> = {}): RetryErrorInfo {
  return { error: error as SdkError, errorType: 'CLIENT_ERROR', ...extra };
}

interface Harness {
  strategy: RetryAfterStrategy;
  pauses: number[];
  retries: RetryNotice[];
  throttles: ThrottleNotice[];
  budget: RetryBudget;
}

function harness(options: Partial<RetryAfterStrategyOptions> = {}): Harness {
  const pauses: number[] = [];
  const retries: RetryNotice[] = [];
  const throttles: ThrottleNotice[] = [];
  const budget = options.budget ?? new RetryBudget();
  const strategy = new RetryAfterStrategy({
    now: () => NOW,
    random: () => 0.5,
    limiter: { pauseUntil: (epochMs) => pauses.push(epochMs) },
    onRetry: (notice) => retries.push(notice),
    onThrottle: (notice) => throttles.push(notice),
    budget,
    ...options,
  });
  return { strategy, pauses, retries, throttles, budget };
}

async function firstRetry(strategy: RetryAfterStrategy, info: RetryErrorInfo): Promise<RetryToken> {
  const initial = await strategy.acquireInitialRetryToken('');
  return strategy.refreshRetryTokenForRetry(initial, info);
}

describe('classifyForRetry', () => {
  it.each([
    ['ThrottlingException', 'server-paced', serviceError('ThrottlingException', 400)],
    ['InternalServerException', 'server-paced', serviceError('InternalServerException', 500)],
    ['Conflict CONCURRENT_MODIFICATION', 'backoff', serviceError('ConflictException', 409, { Reason: 'CONCURRENT_MODIFICATION' })],
    ['ECONNRESET', 'backoff', networkError('ECONNRESET')],
    ['EPIPE', 'backoff', networkError('EPIPE')],
    ['ETIMEDOUT', 'backoff', networkError('ETIMEDOUT')],
    ['socket hang up', 'backoff', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['socket hang up without code', 'backoff', new Error('socket hang up')],
    ['TimeoutError', 'backoff', Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
    ['bare 503', 'backoff', serviceError('UnknownError', 503)],
    ['bare 502', 'backoff', serviceError('Error', 502)],
    ['ValidationException', 'permanent', serviceError('ValidationException', 400)],
    ['ResourceNotFoundException', 'permanent', serviceError('ResourceNotFoundException', 404)],
    ['AccessDeniedException', 'permanent', serviceError('AccessDeniedException', 403)],
    ['ServiceQuotaExceededException', 'permanent', serviceError('ServiceQuotaExceededException', 402)],
    ['Conflict UNIQUENESS_CONSTRAINT_VIOLATION', 'permanent', serviceError('ConflictException', 409, { Reason: 'UNIQUENESS_CONSTRAINT_VIOLATION' })],
    ['Conflict without reason', 'permanent', serviceError('ConflictException', 409)],
    ['unknown 4xx', 'permanent', serviceError('SomethingNewException', 400)],
    ['a pause past the budget', 'permanent', new ThrottlePauseError(1000)],
  ])('%s is %s', (_label, expected, error) => {
    expect(classifyForRetry(error)).toBe(expected);
  });

  it('treats an unnamed 429 as server-paced', () => {
    expect(classifyForRetry(serviceError('UnknownError', 429))).toBe('server-paced');
  });

  it('treats a connection-level error the SDK calls TRANSIENT as backoff', () => {
    expect(classifyForRetry(networkError('ERR_SOMETHING_NEW'), 'TRANSIENT')).toBe('backoff');
  });
});

describe('RetryAfterStrategy waits', () => {
  it('waits RetryAfterSeconds plus jitter for a throttle', async () => {
    const { strategy } = harness({ jitterMs: 250, random: () => 0.5 });
    const token = await firstRetry(strategy, infoFor(serviceError('ThrottlingException', 400, { RetryAfterSeconds: 1 })));
    expect(token.getRetryDelay()).toBe(1125);
    expect(token.getRetryCount()).toBe(1);
  });

  it.each([0, 0.999999])('never waits less than RetryAfterSeconds nor more than it plus the jitter (random %p)', async (random) => {
    const { strategy } = harness({ jitterMs: 250, random: () => random });
    const token = await firstRetry(strategy, infoFor(serviceError('InternalServerException', 500, { RetryAfterSeconds: 3 })));
    expect(token.getRetryDelay()).toBeGreaterThanOrEqual(3000);
    expect(token.getRetryDelay()).toBeLessThan(3250);
  });

  it('uses the Retry-After header hint when the body has no RetryAfterSeconds', async () => {
    const { strategy } = harness({ jitterMs: 0 });
    const token = await firstRetry(
      strategy,
      infoFor(serviceError('ThrottlingException', 429), { errorType: 'THROTTLING', retryAfterHint: new Date(NOW + 2000) }),
    );
    expect(token.getRetryDelay()).toBe(2000);
  });

  it('prefers the body field over the header hint', async () => {
    const { strategy } = harness({ jitterMs: 0 });
    const token = await firstRetry(
      strategy,
      infoFor(serviceError('ThrottlingException', 400, { RetryAfterSeconds: 4 }), { retryAfterHint: new Date(NOW + 1000) }),
    );
    expect(token.getRetryDelay()).toBe(4000);
  });

  it('backs off exponentially with full jitter, capped, when the server names no time', async () => {
    const { strategy } = harness({ maxAttempts: 20, random: () => 0.5, baseDelayMs: 100, maxBackoffMs: 20_000 });
    const error = serviceError('ThrottlingException', 400);
    let token = await strategy.acquireInitialRetryToken('');
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      token = await strategy.refreshRetryTokenForRetry(token, infoFor(error));
      delays.push(token.getRetryDelay());
    }
    expect(delays).toEqual([50, 100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
  });

  it('retries a concurrent modification with backoff', async () => {
    const { strategy } = harness({ random: () => 0.5 });
    const token = await firstRetry(strategy, infoFor(serviceError('ConflictException', 409, { Reason: 'CONCURRENT_MODIFICATION' })));
    expect(token.getRetryDelay()).toBe(50);
  });

  it('retries a reset connection with backoff', async () => {
    const { strategy } = harness({ random: () => 0.5 });
    const token = await firstRetry(strategy, infoFor(networkError('ECONNRESET'), { errorType: 'TRANSIENT' }));
    expect(token.getRetryCount()).toBe(1);
  });
});

describe('RetryAfterStrategy refusals', () => {
  it.each([
    ['ValidationException', serviceError('ValidationException', 400)],
    ['UNIQUENESS_CONSTRAINT_VIOLATION', serviceError('ConflictException', 409, { Reason: 'UNIQUENESS_CONSTRAINT_VIOLATION' })],
    ['AccessDeniedException', serviceError('AccessDeniedException', 403)],
  ])('refuses %s without marking a wait', async (_label, error) => {
    const { strategy, retries } = harness();
    await expect(firstRetry(strategy, infoFor(error))).rejects.toBeInstanceOf(RetryRefusedError);
    expect(owedWaitMsOf(error)).toBeUndefined();
    expect(retries).toEqual([]);
  });

  it('stops after maxAttempts and marks the wait still owed', async () => {
    const { strategy } = harness({ maxAttempts: 3, jitterMs: 0 });
    const error = serviceError('ThrottlingException', 400, { RetryAfterSeconds: 2 });
    let token = await strategy.acquireInitialRetryToken('');
    token = await strategy.refreshRetryTokenForRetry(token, infoFor(error));
    token = await strategy.refreshRetryTokenForRetry(token, infoFor(error));
    expect(token.getRetryCount()).toBe(2);
    await expect(strategy.refreshRetryTokenForRetry(token, infoFor(error))).rejects.toBeInstanceOf(RetryRefusedError);
    expect(owedWaitMsOf(error)).toBe(2000);
  });

  it('refuses a wait that would end past the budget deadline and marks it owed', async () => {
    const budget = new RetryBudget();
    budget.setDeadline(NOW + 999);
    const { strategy, retries } = harness({ budget, jitterMs: 0 });
    const error = serviceError('ThrottlingException', 400, { RetryAfterSeconds: 1 });
    await expect(firstRetry(strategy, infoFor(error))).rejects.toThrow(/outlast the invocation/);
    expect(owedWaitMsOf(error)).toBe(1000);
    expect(retries).toEqual([]);
  });

  it('grants a wait that ends exactly at the deadline', async () => {
    const budget = new RetryBudget();
    budget.setDeadline(NOW + 1000);
    const { strategy } = harness({ budget, jitterMs: 0 });
    const error = serviceError('ThrottlingException', 400, { RetryAfterSeconds: 1 });
    await expect(firstRetry(strategy, infoFor(error))).resolves.toBeDefined();
    expect(owedWaitMsOf(error)).toBeUndefined();
  });

  it('retries again once the deadline is lifted', async () => {
    const budget = new RetryBudget();
    budget.setDeadline(NOW);
    const { strategy } = harness({ budget });
    await expect(firstRetry(strategy, infoFor(serviceError('ThrottlingException', 400, { RetryAfterSeconds: 1 })))).rejects.toThrow();
    budget.setDeadline(undefined);
    await expect(firstRetry(strategy, infoFor(serviceError('ThrottlingException', 400, { RetryAfterSeconds: 1 })))).resolves.toBeDefined();
  });
});

describe('RetryAfterStrategy signals', () => {
  it('pauses the shared limiter until the time the server named', async () => {
    const { strategy, pauses } = harness();
    await firstRetry(strategy, infoFor(serviceError('ThrottlingException', 400, { RetryAfterSeconds: 2 })));
    expect(pauses).toEqual([NOW + 2000]);
  });

  it('pauses the limiter even when it gives up, so other callers do not walk into the throttle', async () => {
    const budget = new RetryBudget();
    budget.setDeadline(NOW);
    const { strategy, pauses } = harness({ budget });
    await expect(firstRetry(strategy, infoFor(serviceError('ThrottlingException', 400, { RetryAfterSeconds: 5 })))).rejects.toThrow();
    expect(pauses).toEqual([NOW + 5000]);
  });

  it('does not pause the limiter for plain backoff', async () => {
    const { strategy, pauses } = harness();
    await firstRetry(strategy, infoFor(serviceError('ThrottlingException', 400)));
    expect(pauses).toEqual([]);
  });

  it('reports each retry and each throttle', async () => {
    const { strategy, retries, throttles } = harness({ jitterMs: 0 });
    await firstRetry(strategy, infoFor(serviceError('ThrottlingException', 400, { RetryAfterSeconds: 1 })));
    await firstRetry(strategy, infoFor(serviceError('InternalServerException', 500)));
    expect(throttles).toEqual([{ errorName: 'ThrottlingException', retryAfterSeconds: 1 }]);
    expect(retries).toEqual([
      { errorName: 'ThrottlingException', delayMs: 1000, attempt: 1, retryAfterSeconds: 1 },
      { errorName: 'InternalServerException', delayMs: 50, attempt: 1, retryAfterSeconds: undefined },
    ]);
  });

  it('names a bare network error by its code', async () => {
    const { strategy, retries } = harness();
    await firstRetry(strategy, infoFor(networkError('EPIPE')));
    expect(retries[0]?.errorName).toBe('EPIPE');
  });
});
