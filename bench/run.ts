/**
 * `npm run bench`: reference workloads through the local pipeline, each on a fresh in-memory
 * emulator and dynalite. Prints a table and writes the same figures to bench/results.json
 * (shape in report/results.ts; what each figure means in docs/performance.md).
 *
 * Exits 1 when our own run lost or failed events or a calls case measured the wrong outcome:
 * the figures would not mean what they say. The baseline failing events is its expected result.
 */
import '../cli/quiet-sdk';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_DEFAULTS } from '../local/pipeline/defaults';
import { bundleHandler } from '../local/pipeline/bundle-handler';
import { HELP, parseBenchOptions, UsageError, type BenchOptions } from './options';
import { perEvent, round } from './report/figures';
import type { BenchResults } from './report/results';
import { renderResults } from './report/table';
import { measureCallsPerChange } from './sections/calls-per-change';
import { measureColdInit } from './sections/cold-init';
import { measureOverhead } from './sections/overhead';
import { quotaTimeoutMs, runWaveWithBaselineClient, runWaveWithOurClient } from './sections/quota-efficiency';
import { measureQuotaMatrix, quotaMatrixPoints } from './sections/quota-matrix';
import { onboardingWave } from './workload/wave';

/** The Identity Store's published account-wide quota. */
const QUOTA_RPS = LOCAL_DEFAULTS.tps;

async function runBench(options: BenchOptions, workDir: string): Promise<BenchResults> {
  const startedAt = Date.now();
  const loadAverageAtStart = round(loadavg()[0], 2);
  const progress = (message: string) => process.stderr.write(`[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);

  const wave = onboardingWave(options.joiners);
  const timeoutMs = quotaTimeoutMs(wave.measured.length, QUOTA_RPS);
  const quotaOptions = { workDir, rps: QUOTA_RPS, timeoutMs, onProgress: progress };

  const ours = await runWaveWithOurClient(wave, quotaOptions);
  const baseline = await runWaveWithBaselineClient(wave, quotaOptions);
  const quotaMatrix = await measureQuotaMatrix(quotaMatrixPoints(options.quotaMatrix), {
    workDir,
    rps: QUOTA_RPS,
    // The quota wave is one of the matrix's points with --quick: its runs are not repeated.
    alreadyMeasured: {
      point: { maxConcurrency: LOCAL_DEFAULTS.maxConcurrency, neighbourRps: 0, joiners: options.joiners },
      ours: ours.figures,
      baseline: baseline.figures,
    },
    onProgress: progress,
  });
  const callsPerChange = await measureCallsPerChange({ workDir, onProgress: progress });
  const overhead = await measureOverhead(onboardingWave(2 * options.joiners), { workDir, timeoutMs, onProgress: progress });

  progress(`cold init: ${options.coldInitRuns} fresh processes`);
  // The same bundling as the pipeline's (bundleHandler), into a directory this run owns.
  const bundle = await bundleHandler(join(workDir, 'cold-init'));
  const coldInit = await measureColdInit(bundle.file, options.coldInitRuns);

  const machineCpus = cpus();
  return {
    generatedAt: new Date().toISOString(),
    machine: {
      cpus: machineCpus.length,
      cpuModel: machineCpus[0]?.model.trim() ?? 'unknown',
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      loadAverageAtStart,
      loadAverageAtEnd: round(loadavg()[0], 2),
    },
    settings: {
      quick: options.quick,
      rps: QUOTA_RPS,
      maxConcurrency: LOCAL_DEFAULTS.maxConcurrency,
      batchSize: LOCAL_DEFAULTS.batchSize,
      maxReceiveCount: LOCAL_DEFAULTS.maxReceiveCount,
      redeliveryBaseDelaySeconds: LOCAL_DEFAULTS.redeliveryBaseDelaySeconds,
      idCacheTtlSeconds: LOCAL_DEFAULTS.idCacheTtlSeconds,
    },
    workload: { ...wave.counts, setupEvents: wave.setup.length, events: wave.measured.length },
    quota: { rps: QUOTA_RPS, ...ours.figures },
    baseline: baseline.figures,
    quotaMatrix,
    dynamoDbRequestsPerEvent: perEvent(ours.figures.dynamoDbRequests, ours.figures.events),
    callsPerChange,
    eventsPerSecond: overhead.eventsPerSecond,
    overhead,
    bundleBytes: ours.bundleBytes,
    coldInitMs: coldInit.medianMs,
    coldInitRunsMs: coldInit.runsMs,
    durationMs: Date.now() - startedAt,
  };
}

/** Reasons the figures cannot be trusted, if any. */
function problemsWith(results: BenchResults): string[] {
  const problems: string[] = [];
  const { quota } = results;
  if (quota.completed !== quota.events) problems.push(`our run completed ${quota.completed} of ${quota.events} events`);
  if (quota.failed > 0) problems.push(`our run sent ${quota.failed} events to the DLQ`);
  for (const row of results.quotaMatrix) {
    const point = `quota matrix (maxConcurrency ${row.maxConcurrency}, neighbour ${row.neighbourRps} rps, ${row.joiners} joiners)`;
    if (row.completed !== row.events) problems.push(`${point}: our run completed ${row.completed} of ${row.events} events`);
    if (row.failed > 0) problems.push(`${point}: our run sent ${row.failed} events to the DLQ`);
  }
  for (const [key, entry] of Object.entries(results.callsPerChange)) {
    for (const detail of [entry, entry.warm]) {
      if (detail.outcome !== entry.expectedOutcome) problems.push(`calls case ${key}: expected ${entry.expectedOutcome}, got ${detail.outcome}`);
    }
  }
  return problems;
}

async function main(): Promise<number> {
  const options = parseBenchOptions(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const workDir = mkdtempSync(join(tmpdir(), 'identity-provisioner-bench-'));
  let results: BenchResults;
  try {
    results = await runBench(options, workDir);
  } catch (error) {
    process.stderr.write(`bench failed; function logs kept in ${workDir}\n`);
    throw error;
  }
  writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${renderResults(results)}\n\nWrote ${options.out}\n`);
  const problems = problemsWith(results);
  if (problems.length > 0) {
    process.stderr.write(`\nThe figures are suspect; function logs kept in ${workDir}:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return 1;
  }
  rmSync(workDir, { recursive: true, force: true });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\nRun npm run bench -- --help for the options.\n`);
      process.exit(2);
    }
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
