/**
 * The local pipeline as the bench drives it: always fresh and in memory (its own emulator and
 * dynalite, no stateDir), so runs never see each other's state. Work is sent in phases; each
 * phase reports what happened during it alone (emulator and DynamoDB counters reset, metric
 * deltas). The bench starts dynalite itself (the pipeline uses a given endpoint as it is) to count
 * the requests it answers.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Plugin } from 'esbuild';
import type { IdentityChange } from '../../lambdas/domain/identity-change';
import { METRIC } from '../../lambdas/shared/telemetry';
import { startDynalite, type RunningDynalite } from '../../local/dynalite';
import type { EmulatorStats, RunningEmulator } from '../../local/emulator';
import { localCredentialsFor } from '../../local/iam';
import { LOCAL_DEFAULTS } from '../../local/pipeline/defaults';
import { NEIGHBOUR_ACTION, startNeighbour } from '../../local/pipeline/neighbour';
import { LOCAL_NAMES, startLocalPipeline, type LocalPipeline } from '../../local/pipeline/pipeline';
import { sendEntries } from '../../local/producer';
import { BENCH_PRODUCER, BENCH_PRODUCERS } from './producers';
import { waitUntilDrained } from './drain';
import { DynamoDbRequestCounter } from './dynamodb-requests';

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

export interface PhaseOptions {
  /** Another caller in the account, calling NEIGHBOUR_ACTION at this rate while the phase runs (0: none). */
  neighbourRps?: number;
}

/** What the neighbour counted itself (the emulator counts throttling account-wide, not per caller). */
export interface NeighbourCalls {
  calls: number;
  throttled: number;
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
  /** Every request of ours the emulator answered, throttled ones included (the neighbour's are not). */
  calls: number;
  throttled: number;
  callsByAction: Record<string, number>;
  retryAfterWaitSeconds: number;
  /** The neighbour's own calls, when one ran. */
  neighbour?: NeighbourCalls;
  /** Every request dynalite answered during the phase (the function's only: nothing else uses it then). */
  dynamoDbRequests: number;
  dynamoDbRequestsByOperation: Record<string, number>;
}

const REGION = 'us-east-1';

export class BenchPipeline {
  private constructor(
    readonly pipeline: LocalPipeline,
    private readonly emulator: RunningEmulator,
    private readonly eventBridge: EventBridgeClient,
    private readonly dynalite: RunningDynalite,
    private readonly dynamoDbRequests: DynamoDbRequestCounter,
  ) {}

  static async start(settings: BenchPipelineSettings): Promise<BenchPipeline> {
    const logDir = join(settings.workDir, settings.name);
    mkdirSync(logDir, { recursive: true });
    const dynamoDbRequests = new DynamoDbRequestCounter();
    // In memory, as the pipeline would start it.
    const dynalite = await startDynalite({ onRequest: dynamoDbRequests.onRequest });
    let pipeline: LocalPipeline;
    try {
      pipeline = await startLocalPipeline({
        ...LOCAL_DEFAULTS,
        emulatorTps: settings.emulatorTps,
        requestsPerSecond: settings.requestsPerSecond,
        maxConcurrency: settings.maxConcurrency ?? LOCAL_DEFAULTS.maxConcurrency,
        idCacheTtlSeconds: settings.idCacheTtlSeconds ?? LOCAL_DEFAULTS.idCacheTtlSeconds,
        bundlePlugins: settings.bundlePlugins,
        dynamodbEndpoint: dynalite.endpoint,
        producers: BENCH_PRODUCERS,
        logFile: join(logDir, 'consumer.log'),
      });
    } catch (error) {
      await dynalite.stop();
      throw error;
    }
    if (!pipeline.emulator) throw new Error('the bench needs the embedded emulator (its counters)');
    // Sent through the bus as the HR feed, with its credentials, as a real producer would.
    const eventBridge = new EventBridgeClient({
      endpoint: pipeline.eventBridgeEndpoint,
      region: REGION,
      credentials: localCredentialsFor(BENCH_PRODUCERS[BENCH_PRODUCER].principals[0]),
    });
    return new BenchPipeline(pipeline, pipeline.emulator, eventBridge, dynalite, dynamoDbRequests);
  }

  /**
   * Sends `events` as producers do, waits until the queue drains, and reports this phase alone.
   * A neighbour, when asked for, calls from the first send until the queue has drained.
   */
  async runPhase(events: IdentityChange[], timeoutMs: number, options: PhaseOptions = {}): Promise<PhaseResult> {
    const metricsBefore = new Map(this.pipeline.function.metrics);
    const deadLetteredBefore = this.deadLetterCount();
    this.emulator.resetStats();
    this.dynamoDbRequests.reset();
    const neighbourRps = options.neighbourRps ?? 0;
    const neighbour =
      neighbourRps > 0
        ? startNeighbour({ endpoint: this.pipeline.identityStoreEndpoint, identityStoreId: LOCAL_DEFAULTS.identityStoreId, tps: neighbourRps })
        : undefined;

    const startedAt = Date.now();
    const door = this.pipeline.doors[BENCH_PRODUCER];
    if (door?.via !== 'bus') throw new Error(`the bench sends through the bus as producer "${BENCH_PRODUCER}", which the pipeline does not declare`);
    const sent = await sendEntries(events, { eventBridge: { client: this.eventBridge, busName: door.busName, defaultSource: door.source } });
    const notSent = [...sent.refused, ...sent.failed];
    if (notSent.length > 0) throw new Error(`could not send ${notSent.length} events: ${notSent[0].reason}`);
    let drain: { drainedAt: number | undefined };
    try {
      drain = await waitUntilDrained(
        { pending: () => this.pipeline.pendingMessages(), inFlight: () => this.pipeline.inFlightInvocations() },
        timeoutMs,
      );
      // Its last requests answered before the counters are read, so they are all in the emulator's.
      await neighbour?.finish();
    } finally {
      neighbour?.stop();
    }

    const stats = this.emulator.stats();
    const dynamoDb = this.dynamoDbRequests.counts();
    const { calls, throttled, callsByAction } = separateNeighbour(stats, neighbour);
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
      calls,
      throttled,
      callsByAction,
      retryAfterWaitSeconds: metric(METRIC.retryAfterWaitSeconds),
      ...(neighbour && { neighbour: { calls: neighbour.calls, throttled: neighbour.throttled } }),
      dynamoDbRequests: dynamoDb.total,
      dynamoDbRequestsByOperation: dynamoDb.byOperation,
    };
  }

  async stop(): Promise<void> {
    this.eventBridge.destroy();
    await this.pipeline.stop();
    await this.dynalite.stop();
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

/**
 * Our calls out of the emulator's counters: every action but the neighbour's, and the throttled
 * answers less those the neighbour counted itself (the emulator does not count throttling per action).
 */
export function separateNeighbour(
  stats: Pick<EmulatorStats, 'callsByAction' | 'throttledByAction'>,
  neighbour: NeighbourCalls | undefined,
): { calls: number; throttled: number; callsByAction: Record<string, number> } {
  const isOurs = ([action]: [string, number]) => neighbour === undefined || action !== NEIGHBOUR_ACTION;
  const ours = Object.entries(stats.callsByAction).filter(isOurs);
  if (neighbour) {
    const seen = stats.callsByAction[NEIGHBOUR_ACTION] ?? 0;
    // Only true if our function never calls the neighbour's action: then its calls are all the neighbour's.
    if (seen !== neighbour.calls) {
      throw new Error(`the emulator answered ${seen} ${NEIGHBOUR_ACTION} calls but the neighbour sent ${neighbour.calls}: ours cannot be told apart from it`);
    }
  }
  return {
    calls: ours.reduce((sum, [, count]) => sum + count, 0),
    // Counted by action, as the calls are: never the total less the neighbour's.
    throttled: Object.entries(stats.throttledByAction).filter(isOurs).reduce((sum, [, count]) => sum + count, 0),
    // Sorted, so results.json diffs only when a count changes.
    callsByAction: Object.fromEntries(ours.sort(([a], [b]) => a.localeCompare(b))),
  };
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
