/**
 * Identity Store calls per kind of change: each case's single event through the pipeline, counted
 * by the emulator (stats delta), next to the minimum (minimum-calls.ts). Quota off so no retry
 * adds calls; one function instance so the id cache it reports on is the one that served the
 * setup. Run twice: id cache off (cold: every lookup goes to the API) and on as deployed (warm:
 * this instance just created or looked up the ids).
 */
import { callsCases, type CallsCase } from '../calls/cases';
import { minimumCalls, type CacheState } from '../calls/minimum-calls';
import { withBenchPipeline, type PhaseResult } from '../harness/bench-pipeline';

export interface CallsCount {
  made: number;
  minimum: number;
  byAction: Record<string, number>;
  /** The measured event's outcome; a case whose outcome is not the expected one measured the wrong thing. */
  outcome: string;
}

/** Top-level counts are with a cold id cache (the first time this instance meets these ids). */
export interface CallsPerChangeEntry extends CallsCount {
  label: string;
  eventType: string;
  expectedOutcome: string;
  /** The same event when this instance has the ids cached. */
  warm: CallsCount;
}

const WARM_CACHE_TTL_SECONDS = 60;
const PHASE_TIMEOUT_MS = 60_000;

export async function measureCallsPerChange(options: {
  workDir: string;
  onProgress?: (message: string) => void;
}): Promise<Record<string, CallsPerChangeEntry>> {
  const cases = callsCases();
  const cold = await countCalls(cases, 'cold', options);
  const warm = await countCalls(cases, 'warm', options);
  return Object.fromEntries(
    cases.map((c) => [
      c.key,
      {
        label: c.label,
        eventType: c.measured.type,
        expectedOutcome: c.expectedOutcome,
        ...cold[c.key],
        warm: warm[c.key],
      } satisfies CallsPerChangeEntry,
    ]),
  );
}

async function countCalls(
  cases: CallsCase[],
  cache: CacheState,
  options: { workDir: string; onProgress?: (message: string) => void },
): Promise<Record<string, CallsCount>> {
  options.onProgress?.(`calls per change: ${cases.length} cases, ${cache} id cache`);
  return withBenchPipeline(
    {
      name: `calls-${cache}`,
      workDir: options.workDir,
      emulatorTps: 0,
      requestsPerSecond: 1_000,
      maxConcurrency: 1,
      idCacheTtlSeconds: cache === 'cold' ? 0 : WARM_CACHE_TTL_SECONDS,
    },
    async (bench) => {
      // Groups before the users that join them.
      for (const setup of [cases.flatMap((c) => c.setupGroups), cases.flatMap((c) => c.setupUsers)]) {
        const phase = await bench.runPhase(setup, PHASE_TIMEOUT_MS);
        if (phase.completed !== setup.length) throw new Error(`calls per change: setup completed ${phase.completed}/${setup.length} events`);
      }
      const counts: Record<string, CallsCount> = {};
      for (const c of cases) {
        const phase = await bench.runPhase([c.measured], PHASE_TIMEOUT_MS);
        counts[c.key] = {
          made: phase.calls,
          minimum: minimumCalls(c.shape, cache).total,
          byAction: phase.callsByAction,
          outcome: outcomeOf(phase),
        };
      }
      return counts;
    },
  );
}

function outcomeOf(phase: PhaseResult): string {
  const { applied, noop, superseded, rejected, failed, retried } = phase.outcomes;
  if (applied === 1 && noop + superseded + rejected + failed + retried === 0) return 'APPLIED';
  if (noop === 1 && applied + superseded + rejected + failed + retried === 0) return 'NOOP';
  return `unexpected: ${JSON.stringify(phase.outcomes)}`;
}
