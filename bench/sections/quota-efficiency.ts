/**
 * The wave at the quota (20 rps, as AWS), twice, each on a fresh emulator and dynalite: with our
 * client (RetryAfterSeconds strategy + rate limiter), then with the SDK's default retry and no
 * limiter swapped into the same handler bundle. Setup (the groups) is drained before the
 * counters are reset, so only the measured phase counts.
 */
import type { Plugin } from 'esbuild';
import { swapInBaselineClient } from '../baseline/swap-plugin';
import { withBenchPipeline, type PhaseResult } from '../harness/bench-pipeline';
import { lowerBoundMs, ratio, share } from '../report/figures';
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
}

export interface QuotaRunOptions {
  workDir: string;
  rps: number;
  timeoutMs: number;
  onProgress?: (message: string) => void;
}

export interface QuotaRun {
  figures: WaveRunFigures;
  /** The handler bundle's size (the pipeline removes the file when it stops). */
  bundleBytes: number;
}

export function runWaveWithOurClient(wave: Wave, options: QuotaRunOptions): Promise<QuotaRun> {
  return runWave(wave, options, 'quota-ours');
}

export async function runWaveWithBaselineClient(wave: Wave, options: QuotaRunOptions): Promise<QuotaRun> {
  const swap = swapInBaselineClient();
  return runWave(wave, options, 'quota-baseline', swap.plugin, () => {
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
      bundlePlugins: plugin ? [plugin] : undefined,
    },
    async (bench) => {
      checkBundle?.();
      options.onProgress?.(`${name}: setup (${wave.setup.length} groups)`);
      const setup = await bench.runPhase(wave.setup, options.timeoutMs);
      if (!setup.drained || setup.completed !== wave.setup.length) {
        throw new Error(`${name}: setup did not complete (${setup.completed}/${wave.setup.length} groups)`);
      }
      options.onProgress?.(`${name}: ${wave.measured.length} events at ${options.rps} rps`);
      const phase = await bench.runPhase(wave.measured, options.timeoutMs);
      return { figures: waveFigures(phase, options.rps), bundleBytes: bench.pipeline.bundle.bytes };
    },
  );
}

export function waveFigures(phase: PhaseResult, rps: number): WaveRunFigures {
  const admittedCalls = phase.calls - phase.throttled;
  // The emulator's bucket holds one second of calls (burst = tps, its default, which the pipeline keeps).
  const bound = lowerBoundMs(admittedCalls, rps, rps);
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
  };
}
