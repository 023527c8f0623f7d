/**
 * The whole pipeline on a laptop, wired as the CDK stack wires it in AWS:
 *   bus producers -> EventBridge bus (bus policy) -> rule -> bus queue ┐
 *   queue producers -> their own queues (queue policies) ─────────────┴-> (+ shared DLQ after maxReceiveCount)
 *             -> one event source mapping per source queue (batches, MaximumConcurrency each)
 *             -> the real consumer handler -> Identity Store emulator / dynalite tables / outcome events on the bus.
 * The doors and their policies come from the deployment's own `producers` and `operators`
 * settings (local/pipeline/ingestion.ts), enforced by the local SQS and EventBridge as AWS
 * enforces them (local/iam). The handler runs in worker processes configured through the same
 * environment variables the stack sets, with the function role's local credentials; only the
 * AWS_ENDPOINT_URL_* variables point the SDK at local services.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plugin } from 'esbuild';
import { bundleHandler } from './bundle-handler';
import { startEmulator, type RunningEmulator } from '../emulator';
import { startDynalite, localDynamoDbClient, type RunningDynalite } from '../dynalite';
import { createTables } from '../tables';
import { startLocalSqs, type LocalSqs } from '../sqs';
import { startLocalEventBridge, type LocalEventBridge } from '../eventbridge';
import { runEventSourceMapping, type RunningEventSourceMapping } from '../lambda';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lambdas/shared/telemetry';
import { DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES, SOURCE_QUEUE_MAX_MESSAGE_BYTES } from '../../lambdas/shared/ingestion';
import type { RuntimeConfig } from '../../lambdas/shared/config';
import type { ProducerDeclarations, RuntimeProducer } from '../../lambdas/shared/producers';
import { localAccessKeyIdFor, LOCAL_SECRET_ACCESS_KEY, type LocalPrincipals } from '../iam';
import { LocalFunction } from './local-function';
import { LOCAL_ACCOUNT_ID, LOCAL_NAMES, LOCAL_REGION, planLocalIngestion, type IngestionPlan } from './ingestion';

export { LOCAL_NAMES, LOCAL_ACCOUNT_ID, LOCAL_REGION } from './ingestion';

const REGION = LOCAL_REGION;
const ACCOUNT_ID = LOCAL_ACCOUNT_ID;

export interface LocalPipelineOptions {
  identityStoreId: string;
  /** Use this running Identity Store instead of starting the emulator. */
  identityStoreEndpoint?: string;
  /** Use this running DynamoDB instead of starting dynalite. */
  dynamodbEndpoint?: string;
  /** The emulator's account-wide quota (requests per second; 0 = none). */
  emulatorTps: number;
  faults?: string;
  seed?: number;
  /** Where state survives between runs; undefined keeps everything in memory. */
  stateDir?: string;
  /** The deployment's settings, as the stack would set them. */
  requestsPerSecond: number;
  maxConcurrency: number;
  batchSize: number;
  functionTimeoutSeconds: number;
  maxReceiveCount: number;
  managedGroupScope: string;
  maxMembershipRemovalsPerEvent: number;
  deletionCap: number;
  deletionWindowSeconds: number;
  idCacheTtlSeconds: number;
  redeliveryBaseDelaySeconds: number;
  /** The function stops retrying this long before its deadline (default 2000 locally; 5000 in the stack). */
  retrySafetyMarginMs?: number;
  /** How far ahead of now an event's occurredAt may be, and the earliest it may be. */
  maxClockSkewSeconds: number;
  occurredAtFloor: string;
  /** The deployment's `producers` setting, in its own shape (validated as synth validates it). */
  producers: unknown;
  /** The deployment's `operators` setting: roles allowed to send to the bus queue (DLQ redrives). */
  operators: readonly string[];
  /**
   * The deployment has the drift function (driftSchedule not "off"): the built-in drift-repair
   * producer then has its door, for `npm run drift -- --repair`. Default false.
   */
  drift?: boolean;
  logFile: string;
  /** esbuild plugins for the handler bundle (benchmarks swap modules with them). */
  bundlePlugins?: Plugin[];
}

export interface LocalPipeline {
  /** The handler bundle the function runs (size for benchmarks). */
  bundle: { file: string; bytes: number };
  identityStoreEndpoint: string;
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  eventBridgeEndpoint: string;
  emulator?: RunningEmulator;
  sqs: LocalSqs;
  eventBridge: LocalEventBridge;
  function: LocalFunction;
  /** One per source queue (the bus queue first), as the stack creates them. */
  mappings: RunningEventSourceMapping[];
  /** The declared producers, validated, with their sources. */
  producers: ProducerDeclarations;
  /** How each producer sends: the bus with its source, or its own queue. */
  doors: Record<string, ProducerDoor>;
  /** Who the local SQS and EventBridge recognise by access key id. */
  principals: LocalPrincipals;
  plan: IngestionPlan;
  /** Every queue the function consumes (the bus queue first). */
  sourceQueues: string[];
  /** Messages still on the source queues (visible, in flight or delayed). */
  pendingMessages(): number;
  /** Invocations running now, over every event source mapping. */
  inFlightInvocations(): number;
  /** Resolves once the queue has stayed empty and no invocation runs, or rejects after `timeoutMs`. */
  settled(timeoutMs: number, onTick?: () => void, stopWhen?: () => boolean): Promise<void>;
  /**
   * Resolves once the queue has stayed empty and no invocation runs; rejects only when the
   * pipeline has stalled: some message has been receivable for `stallMs` while no invocation ran.
   * A slow machine is not a stall (it only takes longer), so tests wait on this, not on a deadline.
   */
  drained(stallMs: number, onTick?: () => void): Promise<void>;
  stop(): Promise<void>;
}

/** A producer's door, as a sender needs it. */
export type ProducerDoor =
  | { via: 'bus'; busName: string; source: string; principals: readonly string[] }
  | { via: 'queue'; queueName: string; queueUrl: string; principals: readonly string[] };

export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  // Settings first: a bad declaration fails before anything starts.
  const plan = planLocalIngestion({ producers: options.producers, operators: options.operators, drift: options.drift });
  const stopStack: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stopStack.reverse()) await stop().catch(() => undefined);
  };
  try {
    if (options.stateDir) mkdirSync(options.stateDir, { recursive: true });

    let emulator: RunningEmulator | undefined;
    let identityStoreEndpoint = options.identityStoreEndpoint;
    if (!identityStoreEndpoint) {
      emulator = await startEmulator({
        identityStoreIds: [options.identityStoreId],
        tps: options.emulatorTps,
        faults: options.faults,
        seed: options.seed,
        statePath: options.stateDir && join(options.stateDir, 'identitystore.json'),
      });
      stopStack.push(() => emulator!.stop());
      identityStoreEndpoint = emulator.endpoint;
    }

    let dynamodbEndpoint = options.dynamodbEndpoint;
    if (!dynamodbEndpoint) {
      const dynalite: RunningDynalite = await startDynalite({ path: options.stateDir && join(options.stateDir, 'dynamodb') });
      stopStack.push(() => dynalite.stop());
      dynamodbEndpoint = dynalite.endpoint;
    }
    const dynamodb = localDynamoDbClient(dynamodbEndpoint);
    await createTables(dynamodb, LOCAL_NAMES.tables);
    dynamodb.destroy();

    const { sqs, eventBridge, doors, deadLetterQueue } = await startLocalDoors(plan, {
      visibilityTimeoutSeconds: 6 * options.functionTimeoutSeconds,
      maxReceiveCount: options.maxReceiveCount,
    });
    stopStack.push(() => sqs.stop(), () => eventBridge.stop());

    const environment = functionEnvironment(
      options,
      {
        identityStoreEndpoint,
        dynamodbEndpoint,
        sqsEndpoint: sqs.endpoint,
        eventBridgeEndpoint: eventBridge.endpoint,
        deadLetterQueueUrl: deadLetterQueue.url,
      },
      plan,
    );
    const bundle = await bundleHandler(options.stateDir ? join(options.stateDir, 'build') : mkdtempSync(join(tmpdir(), 'identity-provisioner-')), options.bundlePlugins);
    const fn = new LocalFunction({
      functionName: LOCAL_NAMES.functionName,
      handlerModule: bundle.file,
      environment,
      // Each source queue's mapping may run maxConcurrency invocations at once.
      maxInstances: options.maxConcurrency * plan.sourceQueues.length,
      memoryLimitInMB: 512,
      region: REGION,
      accountId: ACCOUNT_ID,
      logFile: options.logFile,
    });
    stopStack.push(() => fn.stop());

    const mappings: RunningEventSourceMapping[] = [];
    for (const queueName of plan.sourceQueues) {
      const mapping = await runEventSourceMapping({
        sqs,
        queueName,
        handler: fn.invoke,
        batchSize: options.batchSize,
        maxConcurrency: options.maxConcurrency,
        functionTimeoutMs: options.functionTimeoutSeconds * 1000,
        functionName: LOCAL_NAMES.functionName,
        region: REGION,
        pollWaitTimeSeconds: 1,
      });
      mappings.push(mapping);
      stopStack.push(() => mapping.stop());
    }

    const endpointsFile = options.stateDir && join(options.stateDir, 'endpoints.json');
    if (endpointsFile) {
      // While this runs, `npm run audit` reads the live store instead of opening the locked LevelDB,
      // and `npm run send` adds events to the running queue and bus.
      const endpoints: LocalEndpoints = {
        dynamodbEndpoint,
        identityStoreEndpoint,
        auditTableName: LOCAL_NAMES.tables.audit,
        region: REGION,
        sqsEndpoint: sqs.endpoint,
        eventBridgeEndpoint: eventBridge.endpoint,
        eventBusName: LOCAL_NAMES.bus,
        producers: doors,
      };
      writeFileSync(endpointsFile, JSON.stringify(endpoints, null, 2));
      stopStack.unshift(async () => rmSync(endpointsFile, { force: true }));
    }

    const pendingMessages = () => plan.sourceQueues.reduce((sum, queue) => sum + sqs.queue(queue).messages.length, 0);
    const inFlightInvocations = () => mappings.reduce((sum, mapping) => sum + mapping.stats().inFlightInvocations, 0);
    const receivableMessages = () =>
      plan.sourceQueues.reduce((sum, queue) => sum + sqs.queue(queue).messages.filter((message) => message.state === 'visible').length, 0);
    return {
      bundle,
      identityStoreEndpoint,
      dynamodbEndpoint,
      sqsEndpoint: sqs.endpoint,
      eventBridgeEndpoint: eventBridge.endpoint,
      emulator,
      sqs,
      eventBridge,
      function: fn,
      mappings,
      producers: plan.producers,
      doors,
      principals: plan.principals,
      plan,
      sourceQueues: plan.sourceQueues,
      pendingMessages,
      inFlightInvocations,
      settled: (timeoutMs, onTick, stopWhen) => waitUntilSettled(pendingMessages, inFlightInvocations, timeoutMs, onTick, stopWhen),
      drained: (stallMs, onTick) => waitUntilDrained(pendingMessages, inFlightInvocations, receivableMessages, stallMs, onTick),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

export interface LocalDoorsOptions {
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
  /** How long one SQS second lasts (tests compress time). */
  secondMs?: number;
}

/**
 * The ingestion half of the pipeline: the local SQS and EventBridge knowing the plan's principals,
 * the DLQ, the bus queue and the producer queues (redriving to the DLQ), the rule, and every
 * policy of the plan installed. Stop `sqs` and `eventBridge` when done.
 */
export async function startLocalDoors(plan: IngestionPlan, options: LocalDoorsOptions) {
  const sqs = await startLocalSqs({ region: REGION, accountId: ACCOUNT_ID, principals: plan.principals, secondMs: options.secondMs });
  let eventBridge: LocalEventBridge;
  try {
    eventBridge = await startLocalEventBridge({ sqs, region: REGION, accountId: ACCOUNT_ID, principals: plan.principals });
  } catch (error) {
    await sqs.stop();
    throw error;
  }
  try {
    // Sizes as the stack sets them: every message that fits a source queue fits the DLQ with its reason.
    const deadLetterQueue = sqs.createQueue(LOCAL_NAMES.deadLetterQueue, { MaximumMessageSize: String(DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES) });
    const sourceQueueAttributes = {
      MaximumMessageSize: String(SOURCE_QUEUE_MAX_MESSAGE_BYTES),
      VisibilityTimeout: String(options.visibilityTimeoutSeconds),
      // Every source queue shares the one DLQ (SQS's own move: not subject to the DLQ's policy).
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterQueue.arn, maxReceiveCount: options.maxReceiveCount }),
    };
    for (const queue of plan.sourceQueues) sqs.createQueue(queue, sourceQueueAttributes);
    if (plan.rulePattern !== undefined) {
      const ruleArn = eventBridge.addRule({ name: LOCAL_NAMES.rule, bus: LOCAL_NAMES.bus, pattern: plan.rulePattern, target: { queueName: LOCAL_NAMES.busQueue } });
      if (ruleArn !== plan.resources.ruleArn) throw new Error(`the local rule is ${ruleArn}, but its policies name ${plan.resources.ruleArn}`);
    }
    // The policies lib/access-policies.ts writes for the stack, on the local resources.
    eventBridge.setBusPolicy(LOCAL_NAMES.bus, plan.busPolicy);
    for (const queue of sqs.queues()) {
      const statements = plan.queuePolicies.get(queue.arn);
      if (statements) sqs.setQueueAttributes(queue.name, { Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }) });
    }
    const doors: Record<string, ProducerDoor> = {};
    // Built-in producers too (drift-repair): `npm run drift -- --repair` sends through its door.
    for (const [name, producer] of Object.entries({ ...plan.producers, ...plan.builtInProducers }).sort(([a], [b]) => a.localeCompare(b))) {
      doors[name] =
        producer.via === 'bus'
          ? { via: 'bus', busName: LOCAL_NAMES.bus, source: producer.source!, principals: producer.principals }
          : { via: 'queue', queueName: plan.producerQueues[name], queueUrl: sqs.queue(plan.producerQueues[name]).url, principals: producer.principals };
    }
    return { sqs, eventBridge, doors, deadLetterQueue };
  } catch (error) {
    await eventBridge.stop();
    await sqs.stop();
    throw error;
  }
}

/**
 * What `npm start` writes to <state-dir>/endpoints.json while it runs: `npm run audit` reads the
 * live store, `npm run send` sends through the producers' doors.
 */
export interface LocalEndpoints {
  dynamodbEndpoint: string;
  /** The Identity Store the function writes to (npm run plan, drift and reconcile read it). */
  identityStoreEndpoint?: string;
  auditTableName: string;
  region: string;
  sqsEndpoint: string;
  eventBridgeEndpoint: string;
  eventBusName: string;
  producers: Record<string, ProducerDoor>;
}

/** The same variables lib/ sets on the deployed function, plus local endpoints and the function role's local credentials. */
export interface FunctionEndpoints {
  identityStoreEndpoint: string;
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  eventBridgeEndpoint: string;
  deadLetterQueueUrl: string;
}

export function functionEnvironment(
  options: Omit<LocalPipelineOptions, 'logFile' | 'emulatorTps' | 'batchSize' | 'functionTimeoutSeconds' | 'producers' | 'operators'>,
  endpoints: FunctionEndpoints,
  plan: Pick<IngestionPlan, 'sourceQueues' | 'runtimeProducers' | 'resources'>,
): Record<string, string> {
  const producers: RuntimeProducer[] = plan.runtimeProducers;
  const config: Record<keyof RuntimeConfig, string> = {
    IDENTITY_STORE_ID: options.identityStoreId,
    IDENTITY_STORE_REGION: REGION,
    AUDIT_TABLE_NAME: LOCAL_NAMES.tables.audit,
    STATE_TABLE_NAME: LOCAL_NAMES.tables.state,
    IDEMPOTENCY_TABLE_NAME: LOCAL_NAMES.tables.idempotency,
    EVENT_BUS_NAME: LOCAL_NAMES.bus,
    DEAD_LETTER_QUEUE_URL: endpoints.deadLetterQueueUrl,
    DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES: String(DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES),
    // The whole budget, shared through the state table; QUOTA_INSTANCES as the stack sets it.
    REQUESTS_PER_SECOND: String(options.requestsPerSecond),
    QUOTA_INSTANCES: String(options.maxConcurrency * plan.sourceQueues.length),
    MANAGED_GROUP_SCOPE: options.managedGroupScope,
    MAX_MEMBERSHIP_REMOVALS_PER_EVENT: String(options.maxMembershipRemovalsPerEvent),
    DELETION_CAP: String(options.deletionCap),
    DELETION_WINDOW_SECONDS: String(options.deletionWindowSeconds),
    AUDIT_RETENTION_DAYS: '0',
    ID_CACHE_TTL_SECONDS: String(options.idCacheTtlSeconds),
    RETRY_SAFETY_MARGIN_MS: String(options.retrySafetyMarginMs ?? 2000),
    QUEUE_KIND: 'standard',
    MAX_RECEIVE_COUNT: String(options.maxReceiveCount),
    REDELIVERY_BASE_DELAY_SECONDS: String(options.redeliveryBaseDelaySeconds),
    MAX_CLOCK_SKEW_SECONDS: String(options.maxClockSkewSeconds),
    OCCURRED_AT_FLOOR: options.occurredAtFloor,
    PRODUCERS: JSON.stringify(producers),
  };
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...config,
    AWS_REGION: REGION,
    // The function role's credentials: its DLQ moves and outcome events pass the policies as the role's.
    AWS_ACCESS_KEY_ID: localAccessKeyIdFor(plan.resources.functionRoleArn),
    AWS_SECRET_ACCESS_KEY: LOCAL_SECRET_ACCESS_KEY,
    AWS_ENDPOINT_URL_IDENTITYSTORE: endpoints.identityStoreEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodbEndpoint,
    AWS_ENDPOINT_URL_SQS: endpoints.sqsEndpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventBridgeEndpoint,
    AWS_LAMBDA_FUNCTION_NAME: LOCAL_NAMES.functionName,
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    POWERTOOLS_LOG_LEVEL: 'INFO',
    NODE_OPTIONS: '--enable-source-maps',
    // Pinned SDK releases run on Node 20 here; their "needs Node 22 from 2027" notice is noise.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // No X-Ray daemon on a laptop.
    POWERTOOLS_TRACE_ENABLED: 'false',
  };
}

async function waitUntilSettled(
  pending: () => number,
  inFlight: () => number,
  timeoutMs: number,
  onTick?: () => void,
  stopWhen?: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quietSince: number | undefined;
  for (;;) {
    // Asked to stop (Ctrl-C): the caller reports what is left.
    if (stopWhen?.()) return;
    onTick?.();
    const quiet = pending() === 0 && inFlight() === 0;
    if (quiet) {
      quietSince ??= Date.now();
      if (Date.now() - quietSince >= 300) return;
    } else {
      quietSince = undefined;
    }
    if (Date.now() > deadline) throw new Error(`the queue did not drain within ${timeoutMs} ms (${pending()} messages left)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitUntilDrained(
  pending: () => number,
  inFlight: () => number,
  receivable: () => number,
  stallMs: number,
  onTick?: () => void,
): Promise<void> {
  let quietSince: number | undefined;
  let idleWithWorkSince: number | undefined;
  for (;;) {
    onTick?.();
    const now = Date.now();
    const running = inFlight();
    if (pending() === 0 && running === 0) {
      quietSince ??= now;
      if (now - quietSince >= 300) return;
    } else {
      quietSince = undefined;
    }
    // Messages waiting out a visibility timeout or a redelivery delay are not a stall; a message
    // that could be received while nothing runs is, once it has lasted `stallMs`.
    if (running === 0 && receivable() > 0) idleWithWorkSince ??= now;
    else idleWithWorkSince = undefined;
    if (idleWithWorkSince !== undefined && now - idleWithWorkSince > stallMs) {
      throw new Error(`the pipeline stalled: ${receivable()} messages receivable for ${Math.round(stallMs / 1000)} s while no invocation ran (${pending()} left)`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
