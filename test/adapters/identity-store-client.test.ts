/**
 * The real IdentitystoreClient over loopback, against a scripted awsJson1_1 server: proves the
 * SDK's retry middleware waits what RetryAfterStrategy says, that the limiter paces retries,
 * and that giving up leaves the service error (with the owed wait) for the adapter to map.
 */
import { GetUserIdCommand, IdentitystoreClient } from '@aws-sdk/client-identitystore';
import {
  RATE_LIMITER_MIDDLEWARE_NAME,
  createIdentityStoreClient,
  type IdentityStoreClientOptions,
} from '../../lambdas/adapters/identity-store-client';
import { RetryBudget, owedWaitMsOf, type RetryNotice } from '../../lambdas/adapters/retry-after-strategy';
import {
  ok,
  serviceErrorResponse,
  startScriptedServer,
  throttling,
  type ScriptedServer,
} from '../support/scripted-server';

const REGION = 'eu-west-1';
const CREDENTIALS = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };
const IDENTITY_STORE_ID = 'd-1234567890';
const USER_ID = 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6';

const getUserId = () =>
  new GetUserIdCommand({
    IdentityStoreId: IDENTITY_STORE_ID,
    AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'someone' } },
  });

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function clientFor(script: Parameters<typeof startScriptedServer>[0], options: Partial<IdentityStoreClientOptions> = {}) {
  server = await startScriptedServer(script);
  return createIdentityStoreClient({
    region: REGION,
    credentials: CREDENTIALS,
    endpoint: server.endpoint,
    requestsPerSecond: 100,
    ...options,
  });
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error & { $metadata?: { attempts?: number; totalRetryDelay?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

describe('IdentitystoreClient with RetryAfterStrategy', () => {
  it('waits at least RetryAfterSeconds from the body before retrying a throttle', async () => {
    const { client } = await clientFor([throttling(1), ok({ IdentityStoreId: IDENTITY_STORE_ID, UserId: USER_ID })]);
    const output = await client.send(getUserId());
    expect(output.UserId).toBe(USER_ID);
    expect(output.$metadata.attempts).toBe(2);
    expect(output.$metadata.totalRetryDelay).toBeGreaterThanOrEqual(1000);
    expect(server?.gapsMs()[0]).toBeGreaterThanOrEqual(1000);
  });

  it('waits at least RetryAfterSeconds for an InternalServerException too', async () => {
    const { client } = await clientFor([
      serviceErrorResponse('InternalServerException', 500, { RetryAfterSeconds: 1 }),
      ok({ IdentityStoreId: IDENTITY_STORE_ID, UserId: USER_ID }),
    ]);
    await client.send(getUserId());
    expect(server?.gapsMs()[0]).toBeGreaterThanOrEqual(1000);
  });

  it('honours a Retry-After header when the body names no time', async () => {
    const retries: RetryNotice[] = [];
    const { client } = await clientFor(
      [throttling(undefined, { 'Retry-After': '1' }), ok({ IdentityStoreId: IDENTITY_STORE_ID, UserId: USER_ID })],
      { onRetry: (notice) => retries.push(notice), jitterMs: 0 },
    );
    await client.send(getUserId());
    // The SDK turns the header into a Date via Date.now(), whole milliseconds: allow for rounding.
    expect(server?.gapsMs()[0]).toBeGreaterThanOrEqual(995);
    expect(retries).toHaveLength(1);
    expect(retries[0]?.retryAfterSeconds).toBeGreaterThan(0.9);
  });

  it('gives up when the wait would outlast the budget, leaving the service error with the owed wait', async () => {
    const budget = new RetryBudget();
    budget.setDeadline(Date.now() + 300);
    const { client } = await clientFor([throttling(1), ok({ UserId: USER_ID })], { budget });
    const error = await rejectionOf(client.send(getUserId()));
    expect(error.name).toBe('ThrottlingException');
    expect(error.$metadata?.attempts).toBe(1);
    expect(owedWaitMsOf(error)).toBeGreaterThanOrEqual(1000);
    expect(server?.arrivals).toHaveLength(1);
  });

  it('gives up after maxAttempts, counting every attempt', async () => {
    const { client } = await clientFor([throttling(1), throttling(1), ok({ UserId: USER_ID })], {
      maxAttempts: 2,
      jitterMs: 0,
    });
    const error = await rejectionOf(client.send(getUserId()));
    expect(error.name).toBe('ThrottlingException');
    expect(error.$metadata?.attempts).toBe(2);
    expect(error.$metadata?.totalRetryDelay).toBe(1000);
    expect(owedWaitMsOf(error)).toBe(1000);
  });

  it('does not retry a ValidationException', async () => {
    const { client } = await clientFor([
      serviceErrorResponse('ValidationException', 400),
      ok({ UserId: USER_ID }),
    ]);
    const error = await rejectionOf(client.send(getUserId()));
    expect(error.name).toBe('ValidationException');
    expect(owedWaitMsOf(error)).toBeUndefined();
    expect(server?.arrivals).toHaveLength(1);
  });

  it('retries a dropped connection', async () => {
    const { client } = await clientFor([{ status: 0, drop: true }, ok({ IdentityStoreId: IDENTITY_STORE_ID, UserId: USER_ID })]);
    const output = await client.send(getUserId());
    expect(output.UserId).toBe(USER_ID);
    expect(output.$metadata.attempts).toBe(2);
  });

  it('paces retries through the rate limiter too', async () => {
    // Backoff for a bare 500 is at most 100 ms; the limiter's 2/s slot is 500 ms. The margin
    // below absorbs the first request's extra set-up time (connection, signing key).
    const { client } = await clientFor(
      [{ status: 500, body: { Message: 'boom' } }, ok({ IdentityStoreId: IDENTITY_STORE_ID, UserId: USER_ID })],
      { requestsPerSecond: 2 },
    );
    await client.send(getUserId());
    expect(server?.arrivals).toHaveLength(2);
    expect(server?.gapsMs()[0]).toBeGreaterThanOrEqual(400);
  });

  it('holds other callers in the process until the time a throttle named', async () => {
    let bystander: Promise<unknown> | undefined;
    const { client } = await clientFor(
      [throttling(1), ok({ IdentityStoreId: IDENTITY_STORE_ID, UserId: USER_ID }), ok({ IdentityStoreId: IDENTITY_STORE_ID, UserId: USER_ID })],
      // A second call starts once the first was throttled: it must not walk into the throttle.
      { onRetry: () => (bystander ??= client.send(getUserId())) },
    );
    await client.send(getUserId());
    await bystander;
    const [first, ...later] = server?.arrivals ?? [];
    expect(later).toHaveLength(2);
    for (const arrival of later) expect(arrival.atMs - (first?.atMs ?? 0)).toBeGreaterThanOrEqual(1000);
  });

  it('fails at once, with the wait owed, when an earlier throttle paused calls past the budget', async () => {
    const budget = new RetryBudget();
    const { client, limiter } = await clientFor([ok({ IdentityStoreId: IDENTITY_STORE_ID, UserId: USER_ID })], { budget });
    limiter.pauseUntil(Date.now() + 5000);
    budget.setDeadline(Date.now() + 1000);
    const error = await rejectionOf(client.send(getUserId()));
    expect(error.name).toBe('ThrottlePauseError');
    expect(owedWaitMsOf(error)).toBeGreaterThan(3000);
    expect(owedWaitMsOf(error)).toBeLessThanOrEqual(5000);
    expect(server?.arrivals).toHaveLength(0);
  });

  it('places the limiter inside the retry loop, before signing', () => {
    const { client } = createIdentityStoreClient({ region: REGION, credentials: CREDENTIALS, requestsPerSecond: 1 });
    const names = client.middlewareStack.identify().map((entry) => entry.split(' ')[0]);
    const limiterAt = names.indexOf(RATE_LIMITER_MIDDLEWARE_NAME);
    expect(limiterAt).toBe(names.indexOf('retryMiddleware') + 1);
    expect(limiterAt).toBeLessThan(names.indexOf('httpSigningMiddleware'));
  });
});

describe('endpoint from the environment', () => {
  const saved = process.env.AWS_ENDPOINT_URL_IDENTITYSTORE;
  afterEach(() => {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_IDENTITYSTORE;
    else process.env.AWS_ENDPOINT_URL_IDENTITYSTORE = saved;
  });

  it('sends to AWS_ENDPOINT_URL_IDENTITYSTORE when no endpoint is configured in code', async () => {
    server = await startScriptedServer([ok({ IdentityStoreId: IDENTITY_STORE_ID, UserId: USER_ID })]);
    process.env.AWS_ENDPOINT_URL_IDENTITYSTORE = server.endpoint;
    const { client } = createIdentityStoreClient({ region: REGION, credentials: CREDENTIALS, requestsPerSecond: 10 });
    const output = await client.send(getUserId());
    expect(output.UserId).toBe(USER_ID);
    expect(server.arrivals.map((arrival) => arrival.action)).toEqual(['GetUserId']);
  });
});

describe('the SDK default strategy, for comparison', () => {
  it('ignores RetryAfterSeconds in the body', async () => {
    server = await startScriptedServer([throttling(1), ok({ IdentityStoreId: IDENTITY_STORE_ID, UserId: USER_ID })]);
    const client = new IdentitystoreClient({ region: REGION, credentials: CREDENTIALS, endpoint: server.endpoint });
    const output = await client.send(getUserId());
    // Its first throttling backoff is random * 1000 ms whatever the server said: measured gaps
    // here were 207-859 ms (8 runs) for RetryAfterSeconds 1 (our strategy: always >= 1000 ms).
    expect(output.$metadata.attempts).toBe(2);
    expect(output.$metadata.totalRetryDelay).toBeLessThan(1000);
  });
});
