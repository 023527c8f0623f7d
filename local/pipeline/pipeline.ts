/**
 * The whole pipeline on a laptop, wired as the CDK stack wires it in AWS:
 *   producers -> (EventBridge rule) -> SQS queue (+ DLQ after maxReceiveCount)
 *             -> event source mapping (batches, MaximumConcurrency) -> the real consumer handler
 *             -> Identity Store emulator / dynalite tables / outcome events on the bus.
 * The handler runs in worker processes configured through the same environment variables the
 * stack sets; only the AWS_ENDPOINT_URL_* variables point the SDK at local services.
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
import { ingestionEventPattern, DEFAULT_ACCEPTED_SOURCES } from '../../lambdas/shared/ingestion';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lambdas/shared/telemetry';
import type { RuntimeConfig } from '../../lambdas/shared/config';
import { LocalFunction } from './local-function';

export const LOCAL_NAMES = {
  functionName: 'identity-provisioner-consumer',
  queue: 'identity-provisioner-events',
  deadLetterQueue: 'identity-provisioner-events-dlq',
  bus: 'identity-provisioner',
  tables: { audit: 'identity-provisioner-audit', state: 'identity-provisioner-state', idempotency: 'identity-provisioner-idempotency' },
} as const;

const REGION = 'us-east-1';
const ACCOUNT_ID = '000000000000';

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
  acceptedSources?: string[];
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
  mapping: RunningEventSourceMapping;
  /** Messages still on the source queue (visible, in flight or delayed). */
  pendingMessages(): number;
  /** Resolves once the queue has stayed empty and no invocation runs, or rejects after `timeoutMs`. */
  settled(timeoutMs: number, onTick?: () => void): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
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

    const sqs = await startLocalSqs({ region: REGION, accountId: ACCOUNT_ID });
    stopStack.push(() => sqs.stop());
    const visibilityTimeout = 6 * options.functionTimeoutSeconds;
    const deadLetterQueue = sqs.createQueue(LOCAL_NAMES.deadLetterQueue, {});
    sqs.createQueue(LOCAL_NAMES.queue, {
      VisibilityTimeout: String(visibilityTimeout),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterQueue.arn, maxReceiveCount: options.maxReceiveCount }),
    });

    const eventBridge = await startLocalEventBridge({ sqs, region: REGION, accountId: ACCOUNT_ID });
    stopStack.push(() => eventBridge.stop());
    eventBridge.addRule({
      name: 'identity-changes-to-queue',
      bus: LOCAL_NAMES.bus,
      pattern: ingestionEventPattern(options.acceptedSources ?? DEFAULT_ACCEPTED_SOURCES),
      target: { queueName: LOCAL_NAMES.queue },
    });

    const environment = functionEnvironment(options, {
      identityStoreEndpoint,
      dynamodbEndpoint,
      sqsEndpoint: sqs.endpoint,
      eventBridgeEndpoint: eventBridge.endpoint,
      deadLetterQueueUrl: deadLetterQueue.url,
    });
    const bundle = await bundleHandler(options.stateDir ? join(options.stateDir, 'build') : mkdtempSync(join(tmpdir(), 'identity-provisioner-')), options.bundlePlugins);
    const fn = new LocalFunction({
      functionName: LOCAL_NAMES.functionName,
      handlerModule: bundle.file,
      environment,
      maxInstances: options.maxConcurrency,
      memoryLimitInMB: 512,
      region: REGION,
      accountId: ACCOUNT_ID,
      logFile: options.logFile,
    });
    stopStack.push(() => fn.stop());

    const mapping = await runEventSourceMapping({
      sqs,
      queueName: LOCAL_NAMES.queue,
      handler: fn.invoke,
      batchSize: options.batchSize,
      maxConcurrency: options.maxConcurrency,
      functionTimeoutMs: options.functionTimeoutSeconds * 1000,
      functionName: LOCAL_NAMES.functionName,
      region: REGION,
      pollWaitTimeSeconds: 1,
    });
    stopStack.push(() => mapping.stop());

    const endpointsFile = options.stateDir && join(options.stateDir, 'endpoints.json');
    if (endpointsFile) {
      // While this runs, `npm run audit` reads the live store instead of opening the locked LevelDB,
      // and `npm run send` adds events to the running queue and bus.
      const endpoints = {
        dynamodbEndpoint,
        auditTableName: LOCAL_NAMES.tables.audit,
        region: REGION,
        sqsEndpoint: sqs.endpoint,
        queueUrl: sqs.queue(LOCAL_NAMES.queue).url,
        eventBridgeEndpoint: eventBridge.endpoint,
        eventBusName: LOCAL_NAMES.bus,
      };
      writeFileSync(endpointsFile, JSON.stringify(endpoints, null, 2));
      stopStack.unshift(async () => rmSync(endpointsFile, { force: true }));
    }

    const pendingMessages = () => sqs.queue(LOCAL_NAMES.queue).messages.length;
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
      mapping,
      pendingMessages,
      settled: (timeoutMs, onTick) => waitUntilSettled(pendingMessages, () => mapping.stats().inFlightInvocations, timeoutMs, onTick),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The same variables lib/ sets on the deployed function, plus local endpoints and dummy credentials. */
export interface FunctionEndpoints {
  identityStoreEndpoint: string;
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  eventBridgeEndpoint: string;
  deadLetterQueueUrl: string;
}

export function functionEnvironment(
  options: Omit<LocalPipelineOptions, 'logFile' | 'emulatorTps' | 'batchSize' | 'functionTimeoutSeconds'>,
  endpoints: FunctionEndpoints,
): Record<string, string> {
  const config: Record<keyof RuntimeConfig, string> = {
    IDENTITY_STORE_ID: options.identityStoreId,
    IDENTITY_STORE_REGION: REGION,
    AUDIT_TABLE_NAME: LOCAL_NAMES.tables.audit,
    STATE_TABLE_NAME: LOCAL_NAMES.tables.state,
    IDEMPOTENCY_TABLE_NAME: LOCAL_NAMES.tables.idempotency,
    EVENT_BUS_NAME: LOCAL_NAMES.bus,
    DEAD_LETTER_QUEUE_URL: endpoints.deadLetterQueueUrl,
    REQUESTS_PER_SECOND: String(options.requestsPerSecond / options.maxConcurrency),
    MANAGED_GROUP_SCOPE: options.managedGroupScope,
    MAX_MEMBERSHIP_REMOVALS_PER_EVENT: String(options.maxMembershipRemovalsPerEvent),
    DELETION_CAP: String(options.deletionCap),
    DELETION_WINDOW_SECONDS: String(options.deletionWindowSeconds),
    AUDIT_RETENTION_DAYS: '0',
    ID_CACHE_TTL_SECONDS: String(options.idCacheTtlSeconds),
    RETRY_SAFETY_MARGIN_MS: '2000',
    QUEUE_KIND: 'standard',
    MAX_RECEIVE_COUNT: String(options.maxReceiveCount),
    REDELIVERY_BASE_DELAY_SECONDS: String(options.redeliveryBaseDelaySeconds),
  };
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...config,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
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
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quietSince: number | undefined;
  for (;;) {
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
