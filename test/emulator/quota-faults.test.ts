/** Quota throttling and seeded fault injection, seen through the real SDK. */
import {
  CreateUserCommand,
  InternalServerException,
  ListUsersCommand,
  ThrottlingException,
} from '@aws-sdk/client-identitystore';
import { type EmulatorOptions, FaultSpecError, type RunningEmulator, parseFaultSpec, startEmulator } from '../../local/emulator';
import { STORE_ID, clientFor, failureOf, validUser } from './helpers';

const running: RunningEmulator[] = [];
async function start(options: EmulatorOptions) {
  const emulator = await startEmulator(options);
  running.push(emulator);
  return { emulator, client: clientFor(emulator) };
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
});

const listUsers = new ListUsersCommand({ IdentityStoreId: STORE_ID });

describe('quota', () => {
  it('throttles over the bucket with "Rate exceeded", HTTP 400 and RetryAfterSeconds = ceil(seconds until a token)', async () => {
    // 0.1 TPS, bucket of 1: the second call needs a token 10 s away.
    const { emulator, client } = await start({ tps: 0.1 });
    await client.send(listUsers);
    const error = await failureOf(client.send(listUsers));
    expect(error).toBeInstanceOf(ThrottlingException);
    expect(error.message).toBe('Rate exceeded');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.RetryAfterSeconds).toBe(10);
    // A throttled call takes no token: the wait does not grow.
    const again = await failureOf(client.send(listUsers));
    expect(again.RetryAfterSeconds).toBe(10);
    expect(emulator.stats().throttled).toEqual({ quota: 2, injected: 0 });
  });

  it('uses 429 when configured, and sends a Retry-After header equal to the body value when switched on', async () => {
    const { emulator, client } = await start({ tps: 0.5, throttleStatus: 429, retryAfterHeader: true });
    await client.send(listUsers);
    const error = await failureOf(client.send(listUsers));
    expect(error.$metadata.httpStatusCode).toBe(429);
    expect(error.RetryAfterSeconds).toBe(2);

    const response = await fetch(emulator.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSIdentityStore.ListUsers' },
      body: JSON.stringify({ IdentityStoreId: STORE_ID }),
    });
    const body = (await response.json()) as Record<string, unknown>;
    expect(response.status).toBe(429);
    expect(body).toMatchObject({ __type: 'ThrottlingException', Message: 'Rate exceeded' });
    expect(response.headers.get('retry-after')).toBe(String(body.RetryAfterSeconds));
    expect(body.RequestId).toBe(response.headers.get('x-amzn-requestid'));
  });

  it('applies a per-action limit on top of the account-wide one', async () => {
    const { client } = await start({ tps: 0, perActionTps: { CreateUser: 0.25 } });
    await client.send(new CreateUserCommand(validUser('first')));
    const error = await failureOf(client.send(new CreateUserCommand(validUser('second'))));
    expect(error.name).toBe('ThrottlingException');
    expect(error.RetryAfterSeconds).toBe(4);
    await expect(client.send(listUsers)).resolves.toBeDefined();
  });

  it('serves a burst up to the bucket size', async () => {
    const { client } = await start({ tps: 1, burst: 3 });
    for (let i = 0; i < 3; i++) await client.send(listUsers);
    expect((await failureOf(client.send(listUsers))).name).toBe('ThrottlingException');
  });
});

describe('fault injection', () => {
  it('InternalServerException carries RetryAfterSeconds from the spec, with HTTP 500', async () => {
    const { emulator, client } = await start({ tps: 0, faults: 'server=1,retryAfter=3', seed: 1 });
    const error = await failureOf(client.send(listUsers));
    expect(error).toBeInstanceOf(InternalServerException);
    expect(error.$metadata.httpStatusCode).toBe(500);
    expect(error.RetryAfterSeconds).toBe(3);
    expect(emulator.stats().faults.server).toBe(1);
  });

  it('an injected throttle is counted apart from quota throttling', async () => {
    const { emulator, client } = await start({ tps: 0, faults: { throttle: 1, retryAfterSeconds: 2 }, seed: 1 });
    const error = await failureOf(client.send(listUsers));
    expect(error.name).toBe('ThrottlingException');
    expect(error.RetryAfterSeconds).toBe(2);
    expect(emulator.stats().throttled).toEqual({ quota: 0, injected: 1 });
  });

  it('CONCURRENT_MODIFICATION hits writes only, and the faulted write is not applied', async () => {
    const { emulator, client } = await start({ tps: 0, faults: 'conflict=1', seed: 1 });
    const error = await failureOf(client.send(new CreateUserCommand(validUser('never.created'))));
    expect(error.name).toBe('ConflictException');
    expect(error.Reason).toBe('CONCURRENT_MODIFICATION');
    expect(error.$metadata.httpStatusCode).toBe(409);
    const listed = await client.send(listUsers);
    expect(listed.Users).toEqual([]);
    expect(emulator.writes()).toEqual([]);
    expect(emulator.stats().successfulWrites).toBe(0);
  });

  it('a dropped connection surfaces as a network error without an HTTP status', async () => {
    const { emulator, client } = await start({ tps: 0, faults: 'drop=1', seed: 1 });
    const error = await failureOf(client.send(listUsers));
    expect(error.$metadata?.httpStatusCode).toBeUndefined();
    expect(`${error.name} ${error.message} ${error.code ?? ''}`).toMatch(/ECONNRESET|socket hang up|TimeoutError|closed/i);
    expect(emulator.stats().faults.drop).toBe(1);
  });

  it('added latency is counted and the call still succeeds', async () => {
    const { emulator, client } = await start({ tps: 0, faults: 'latency=1:5-10', seed: 1 });
    await client.send(listUsers);
    expect(emulator.stats().faults.latency).toBe(1);
  });

  it('the same seed gives the same fault sequence; another seed another one', async () => {
    const outcomes = async (seed: number) => {
      const { client } = await start({ tps: 0, faults: 'throttle=0.3,server=0.2,conflict=0.3', seed });
      const sequence: string[] = [];
      for (let i = 0; i < 30; i++) {
        const command = i % 2 === 0 ? listUsers : new CreateUserCommand(validUser(`seeded.${i}`));
        sequence.push(await client.send(command as never).then(() => 'ok', (error: Error) => error.name));
      }
      return sequence;
    };
    const first = await outcomes(42);
    expect(new Set(first).size).toBeGreaterThan(2);
    expect(await outcomes(42)).toEqual(first);
    expect(await outcomes(43)).not.toEqual(first);
  });

  it('validates the fault spec with clear errors', async () => {
    expect(parseFaultSpec('throttle=0.05,server=0.02,conflict=0.02,latency=0.1:20-200,drop=0.01,retryAfter=1')).toEqual({
      throttle: 0.05,
      server: 0.02,
      conflict: 0.02,
      latency: { probability: 0.1, minMs: 20, maxMs: 200 },
      drop: 0.01,
      retryAfterSeconds: 1,
    });
    expect(() => parseFaultSpec('throttle=2')).toThrow('throttle must be a probability between 0 and 1, got "2"');
    expect(() => parseFaultSpec('bogus=0.1')).toThrow(/unknown fault "bogus"/);
    expect(() => parseFaultSpec('latency=0.1:200-20')).toThrow(/reversed/);
    expect(() => parseFaultSpec('latency=fast')).toThrow(/latency must be P:MIN-MAX/);
    expect(() => parseFaultSpec('retryAfter=1.5')).toThrow(/whole number/);
    await expect(startEmulator({ faults: 'server' })).rejects.toThrow(FaultSpecError);
    await expect(startEmulator({ faults: { drop: -1 } })).rejects.toThrow(/drop must be a probability/);
  });
});
