/**
 * The wave at the quota (20 rps, as AWS), twice, each on a fresh emulator and dynalite: with our
 * client (RetryAfterSeconds strategy + rate limiter), then with the SDK's default retry and no
 * limiter swapped into the same handler bundle. Setup (the groups) is drained before the
 * counters are reset, so only the measured phase counts. The quota matrix runs the same pair at
 * other concurrencies, with a neighbour sharing the quota during the measured phase.
 */
import type { Plugin } from 'esbuild';
import { swapInBaselineClient } from '../baseline/swap-plugin';
import { withBenchPipeline, type PhaseResult } from '../harness/bench-pipeline';
import { lowerBoundMs, ratio, rpsLeftToUs, share } from '../report/figures';
import type { Wave } from '../workload/wave';

export interface WaveRunFigures {
  events: number;
  /** Final outcome APPLIED, NOOP or SUPERSEDED. */
  completed: number;
  /** Completed as SUPERSEDED: a newer change to the person was applied first, so this one was dropped. */
  superseded: number;
  /** Messages in the DLQ: rejections and events that failed every delivery. */
  failed: number;
  /** Events still on the queue when the run gave up waiting (0 when it drained). */
  pending: number;
  calls: number;
  /** Calls the quota let through (calls - throttled): what the lower bound is computed from. */
  admittedCalls: number;
  throttled: number;
  throttledShare: number;
  lowerBoundMs: number;
  elapsedMs: number;
  ratio: number | null;
  /** Deliveries that ended in "try again later" (redeliveries through the queue). */
  retriedDeliveries: number;
  retryAfterWaitSeconds: number;
  callsByAction: Record<string, number>;
  /** The neighbour's own calls (not in calls or throttled), when one ran. */
  neighbourCalls?: number;
  neighbourThrottled?: number;
  /** Every request dynalite answered during the measured phase. */
  dynamoDbRequests: number;
  dynamoDbRequestsByOperation: Record<string, number>;
}

export interface QuotaRunOptions {
  workDir: string;
  rps: number;
  timeoutMs: number;
  /** Function instances per source queue (default: npm start's). */
  maxConcurrency?: number;
  /** Another caller's requests per second during the measured phase (default 0). */
  neighbourRps?: number;
  /** Names the run's log directory; default `quota`. */
  label?: string;
  onProgress?: (message: string) => void;
}

/** A generous guess of calls per wave event, only to size the timeouts. */
const CALLS_PER_EVENT_GUESS = 12;

/** Long enough for 5 times the calls a wave of `events` is likely to make at `rps`, and at least 2 minutes. */
export function quotaTimeoutMs(events: number, rps: number): number {
  return Math.max(120_000, ((5 * events * CALLS_PER_EVENT_GUESS) / rps) * 1000);
}

export interface QuotaRun {
  figures: WaveRunFigures;
  /** The handler bundle's size (the pipeline removes the file when it stops). */
  bundleBytes: number;
}

export function runWaveWithOurClient(wave: Wave, options: QuotaRunOptions): Promise<QuotaRun> {
  return runWave(wave, options, `${options.label ?? 'quota'}-ours`);
}

export async function runWaveWithBaselineClient(wave: Wave, options: QuotaRunOptions): Promise<QuotaRun> {
  const swap = swapInBaselineClient();
  return runWave(wave, options, `${options.label ?? 'quota'}-baseline`, swap.plugin, () => {
    if (swap.swaps() === 0) throw new Error('the baseline client was not swapped into the bundle: the import it replaces has moved');
  });
}

async function runWave(
  wave: Wave,
  options: QuotaRunOptions,
  name: string,
  plugin?: Plugin,
  checkBundle?: () => void,
): Promise<QuotaRun> {
  return withBenchPipeline(
    {
      name,
      workDir: options.workDir,
      emulatorTps: options.rps,
      requestsPerSecond: options.rps,
      maxConcurrency: options.maxConcurrency,
      bundlePlugins: plugin ? [plugin] : undefined,
    },
    async (bench) => {
      checkBundle?.();
      options.onProgress?.(`${name}: setup (${wave.setup.length} groups)`);
      const setup = await bench.runPhase(wave.setup, options.timeoutMs);
      if (!setup.drained || setup.completed !== wave.setup.length) {
        throw new Error(`${name}: setup did not complete (${setup.completed}/${wave.setup.length} groups)`);
      }
      const neighbourRps = options.neighbourRps ?? 0;
      const neighbourNote = neighbourRps > 0 ? `, a neighbour at ${neighbourRps} rps` : '';
      options.onProgress?.(`${name}: ${wave.measured.length} events at ${options.rps} rps${neighbourNote}`);
      const phase = await bench.runPhase(wave.measured, options.timeoutMs, { neighbourRps });
      return { figures: waveFigures(phase, options.rps, neighbourRps), bundleBytes: bench.pipeline.bundle.bytes };
    },
  );
}

/**
 * `rps` is the account's quota; a neighbour calling at `neighbourRps` takes its tokens from the
 * same bucket, so the bound uses what it leaves (see docs/performance.md, "Quota matrix").
 */
export function waveFigures(phase: PhaseResult, rps: number, neighbourRps = 0): WaveRunFigures {
  const admittedCalls = phase.calls - phase.throttled;
  // The emulator's bucket holds one second of calls (burst = tps, its default, which the pipeline keeps).
  const bound = lowerBoundMs(admittedCalls, rpsLeftToUs(rps, neighbourRps), rps);
  return {
    events: phase.events,
    completed: phase.completed,
    superseded: phase.outcomes.superseded,
    failed: phase.deadLettered,
    pending: phase.pending,
    calls: phase.calls,
    admittedCalls,
    throttled: phase.throttled,
    throttledShare: share(phase.throttled, phase.calls),
    lowerBoundMs: bound,
    elapsedMs: phase.elapsedMs,
    ratio: ratio(phase.elapsedMs, bound),
    retriedDeliveries: phase.outcomes.retried,
    retryAfterWaitSeconds: Math.round(phase.retryAfterWaitSeconds * 10) / 10,
    callsByAction: phase.callsByAction,
    ...(phase.neighbour && { neighbourCalls: phase.neighbour.calls, neighbourThrottled: phase.neighbour.throttled }),
    dynamoDbRequests: phase.dynamoDbRequests,
    dynamoDbRequestsByOperation: phase.dynamoDbRequestsByOperation,
  };
}
