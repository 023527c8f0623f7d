import { waitUntilDrained } from '../../bench/harness/drain';

/** A fake clock that moves only when the code under test sleeps. */
function fakeTime() {
  let now = 0;
  return { now: () => now, sleep: async (ms: number) => void (now += ms) };
}

describe('waitUntilDrained', () => {
  it('reports when the last quiet spell began, not when it was confirmed', async () => {
    const time = fakeTime();
    const probe = { pending: () => (time.now() < 1_000 ? 3 : 0), inFlight: () => 0 };
    const { drainedAt } = await waitUntilDrained(probe, 10_000, { ...time, pollMs: 10, quietMs: 300 });
    expect(drainedAt).toBe(1_000);
    expect(time.now()).toBeGreaterThanOrEqual(1_300);
  });

  it('starts over when work reappears during the quiet spell (a delayed redelivery)', async () => {
    const time = fakeTime();
    const busy = (t: number) => t < 500 || (t >= 600 && t < 900);
    const probe = { pending: () => 0, inFlight: () => (busy(time.now()) ? 1 : 0) };
    const { drainedAt } = await waitUntilDrained(probe, 10_000, { ...time, pollMs: 10, quietMs: 300 });
    expect(drainedAt).toBe(900);
  });

  it('gives up after the timeout', async () => {
    const time = fakeTime();
    const { drainedAt } = await waitUntilDrained({ pending: () => 1, inFlight: () => 0 }, 1_000, time);
    expect(drainedAt).toBeUndefined();
  });
});
