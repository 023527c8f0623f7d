/**
 * The baseline: what a naive implementation builds. The SDK's default retry (standard mode,
 * 3 attempts, its own backoff, RetryAfterSeconds ignored) and no rate limiter. Same exports as
 * lambdas/adapters/identity-store-client.ts, so the bench can swap it into the handler bundle
 * (see swap-plugin.ts) and everything else in the function stays the product's code.
 */
import { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import type { IdentityStoreClientOptions } from '../../lambdas/adapters/identity-store-client';
import { RetryBudget } from '../../lambdas/adapters/retry-after-strategy';

export function createIdentityStoreClient(options: IdentityStoreClientOptions): { client: IdentitystoreClient; budget: RetryBudget } {
  const client = new IdentitystoreClient({
    region: options.region,
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    ...(options.credentials !== undefined && { credentials: options.credentials }),
    // Spelled out, but these are the SDK's defaults: nothing here reads RetryAfterSeconds or paces calls.
    retryMode: 'standard',
    maxAttempts: 3,
  });
  // The handler sets a deadline on it per invocation; nothing in this client reads it.
  return { client, budget: options.budget ?? new RetryBudget() };
}
