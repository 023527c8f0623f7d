import { RateLimiter } from '../../lambdas/adapters/rate-limiter';

/** A clock that only moves when the limiter sleeps, so every timing below is exact. */
function fakeTime(start = 0) {
  const clock = { nowMs: start, sleeps: [] as number[] };
  const now = () => clock.nowMs;
  const sleep = async (ms: number) => {
    clock.sleeps.push(ms);
    clock.nowMs += ms;
  };
  return { clock, now, sleep };
}

async function grantTimes(limiter: RateLimiter, callers: number, now: () => number): Promise<number[]> {
  const times: number[] = [];
  await Promise.all(
    Array.from({ length: callers }, () => limiter.acquire().then(() => times.push(now()))),
  );
  return times;
}

describe('RateLimiter', () => {
  it('spaces calls evenly at the configured rate with the default burst of 1', async () => {
    const { now, sleep } = fakeTime();
    const limiter = new RateLimiter({ requestsPerSecond: 10, now, sleep });
    expect(await grantTimes(limiter, 5, now)).toEqual([0, 100, 200, 300, 400]);
  });

  it('lets a burst through back to back, then paces', async () => {
    const { now, sleep } = fakeTime();
    const limiter = new RateLimiter({ requestsPerSecond: 4, burst: 3, now, sleep });
    expect(await grantTimes(limiter, 5, now)).toEqual([0, 0, 0, 250, 500]);
  });

  it('serves concurrent callers in the order they asked (FIFO)', async () => {
    const { now, sleep } = fakeTime();
    const limiter = new RateLimiter({ requestsPerSecond: 20, now, sleep });
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3, 4, 5].map((caller) => limiter.acquire().then(() => order.push(caller))));
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('refills while idle, up to the burst only', async () => {
    const { clock, now, sleep } = fakeTime();
    const limiter = new RateLimiter({ requestsPerSecond: 10, burst: 2, now, sleep });
    await grantTimes(limiter, 2, now);
    clock.nowMs += 10_000;
    expect(await grantTimes(limiter, 3, now)).toEqual([10_000, 10_000, 10_100]);
  });

  it('holds every caller until a pause ends, then resumes at the paced rate', async () => {
    const { clock, now, sleep } = fakeTime(1_000);
    const limiter = new RateLimiter({ requestsPerSecond: 10, burst: 5, now, sleep });
    limiter.pauseUntil(3_000);
    expect(await grantTimes(limiter, 3, now)).toEqual([3_000, 3_100, 3_200]);
    expect(clock.sleeps[0]).toBe(2_000);
  });

  it('never lets an earlier pause shorten a later one', async () => {
    const { now, sleep } = fakeTime();
    const limiter = new RateLimiter({ requestsPerSecond: 10, now, sleep });
    limiter.pauseUntil(5_000);
    limiter.pauseUntil(2_000);
    expect(limiter.pausedUntil).toBe(5_000);
    expect(await grantTimes(limiter, 1, now)).toEqual([5_000]);
  });

  it('notices a pause extended while a caller is already waiting', async () => {
    const time = fakeTime();
    let limiter: RateLimiter | undefined;
    const sleep = async (ms: number) => {
      // A throttled call elsewhere extends the pause while this caller sleeps.
      if (time.clock.sleeps.length === 0) limiter?.pauseUntil(4_000);
      await time.sleep(ms);
    };
    limiter = new RateLimiter({ requestsPerSecond: 10, now: time.now, sleep });
    limiter.pauseUntil(1_000);
    expect(await grantTimes(limiter, 1, time.now)).toEqual([4_000]);
    expect(time.clock.sleeps).toEqual([1_000, 3_000]);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('refuses requestsPerSecond %p', (requestsPerSecond) => {
    expect(() => new RateLimiter({ requestsPerSecond })).toThrow(RangeError);
  });

  it('refuses a burst below 1', () => {
    expect(() => new RateLimiter({ requestsPerSecond: 1, burst: 0 })).toThrow(RangeError);
  });

  it('paces with the real clock when none is injected', async () => {
    const started = Date.now();
    const limiter = new RateLimiter({ requestsPerSecond: 20 });
    await Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire()]);
    // Three calls at 20/s with a burst of 1: the third waits two 50 ms slots.
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });
});
