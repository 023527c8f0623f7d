/**
 * The quota wave over a matrix of settings: function instances per source queue, a neighbour
 * using part of the account's quota during the measured phase, and the wave's size. Each point
 * runs ours and the baseline exactly as the quota-efficiency section does (a fresh pipeline each,
 * setup drained first), so a row compares the two under the same conditions.
 */
import type { QuotaMatrixSpec } from '../options';
import { perEvent, rpsLeftToUs } from '../report/figures';
import { onboardingWave } from '../workload/wave';
import { quotaTimeoutMs, runWaveWithBaselineClient, runWaveWithOurClient, type WaveRunFigures } from './quota-efficiency';

export interface QuotaMatrixPoint {
  maxConcurrency: number;
  /** Another caller's requests per second, out of the account's quota. */
  neighbourRps: number;
  joiners: number;
}

/** One row of results.json `quotaMatrix`; `baseline*` are the SDK-default client's figures. */
export interface QuotaMatrixRow extends QuotaMatrixPoint {
  events: number;
  /** elapsedMs / lowerBoundMs (null when the bound is 0). */
  ratio: number | null;
  /** throttled / calls, ours only (the neighbour's calls are in neither). */
  throttledShare: number;
  elapsedMs: number;
  /** (admittedCalls - burst) / (rps - neighbourRps). */
  lowerBoundMs: number;
  calls: number;
  admittedCalls: number;
  throttled: number;
  /** Messages that reached the DLQ during our measured phase. */
  failed: number;
  completed: number;
  /** Still on the queue when the run gave up waiting (0 when it drained). */
  pending: number;
  /** What the neighbour sent and had throttled during our measured phase (0 without one). */
  neighbourCalls: number;
  neighbourThrottled: number;
  /** DynamoDB requests dynalite answered during our measured phase, per event sent. */
  dynamoDbRequestsPerEvent: number;
  baselineElapsedMs: number;
  baselineLowerBoundMs: number;
  baselineRatio: number | null;
  baselineThrottledShare: number;
  baselineFailed: number;
  baselineCompleted: number;
  baselineCalls: number;
  baselineThrottled: number;
  baselineNeighbourCalls: number;
  baselineNeighbourThrottled: number;
}

/** Every combination, by wave size, then concurrency, then neighbour. */
export function quotaMatrixPoints(spec: QuotaMatrixSpec): QuotaMatrixPoint[] {
  return spec.joiners.flatMap((joiners) =>
    spec.maxConcurrency.flatMap((maxConcurrency) => spec.neighbourRps.map((neighbourRps) => ({ maxConcurrency, neighbourRps, joiners }))),
  );
}

export function quotaMatrixRow(point: QuotaMatrixPoint, ours: WaveRunFigures, baseline: WaveRunFigures): QuotaMatrixRow {
  return {
    maxConcurrency: point.maxConcurrency,
    neighbourRps: point.neighbourRps,
    joiners: point.joiners,
    events: ours.events,
    ratio: ours.ratio,
    throttledShare: ours.throttledShare,
    elapsedMs: ours.elapsedMs,
    lowerBoundMs: ours.lowerBoundMs,
    calls: ours.calls,
    admittedCalls: ours.admittedCalls,
    throttled: ours.throttled,
    failed: ours.failed,
    completed: ours.completed,
    pending: ours.pending,
    neighbourCalls: ours.neighbourCalls ?? 0,
    neighbourThrottled: ours.neighbourThrottled ?? 0,
    dynamoDbRequestsPerEvent: perEvent(ours.dynamoDbRequests, ours.events),
    baselineElapsedMs: baseline.elapsedMs,
    baselineLowerBoundMs: baseline.lowerBoundMs,
    baselineRatio: baseline.ratio,
    baselineThrottledShare: baseline.throttledShare,
    baselineFailed: baseline.failed,
    baselineCompleted: baseline.completed,
    baselineCalls: baseline.calls,
    baselineThrottled: baseline.throttled,
    baselineNeighbourCalls: baseline.neighbourCalls ?? 0,
    baselineNeighbourThrottled: baseline.neighbourThrottled ?? 0,
  };
}

/** A point the bench has already run (the quota-efficiency wave), to reuse instead of running it again. */
export interface MeasuredPoint {
  point: QuotaMatrixPoint;
  ours: WaveRunFigures;
  baseline: WaveRunFigures;
}

const samePoint = (a: QuotaMatrixPoint, b: QuotaMatrixPoint) =>
  a.maxConcurrency === b.maxConcurrency && a.neighbourRps === b.neighbourRps && a.joiners === b.joiners;

export async function measureQuotaMatrix(
  points: QuotaMatrixPoint[],
  options: { workDir: string; rps: number; alreadyMeasured?: MeasuredPoint; onProgress?: (message: string) => void },
): Promise<QuotaMatrixRow[]> {
  const rows: QuotaMatrixRow[] = [];
  for (const [index, point] of points.entries()) {
    const known = options.alreadyMeasured;
    if (known && samePoint(known.point, point)) {
      options.onProgress?.(`quota matrix ${index + 1}/${points.length}: the quota wave's own runs`);
      rows.push(quotaMatrixRow(point, known.ours, known.baseline));
      continue;
    }
    const wave = onboardingWave(point.joiners);
    const runOptions = {
      workDir: options.workDir,
      rps: options.rps,
      timeoutMs: quotaTimeoutMs(wave.measured.length, rpsLeftToUs(options.rps, point.neighbourRps)),
      maxConcurrency: point.maxConcurrency,
      neighbourRps: point.neighbourRps,
      label: `matrix-c${point.maxConcurrency}-n${point.neighbourRps}-j${point.joiners}`,
      onProgress: (message: string) => options.onProgress?.(`quota matrix ${index + 1}/${points.length}: ${message}`),
    };
    const ours = await runWaveWithOurClient(wave, runOptions);
    const baseline = await runWaveWithBaselineClient(wave, runOptions);
    rows.push(quotaMatrixRow(point, ours.figures, baseline.figures));
  }
  return rows;
}
