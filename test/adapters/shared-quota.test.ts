/**
 * The shared Identity Store budget: SharedQuota instances taking slots from one ledger item in
 * dynalite (the real DynamoDbQuotaLedger), on a virtual clock, so every assertion is about the
 * slot times handed out, never about how fast this machine ran.
 */
import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbQuotaLedger, type LedgerState } from '../../lambdas/adapters/quota-ledger';
import {
  measuredRate,
  QUOTA_POLICY,
  rateAfterThrottle,
  rateInForce,
  SharedQuota,
  type SharedQuotaOptions,
} from '../../lambdas/adapters/shared-quota';
import { QUOTA_LEDGER_KEY } from '../../lambdas/shared/tables';
import { useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const BUDGET = 20;
/** The calls due at once when the budget was idle. */
const BANKED = BUDGET * QUOTA_POLICY.burstSeconds;
const START = 1_700_000_000_000;

/** One virtual clock for every instance: a sleep moves time forward to when it would end. */
function virtualClock() {
  const clock = { t: START };
  return {
    clock,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.t = Math.max(clock.t, clock.t + Math.max(0, ms));
    },
  };
}

type Clock = ReturnType<typeof virtualClock>;

function instance(clock: Clock, overrides: Partial<SharedQuotaOptions> = {}): SharedQuota {
  return new SharedQuota({
    ledger: new DynamoDbQuotaLedger({ client: dynamo.current.client, tableName: dynamo.current.tables.state }),
    requestsPerSecond: BUDGET,
    fallbackRequestsPerSecond: BUDGET / 4,
    now: clock.now,
    sleep: clock.sleep,
    // At the start of each slot, so the slot arithmetic can be checked exactly.
    random: () => 0,
    onLedgerError: (error) => ledgerErrors.push(error),
    ...overrides,
  });
}

async function ledgerItem(): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo.current.documentClient.send(
    new GetCommand({ TableName: dynamo.current.tables.state, Key: { pk: QUOTA_LEDGER_KEY } }),
  );
  return Item;
}

/** `callers` concurrent callers each taking `each` slots one after another, as records do. */
async function work(quota: SharedQuota, callers: number, each: number): Promise<number[]> {
  const slots: number[] = [];
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let call = 0; call < each; call++) slots.push(await quota.acquire());
    }),
  );
  return slots.sort((a, b) => a - b);
}

/** Like work, but the moments the calls were let go (a banked slot's is later than the slot). */
async function goTimes(clock: Clock, quota: SharedQuota, callers: number, each: number): Promise<number[]> {
  const times: number[] = [];
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let call = 0; call < each; call++) {
        await quota.acquire();
        times.push(clock.now());
      }
    }),
  );
  return times.sort((a, b) => a - b);
}

/** The most slots in any window of `windowMs` that starts at a slot. */
function busiestWindow(slots: number[], windowMs: number): number {
  let most = 0;
  for (let i = 0; i < slots.length; i++) {
    let j = i;
    while (j < slots.length && slots[j] < slots[i] + windowMs) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

/** Every ledger error an instance met (the static-share fallback would hide a broken ledger). */
const ledgerErrors: unknown[] = [];
afterEach(() => {
  expect(ledgerErrors.map(String)).toEqual([]);
  ledgerErrors.length = 0;
});

beforeEach(async () => {
  await dynamo.current.documentClient.send(
    new DeleteCommand({ TableName: dynamo.current.tables.state, Key: { pk: QUOTA_LEDGER_KEY } }),
  );
});

describe('SharedQuota over one ledger', () => {
  it('never hands out more than the budget per second between instances, after the idle burst', async () => {
    const clock = virtualClock();
    const [a, b, c] = [instance(clock), instance(clock), instance(clock)];
    const slots = (await Promise.all([work(a, 10, 12), work(b, 10, 12), work(c, 3, 20)])).flat().sort((x, y) => x - y);

    expect(slots).toHaveLength(300);
    // After the burst banked while idle, never more than the budget in any second...
    const afterBurst = slots.filter((slot) => slot > START);
    expect(busiestWindow(afterBurst, 1000)).toBeLessThanOrEqual(BUDGET);
    expect(busiestWindow(slots, 1000)).toBeLessThanOrEqual(BANKED + BUDGET);
    // ...and due by the start, the banked calls exactly.
    expect(slots.filter((slot) => slot <= START)).toHaveLength(BANKED);
    // And no slot is lost: the 300th comes (300 - banked) slots of 50 ms after the start.
    expect(slots[slots.length - 1] - START).toBe(((300 - BANKED) / BUDGET) * 1000);
    expect(await ledgerItem()).toMatchObject({ granted: 300 });
  });

  it('gives one instance the whole budget as soon as the other has no work (no static split)', async () => {
    const clock = virtualClock();
    const [a, b] = [instance(clock), instance(clock)];
    await Promise.all([work(a, 5, 10), work(b, 5, 2)]);
    // b is done; a keeps calling, and gets slots 1000/20 = 50 ms apart, not the 100 ms of a half share.
    const alone = await work(a, 5, 20);
    const gaps = alone.slice(1).map((slot, i) => slot - alone[i]);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1000 / BUDGET + 1e-6);
  });

  it('sends each call at a random point of its own slot, never outside it', async () => {
    const clock = virtualClock();
    const draws = [0, 0.999, 0.5, 0.25];
    let draw = 0;
    const a = instance(clock, { random: () => draws[draw++ % draws.length] });
    // One caller, one slot per claim: call k has slot k of the grid the idle cursor restarted on.
    const times = await work(a, 1, BANKED + 8);
    const slotMs = 1000 / BUDGET;
    const gridStart = START - QUOTA_POLICY.burstSeconds * 1000 + slotMs;
    times.forEach((time, k) => {
      const offset = time - (gridStart + k * slotMs);
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(slotMs);
    });
    expect(new Set(times.map((time, k) => Math.round(time - (gridStart + k * slotMs))))).not.toEqual(new Set([0]));
  });

  it('restarts an idle cursor with the banked calls due at once, then paces', async () => {
    const clock = virtualClock();
    const a = instance(clock);
    await work(a, 2, 2);
    clock.clock.t += 60_000;
    const idleEnd = clock.now();
    const after = await work(a, 30, 1);
    // Most of the bucket the service refilled while nobody called, at once...
    expect(after.filter((slot) => slot <= idleEnd)).toHaveLength(BANKED);
    // ...then one slot every 50 ms.
    const paced = after.filter((slot) => slot > idleEnd);
    expect(paced.slice(1).map((slot, i) => slot - paced[i])).toEqual(Array(paced.length - 1).fill(1000 / BUDGET));
  });

  it('a throttle pauses every instance until the time asked, and cuts the rate for all', async () => {
    const clock = virtualClock();
    const [a, b] = [instance(clock), instance(clock)];
    await work(a, 4, 5);
    const pausedUntil = clock.now() + 1000;
    a.pauseUntil(pausedUntil, 'throttle');
    // The episode reaches the ledger before b claims again.
    await waitForLedger((item) => item.pausedUntilMs === pausedUntil);
    const bCalls = await goTimes(clock, b, 4, 5);
    expect(Math.min(...bCalls)).toBeGreaterThanOrEqual(pausedUntil);
    expect(b.currentRate).toBeCloseTo(BUDGET * QUOTA_POLICY.firstCut, 5);
    expect(await ledgerItem()).toMatchObject({ throttled: 1, episodeAtMs: pausedUntil - 1000 });
  });

  it('a throttle just after an episode began is the same episode (counted, rate cut once)', async () => {
    const clock = virtualClock();
    const [a, b] = [instance(clock), instance(clock)];
    await Promise.all([work(a, 2, 2), work(b, 2, 2)]);
    const until = clock.now() + 1000;
    a.pauseUntil(until, 'throttle');
    await waitForLedger((item) => item.throttled === 1);
    // b's answer to a call it sent before the episode: b has not seen the episode, the ledger has.
    clock.clock.t += 10;
    b.pauseUntil(clock.now() + 1000, 'throttle');
    await waitForLedger((item) => item.throttled === 2);
    expect(await ledgerItem()).toMatchObject({ pausedUntilMs: until + 10, episodeRate: BUDGET * QUOTA_POLICY.firstCut });
  });

  it('a throttle after the episode\'s grace begins a new episode, which measures from the last', async () => {
    const clock = virtualClock();
    const a = instance(clock);
    await work(a, 4, 5);
    a.pauseUntil(clock.now() + 1000, 'throttle');
    await waitForLedger((item) => item.throttled === 1);
    const firstRate = BUDGET * QUOTA_POLICY.firstCut;
    // Calls waiting all along, for 3 s at the cut rate, then a throttle again.
    await work(a, 10, 6);
    a.pauseUntil(clock.now() + 1000, 'throttle');
    await waitForLedger((item) => item.throttled === 2);
    const item = (await ledgerItem()) as Record<string, number>;
    expect(item.episodeRate).toBeLessThan(firstRate);
    expect(item.episodeRate).toBeGreaterThanOrEqual(firstRate * QUOTA_POLICY.deepestCut);
  });

  it('gives up a slot that comes due during a pause, and takes a new one after it', async () => {
    // A clock that moves only when the test says, so the pause lands before the slots come due.
    let t = START;
    const sleepers: { until: number; wake: () => void }[] = [];
    const advanceTo = async (to: number) => {
      t = to;
      const all = sleepers.splice(0);
      sleepers.push(...all.filter((sleeper) => sleeper.until > to));
      for (const sleeper of all.filter((sleeper) => sleeper.until <= to)) sleeper.wake();
      await new Promise((resolve) => setTimeout(resolve, 20));
    };
    const a = new SharedQuota({
      ledger: new DynamoDbQuotaLedger({ client: dynamo.current.client, tableName: dynamo.current.tables.state }),
      requestsPerSecond: BUDGET,
      fallbackRequestsPerSecond: BUDGET / 4,
      now: () => t,
      sleep: (ms) => new Promise<void>((wake) => sleepers.push({ until: t + ms, wake })),
      random: () => 0,
      onLedgerError: (error) => ledgerErrors.push(error),
    });
    // The banked calls go at once; the next three get slots 50, 100 and 150 ms ahead.
    await Promise.all(Array.from({ length: BANKED }, () => a.acquire()));
    const waiting = [a.acquire(), a.acquire(), a.acquire()];
    await advanceTo(START + 40); // the claim waits a little for others to join it
    await waitForLedger((item) => item.granted === BANKED + 3);
    const pausedUntil = START + 1000;
    a.pauseUntil(pausedUntil, 'server-asked');
    for (const step of [50, 100, 150, 1000]) await advanceTo(START + step);
    const slots = await Promise.all(waiting);
    // Not one went out on its slot from before the pause: each claimed a new slot after it.
    expect(Math.min(...slots)).toBeGreaterThan(START + 150);
    expect(await ledgerItem()).toMatchObject({ granted: BANKED + 6 });
  });

  it('a pause that is not a throttle waits but keeps the rate', async () => {
    const clock = virtualClock();
    const a = instance(clock);
    await work(a, 1, 1);
    const until = clock.now() + 2000;
    a.pauseUntil(until, 'server-asked');
    await waitForLedger((item) => item.pausedUntilMs === until);
    expect(await ledgerItem()).not.toHaveProperty('episodeAtMs');
    expect(Math.min(...(await goTimes(clock, a, 2, 1)))).toBeGreaterThanOrEqual(until);
  });

  it('never shortens a longer pause', async () => {
    const clock = virtualClock();
    const a = instance(clock);
    await work(a, 1, 1);
    const long = clock.now() + 5000;
    a.pauseUntil(long, 'server-asked');
    await waitForLedger((item) => item.pausedUntilMs === long);
    a.pauseUntil(clock.now() + 1000, 'server-asked');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await ledgerItem())?.pausedUntilMs).toBe(long);
  });

  it('falls back to its static share when the ledger cannot be reached, and says so', async () => {
    const clock = virtualClock();
    const errors: unknown[] = [];
    const unreachable = new DynamoDBClient({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    const quota = new SharedQuota({
      ledger: new DynamoDbQuotaLedger({ client: unreachable, tableName: 'none' }),
      requestsPerSecond: BUDGET,
      fallbackRequestsPerSecond: 5,
      now: clock.now,
      sleep: clock.sleep,
      onLedgerError: (error) => errors.push(error),
    });
    const slots = await work(quota, 4, 5);
    expect(slots).toHaveLength(20);
    expect(errors.length).toBeGreaterThan(0);
    // 5 requests per second: 20 calls span at least 19 gaps of 200 ms.
    expect(slots[slots.length - 1] - slots[0]).toBeGreaterThanOrEqual(19 * 200 - 1e-6);
    unreachable.destroy();
  });
});

async function waitForLedger(predicate: (item: Record<string, unknown>) => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const item = await ledgerItem();
    if (item !== undefined && predicate(item)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the ledger never matched: ${JSON.stringify(await ledgerItem())}`);
}

const state = (overrides: Partial<LedgerState>): LedgerState => ({
  nextSlotMs: 0,
  pausedUntilMs: 0,
  granted: 0,
  throttled: 0,
  episodeAtMs: 0,
  episodeRate: 0,
  measureFromMs: 0,
  grantedAtMeasure: 0,
  throttledAtMeasure: 0,
  aheadAtMeasure: 0,
  bankedAtMeasure: 0,
  lastLagAtMs: 0,
  ...overrides,
});

describe('the rate a throttle sets, and how it comes back', () => {
  it('with nothing measured, cuts to firstCut of the rate in force', () => {
    expect(rateAfterThrottle(state({}), START, BUDGET)).toBe(BUDGET * QUOTA_POLICY.firstCut);
  });

  it('measures what the service let through between two throttles, and goes just under it', () => {
    // Since the last episode 10 s ago: 170 slots granted, 2 of them throttled, 8 still ahead of now
    // (at 16/s, 500 ms ahead), none ahead then: 160 admitted in 10 s = 16 per second.
    const previous = state({
      episodeAtMs: START - 10_000,
      episodeRate: 16,
      measureFromMs: START - 10_000,
      granted: 1170,
      grantedAtMeasure: 1000,
      throttled: 12,
      throttledAtMeasure: 10,
      nextSlotMs: START + 500,
    });
    expect(measuredRate(previous, START, 16)).toBeCloseTo(16, 5);
    expect(rateAfterThrottle(previous, START, BUDGET)).toBeCloseTo(16 * QUOTA_POLICY.measuredMargin, 5);
  });

  it('measured from a restart, leaves out the calls the full bucket had banked', () => {
    // Restarted 5 s ago with 20 banked; 120 granted since, none ahead: (120 - 20) / 5 = 20 per second.
    const restarted = state({ measureFromMs: START - 5_000, granted: 120, bankedAtMeasure: 20 });
    expect(measuredRate(restarted, START, BUDGET)).toBeCloseTo(20, 5);
    expect(rateAfterThrottle(restarted, START, BUDGET)).toBeCloseTo(BUDGET * QUOTA_POLICY.measuredMargin, 5);
  });

  it('measures nothing when the cursor fell behind (we had too little to send to learn the limit)', () => {
    const since = START - 5_000;
    const lagged = state({ measureFromMs: since, granted: 30, lastLagAtMs: START - 1_000 });
    expect(measuredRate(lagged, START, BUDGET)).toBeUndefined();
    expect(rateAfterThrottle(lagged, START, BUDGET)).toBe(BUDGET * QUOTA_POLICY.firstCut);
    // A lag during the banked burst right after a restart is expected and does not count.
    const justAfterRestart = state({ measureFromMs: since, granted: 116, bankedAtMeasure: 16, lastLagAtMs: since + 100 });
    expect(measuredRate(justAfterRestart, START, BUDGET)).toBeCloseTo(20, 5);
  });

  it('measures nothing from too short a span (a throttle right after a burst)', () => {
    const justRestarted = state({ measureFromMs: START - QUOTA_POLICY.minMeasureMs + 1, granted: 25, bankedAtMeasure: 20 });
    expect(measuredRate(justRestarted, START, BUDGET)).toBeUndefined();
    expect(rateAfterThrottle(justRestarted, START, BUDGET)).toBe(BUDGET * QUOTA_POLICY.firstCut);
  });

  it('never keeps the rate it was throttled at, and never cuts deeper than deepestCut at once', () => {
    const generous = state({ episodeAtMs: START - 10_000, episodeRate: 10, measureFromMs: START - 10_000, granted: 1000 });
    expect(rateAfterThrottle(generous, START, BUDGET)).toBeCloseTo(10 * QUOTA_POLICY.measuredMargin, 5);
    const starved = state({ episodeAtMs: START - 10_000, episodeRate: 16, measureFromMs: START - 10_000, granted: 1 });
    expect(rateAfterThrottle(starved, START, BUDGET)).toBeCloseTo(16 * QUOTA_POLICY.deepestCut, 5);
  });

  it('forgets an episode too far back to measure from', () => {
    const old = state({ measureFromMs: START - QUOTA_POLICY.measureWindowMs - 1, episodeRate: 16, granted: 10_000 });
    expect(measuredRate(old, START, 16)).toBeUndefined();
  });

  it('holds after an episode, then climbs back to the whole budget, never past it, never below the floor', () => {
    const episode = state({ episodeAtMs: START, episodeRate: 16 });
    expect(rateInForce(episode, START + QUOTA_POLICY.holdMs, BUDGET)).toBe(16);
    const climbedFor = 5_000;
    expect(rateInForce(episode, START + QUOTA_POLICY.holdMs + climbedFor, BUDGET)).toBeCloseTo(
      16 + BUDGET * QUOTA_POLICY.recoverySharePerSecond * 5,
      5,
    );
    expect(rateInForce(episode, START + 3_600_000, BUDGET)).toBe(BUDGET);
    expect(rateInForce(state({ episodeAtMs: START, episodeRate: 0.001 }), START, BUDGET)).toBe(BUDGET * QUOTA_POLICY.floorShare);
    expect(rateAfterThrottle(state({ episodeAtMs: START - 5000, episodeRate: 2, measureFromMs: START - 5000 }), START, BUDGET)).toBe(
      BUDGET * QUOTA_POLICY.floorShare,
    );
  });
});
