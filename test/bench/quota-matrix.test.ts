import { separateNeighbour, type PhaseResult } from '../../bench/harness/bench-pipeline';
import { SIZES } from '../../bench/options';
import { waveFigures, type WaveRunFigures } from '../../bench/sections/quota-efficiency';
import { quotaMatrixPoints, quotaMatrixRow } from '../../bench/sections/quota-matrix';
import { NEIGHBOUR_ACTION } from '../../local/pipeline/neighbour';

function phase(overrides: Partial<PhaseResult>): PhaseResult {
  return {
    events: 50,
    elapsedMs: 20_000,
    drained: true,
    pending: 0,
    outcomes: { applied: 50, noop: 0, superseded: 0, rejected: 0, failed: 0, retried: 0 },
    completed: 50,
    deadLettered: 0,
    calls: 340,
    throttled: 20,
    callsByAction: { CreateUser: 340 },
    retryAfterWaitSeconds: 0,
    dynamoDbRequests: 1_000,
    dynamoDbRequestsByOperation: { GetItem: 400, PutItem: 600 },
    ...overrides,
  };
}

describe('the quota matrix', () => {
  it('runs every combination of the full bench: 12 rows, by wave size, then concurrency, then neighbour', () => {
    const points = quotaMatrixPoints(SIZES.default.quotaMatrix);
    expect(points).toHaveLength(12);
    expect(new Set(points.map((p) => `${p.maxConcurrency}/${p.neighbourRps}/${p.joiners}`)).size).toBe(12);
    expect(points.slice(0, 3)).toEqual([
      { maxConcurrency: 2, neighbourRps: 0, joiners: 40 },
      { maxConcurrency: 2, neighbourRps: 4, joiners: 40 },
      { maxConcurrency: 5, neighbourRps: 0, joiners: 40 },
    ]);
    expect(points[11]).toEqual({ maxConcurrency: 10, neighbourRps: 4, joiners: 200 });
  });

  it('runs 4 rows with --quick: concurrency 2 and 5, neighbour 0 and 4, 40 joiners', () => {
    expect(quotaMatrixPoints(SIZES.quick.quotaMatrix)).toEqual([
      { maxConcurrency: 2, neighbourRps: 0, joiners: 40 },
      { maxConcurrency: 2, neighbourRps: 4, joiners: 40 },
      { maxConcurrency: 5, neighbourRps: 0, joiners: 40 },
      { maxConcurrency: 5, neighbourRps: 4, joiners: 40 },
    ]);
  });
});

describe('wave figures with a neighbour', () => {
  it('bounds the time by the admitted calls less the burst, at the rps the neighbour leaves', () => {
    // 340 calls, 20 throttled: 320 admitted; 20 of them from the full bucket, 300 at 20 - 4 = 16 rps.
    const figures = waveFigures(phase({}), 20, 4);
    expect(figures.admittedCalls).toBe(320);
    expect(figures.lowerBoundMs).toBe(18_750);
    expect(figures.ratio).toBe(1.07);
    expect(figures.throttledShare).toBe(0.0588);
  });

  it('keeps the whole quota without a neighbour', () => {
    const figures = waveFigures(phase({}), 20);
    expect(figures.lowerBoundMs).toBe(15_000);
    expect(figures.ratio).toBe(1.33);
  });

  it('reports the neighbour and DynamoDB counts of the phase', () => {
    const figures = waveFigures(phase({ neighbour: { calls: 80, throttled: 3 } }), 20, 4);
    expect(figures).toMatchObject({
      neighbourCalls: 80,
      neighbourThrottled: 3,
      dynamoDbRequests: 1_000,
      dynamoDbRequestsByOperation: { GetItem: 400, PutItem: 600 },
    });
    expect(waveFigures(phase({}), 20)).not.toHaveProperty('neighbourCalls');
  });

  it('refuses a neighbour that leaves nothing', () => {
    expect(() => waveFigures(phase({}), 20, 20)).toThrow(RangeError);
  });
});

describe('telling our calls from the neighbour', () => {
  const stats = {
    callsByAction: { CreateUser: 100, [NEIGHBOUR_ACTION]: 30, GetUserId: 50 },
    throttledByAction: { CreateUser: 4, [NEIGHBOUR_ACTION]: 5, GetUserId: 3 },
  };

  it("leaves out the neighbour's action and its own throttled answers", () => {
    expect(separateNeighbour(stats, { calls: 30, throttled: 5 })).toEqual({
      calls: 150,
      throttled: 7,
      callsByAction: { CreateUser: 100, GetUserId: 50 },
    });
  });

  it('counts every action as ours without a neighbour', () => {
    expect(separateNeighbour(stats, undefined)).toEqual({
      calls: 180,
      throttled: 12,
      callsByAction: { CreateUser: 100, GetUserId: 50, [NEIGHBOUR_ACTION]: 30 },
    });
  });

  it("refuses when the emulator saw more of the neighbour's action than the neighbour sent", () => {
    expect(() => separateNeighbour(stats, { calls: 29, throttled: 0 })).toThrow(/cannot be told apart/);
  });
});

describe('a quota matrix row', () => {
  const ours = waveFigures(phase({ neighbour: { calls: 80, throttled: 3 } }), 20, 4);
  const baseline: WaveRunFigures = waveFigures(
    phase({ calls: 700, throttled: 300, elapsedMs: 30_000, deadLettered: 4, completed: 46, neighbour: { calls: 120, throttled: 40 } }),
    20,
    4,
  );
  const row = quotaMatrixRow({ maxConcurrency: 5, neighbourRps: 4, joiners: 40 }, ours, baseline);

  it('has the eight figures the README and docs read, under these names', () => {
    expect(row).toMatchObject({
      maxConcurrency: 5,
      neighbourRps: 4,
      joiners: 40,
      ratio: 1.07,
      throttledShare: 0.0588,
      elapsedMs: 20_000,
      baselineElapsedMs: 30_000,
      failed: 0,
    });
  });

  it("puts the baseline's figures beside ours, and DynamoDB requests per event", () => {
    // Baseline: 700 calls, 300 throttled, 400 admitted: (400 - 20) / 16 = 23.75 s.
    expect(row).toMatchObject({
      baselineLowerBoundMs: 23_750,
      baselineRatio: 1.26,
      baselineThrottledShare: 0.4286,
      baselineFailed: 4,
      baselineCompleted: 46,
      baselineNeighbourCalls: 120,
      baselineNeighbourThrottled: 40,
      neighbourCalls: 80,
      neighbourThrottled: 3,
      dynamoDbRequestsPerEvent: 20,
    });
  });

  it('says 0 neighbour calls for a point without one', () => {
    const alone = waveFigures(phase({}), 20);
    expect(quotaMatrixRow({ maxConcurrency: 2, neighbourRps: 0, joiners: 40 }, alone, alone)).toMatchObject({ neighbourCalls: 0, baselineNeighbourCalls: 0 });
  });
});
