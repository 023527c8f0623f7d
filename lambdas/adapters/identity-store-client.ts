/**
 * Builds the one IdentitystoreClient a process uses (created at cold start, reused by every
 * invocation): RetryAfterStrategy as its retry strategy and a pacer on every HTTP attempt,
 * retries included: the deployment's SharedQuota in the functions, or a RateLimiter of this
 * process's own (command-line tools, tests). The endpoint is the SDK's own business: AWS_ENDPOINT_URL_IDENTITYSTORE
 * points it at the local emulator, so the Lambda code has no local-only branch.
 */
import {
  IdentitystoreClient,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-identitystore';
import type { AwsCredentialIdentity, FinalizeRequestMiddleware } from '@smithy/types';
import { RateLimiter, type CallPacer } from './rate-limiter';
import {
  RetryAfterStrategy,
  RetryBudget,
  ThrottlePauseError,
  type RetryNotice,
  type ThrottleNotice,
} from './retry-after-strategy';

export interface IdentityStoreClientOptions {
  region: string;
  /** Paces every attempt; when absent, a RateLimiter of this process's own at `requestsPerSecond`. */
  pacer?: CallPacer;
  /** The rate of the process's own RateLimiter (ignored with a pacer). */
  requestsPerSecond?: number;
  burst?: number;
  /** The handler moves its deadline per invocation; a fresh one (no deadline) when absent. */
  budget?: RetryBudget;
  /** Only for tests; deployments leave it to AWS_ENDPOINT_URL_IDENTITYSTORE or the AWS default. */
  endpoint?: string;
  credentials?: AwsCredentialIdentity;
  maxAttempts?: number;
  jitterMs?: number;
  onRetry?: (notice: RetryNotice) => void;
  onThrottle?: (notice: ThrottleNotice) => void;
  /** A hung connection must not eat the whole invocation: it fails as a retryable TimeoutError. */
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
}

export interface IdentityStoreClientBundle {
  client: IdentitystoreClient;
  limiter: CallPacer;
  budget: RetryBudget;
}

/** The SDK's name for its retry loop; the limiter sits right inside it. */
export const RETRY_MIDDLEWARE_NAME = 'retryMiddleware';
export const RATE_LIMITER_MIDDLEWARE_NAME = 'identityStoreRateLimiter';

export function createIdentityStoreClient(options: IdentityStoreClientOptions): IdentityStoreClientBundle {
  const limiter = options.pacer ?? ownLimiter(options);
  const budget = options.budget ?? new RetryBudget();
  const retryStrategy = new RetryAfterStrategy({
    maxAttempts: options.maxAttempts,
    budget,
    limiter,
    jitterMs: options.jitterMs,
    onRetry: options.onRetry,
    onThrottle: options.onThrottle,
  });
  const client = new IdentitystoreClient({
    region: options.region,
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    ...(options.credentials !== undefined && { credentials: options.credentials }),
    retryStrategy,
    // Only labels the amz-sdk-request header; the strategy enforces the limit.
    maxAttempts: retryStrategy.maxAttempts,
    requestHandler: {
      requestTimeout: options.requestTimeoutMs ?? 10_000,
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    },
  });
  const paceEveryAttempt: FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next) => async (args) => {
    // A pause left by a throttle may outlast this invocation; the budget bounds it like any wait.
    const now = Date.now();
    if (limiter.pausedUntil > now && !budget.allowsWaitUntil(limiter.pausedUntil)) {
      throw new ThrottlePauseError(limiter.pausedUntil - now);
    }
    await limiter.acquire();
    return next(args);
  };
  client.middlewareStack.addRelativeTo(paceEveryAttempt, {
    name: RATE_LIMITER_MIDDLEWARE_NAME,
    relation: 'after',
    toMiddleware: RETRY_MIDDLEWARE_NAME,
  });
  return { client, limiter, budget };
}

function ownLimiter(options: IdentityStoreClientOptions): RateLimiter {
  if (options.requestsPerSecond === undefined) throw new RangeError('requestsPerSecond is required without a pacer');
  return new RateLimiter({ requestsPerSecond: options.requestsPerSecond, burst: options.burst });
}
