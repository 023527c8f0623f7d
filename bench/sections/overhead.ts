/**
 * What handler and engine cost when the quota is not the limit: a wave (run.ts makes it twice
 * the quota run's, for a steadier figure) with the emulator's quota off and a budget far above anything reached. Everything (emulator, dynalite, SQS,
 * EventBridge, the function's worker processes) shares this machine's CPUs, so this is the
 * local pipeline's throughput: a floor for the code's speed, not Lambda's.
 */
import { withBenchPipeline } from '../harness/bench-pipeline';
import { round } from '../report/figures';
import type { Wave } from '../workload/wave';

export interface OverheadFigures {
  events: number;
  completed: number;
  elapsedMs: number;
  eventsPerSecond: number;
  calls: number;
  callsPerSecond: number;
}

/** Far above what a laptop reaches: the limiter never waits. */
const UNLIMITED_REQUESTS_PER_SECOND = 100_000;

export async function measureOverhead(
  wave: Wave,
  options: { workDir: string; timeoutMs: number; onProgress?: (message: string) => void },
): Promise<OverheadFigures> {
  return withBenchPipeline(
    { name: 'overhead', workDir: options.workDir, emulatorTps: 0, requestsPerSecond: UNLIMITED_REQUESTS_PER_SECOND },
    async (bench) => {
      options.onProgress?.(`overhead: ${wave.measured.length} events, quota off`);
      await bench.runPhase(wave.setup, options.timeoutMs);
      const phase = await bench.runPhase(wave.measured, options.timeoutMs);
      if (!phase.drained) throw new Error(`overhead: the queue did not drain within ${options.timeoutMs} ms`);
      const seconds = phase.elapsedMs / 1000;
      return {
        events: phase.events,
        completed: phase.completed,
        elapsedMs: phase.elapsedMs,
        eventsPerSecond: round(phase.events / seconds, 1),
        calls: phase.calls,
        callsPerSecond: round(phase.calls / seconds, 1),
      };
    },
  );
}
