/**
 * The local pipeline as the bench drives it: always fresh and in memory (its own emulator and
 * dynalite, no stateDir), so runs never see each other's state. Work is sent in phases; each
 * phase reports what happened during it alone (emulator counters reset, metric deltas).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Plugin } from 'esbuild';
import type { IdentityChange } from '../../lambdas/domain/identity-change';
import { METRIC } from '../../lambdas/shared/telemetry';
import type { RunningEmulator } from '../../local/emulator';
import { localCredentialsFor } from '../../local/iam';
import { LOCAL_DEFAULTS } from '../../local/pipeline/defaults';
import { LOCAL_NAMES, startLocalPipeline, type LocalPipeline } from '../../local/pipeline/pipeline';
import { sendEntries } from '../../local/producer';
import { BENCH_PRODUCER, BENCH_PRODUCERS } from './producers';
import { waitUntilDrained } from './drain';

export interface BenchPipelineSettings {
  /** A name for logs (one directory per pipeline under the bench's work directory). */
  name: string;
  workDir: string;
  /** The emulator's account-wide quota; 0 switches it off. */
  emulatorTps: number;
  /** The deployment's Identity Store budget, split over maxConcurrency as the stack splits it. */
  requestsPerSecond: number;
  maxConcurrency?: number;
  idCacheTtlSeconds?: number;
  bundlePlugins?: Plugin[];
}

export interface PhaseOutcomes {
  applied: number;
  noop: number;
  superseded: number;
  rejected: number;
  /** Recorded FAILED on the last delivery the queue allows. */
  failed: number;
  /** Deliveries that ended in "try again later" (one event can have several). */
  retried: number;
}

export interface PhaseResult {
  events: number;
  /** From the first send to the moment the queue was empty with nothing in flight. */
  elapsedMs: number;
  drained: boolean;
  /** Messages still on the source queue when the phase ended (0 when drained). */
  pending: number;
  outcomes: PhaseOutcomes;
  /** Events whose final outcome is APPLIED, NOOP or SUPERSEDED. */
  completed: number;
  /** Messages that reached the DLQ during the phase (rejections and exhausted retries). */
  deadLettered: number;
  /** Every request the emulator answered, throttled ones included. */
  calls: number;
  throttled: number;
  callsByAction: Record<string, number>;
  retryAfterWaitSeconds: number;
}

const REGION = 'us-east-1';

export class BenchPipeline {
  private constructor(
    readonly pipeline: LocalPipeline,
    private readonly emulator: RunningEmulator,
    private readonly eventBridge: EventBridgeClient,
  ) {}

  static async start(settings: BenchPipelineSettings): Promise<BenchPipeline> {
    const logDir = join(settings.workDir, settings.name);
    mkdirSync(logDir, { recursive: true });
    const pipeline = await startLocalPipeline({
      ...LOCAL_DEFAULTS,
      emulatorTps: settings.emulatorTps,
      requestsPerSecond: settings.requestsPerSecond,
      maxConcurrency: settings.maxConcurrency ?? LOCAL_DEFAULTS.maxConcurrency,
      idCacheTtlSeconds: settings.idCacheTtlSeconds ?? LOCAL_DEFAULTS.idCacheTtlSeconds,
      bundlePlugins: settings.bundlePlugins,
      producers: BENCH_PRODUCERS,
      logFile: join(logDir, 'consumer.log'),
    });
    if (!pipeline.emulator) throw new Error('the bench needs the embedded emulator (its counters)');
    // Sent through the bus as the HR feed, with its credentials, as a real producer would.
    const eventBridge = new EventBridgeClient({
      endpoint: pipeline.eventBridgeEndpoint,
      region: REGION,
      credentials: localCredentialsFor(BENCH_PRODUCERS[BENCH_PRODUCER].principals[0]),
    });
    return new BenchPipeline(pipeline, pipeline.emulator, eventBridge);
  }

  /** Sends `events` as producers do, waits until the queue drains, and reports this phase alone. */
  async runPhase(events: IdentityChange[], timeoutMs: number): Promise<PhaseResult> {
    const metricsBefore = new Map(this.pipeline.function.metrics);
    const deadLetteredBefore = this.deadLetterCount();
    this.emulator.resetStats();

    const startedAt = Date.now();
    const door = this.pipeline.doors[BENCH_PRODUCER];
    if (door?.via !== 'bus') throw new Error(`the bench sends through the bus as producer "${BENCH_PRODUCER}", which the pipeline does not declare`);
    const sent = await sendEntries(events, { eventBridge: { client: this.eventBridge, busName: door.busName, defaultSource: door.source } });
    const notSent = [...sent.refused, ...sent.failed];
    if (notSent.length > 0) throw new Error(`could not send ${notSent.length} events: ${notSent[0].reason}`);
    const drain = await waitUntilDrained(
      { pending: () => this.pipeline.pendingMessages(), inFlight: () => this.pipeline.inFlightInvocations() },
      timeoutMs,
    );

    const stats = this.emulator.stats();
    const metric = (name: string) => (this.pipeline.function.metrics.get(name) ?? 0) - (metricsBefore.get(name) ?? 0);
    const outcomes: PhaseOutcomes = {
      applied: metric(METRIC.applied),
      noop: metric(METRIC.noop),
      superseded: metric(METRIC.superseded),
      rejected: metric(METRIC.rejected),
      failed: metric(METRIC.failed),
      retried: metric(METRIC.retrying),
    };
    return {
      events: events.length,
      elapsedMs: (drain.drainedAt ?? Date.now()) - startedAt,
      drained: drain.drainedAt !== undefined,
      pending: this.pipeline.pendingMessages(),
      outcomes,
      completed: outcomes.applied + outcomes.noop + outcomes.superseded,
      deadLettered: this.deadLetterCount() - deadLetteredBefore,
      calls: stats.totalCalls,
      throttled: stats.throttled.quota + stats.throttled.injected,
      // Sorted, so results.json diffs only when a count changes.
      callsByAction: Object.fromEntries(Object.entries(stats.callsByAction).sort(([a], [b]) => a.localeCompare(b))),
      retryAfterWaitSeconds: metric(METRIC.retryAfterWaitSeconds),
    };
  }

  async stop(): Promise<void> {
    this.eventBridge.destroy();
    await this.pipeline.stop();
    // With no stateDir the pipeline bundles into a fresh temporary directory of its own; nothing reuses it.
    const bundleDir = dirname(this.pipeline.bundle.file);
    if (dirname(bundleDir) === tmpdir() && basename(bundleDir).startsWith('identity-provisioner-')) {
      rmSync(bundleDir, { recursive: true, force: true });
    }
  }

  private deadLetterCount(): number {
    return this.pipeline.sqs.queue(LOCAL_NAMES.deadLetterQueue).messages.length;
  }
}

/** Starts a pipeline, hands it to `use`, and always stops it. */
export async function withBenchPipeline<T>(settings: BenchPipelineSettings, use: (bench: BenchPipeline) => Promise<T>): Promise<T> {
  const bench = await BenchPipeline.start(settings);
  try {
    return await use(bench);
  } finally {
    await bench.stop();
  }
}
