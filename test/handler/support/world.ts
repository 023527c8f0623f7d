/**
 * Everything the real consumer handler talks to, started on loopback for one test file: the
 * Identity Store emulator, dynalite with the three tables, the local SQS (the bus queue, one queue
 * per queue producer, the DLQ they share) and the local EventBridge. `startHandlerWorld` also sets the environment the CDK stack sets on
 * the function, so the handler must be imported AFTER it (it reads its config at import).
 */
import type { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { createIdentityStoreClient } from '../../../lambdas/adapters/identity-store-client';
import { PurgeQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbAuditQuery } from '../../../lambdas/adapters/dynamodb-audit-query';
import { EVENT_TYPES } from '../../../lambdas/domain/identity-change';
import type { RuntimeConfig } from '../../../lambdas/shared/config';
import type { RuntimeProducer } from '../../../lambdas/shared/producers';
import { DEFAULT_IDENTITY_STORE_ID, startEmulator, type RunningEmulator } from '../../../local/emulator';
import { startLocalEventBridge, type LocalEventBridge } from '../../../local/eventbridge';
import { startLocalSqs, type LocalSqs } from '../../../local/sqs';
import { sqsClientFor } from '../../local/support';
import { startTestDynamo, type TestDynamo } from '../../support/dynalite';

export const REGION = 'us-east-1';
export const ACCOUNT_ID = '000000000000';
export const IDENTITY_STORE_ID = DEFAULT_IDENTITY_STORE_ID;
export const BUS_NAME = 'identity-provisioner-test';
/** The account the EventBridge-shaped fixtures come from (the HR feed's). */
export const HR_ACCOUNT_ID = '111122223333';

/** A producer as a test declares it; a queue producer's queue is created by the world. */
export type WorldProducer = Omit<RuntimeProducer, 'queueArn'>;

/**
 * What tests that are not about producers send as: `tests`, a queue producer with the full grant
 * (the bare documents of the fixtures go to its queue, `world.queue`), and `hr`, a bus producer
 * with the source and account of the EventBridge-shaped fixtures.
 */
export const DEFAULT_PRODUCERS: WorldProducer[] = [
  { name: 'tests', via: 'queue', eventTypes: [...EVENT_TYPES], groups: ['*'] },
  { name: 'hr', via: 'bus', source: 'identity-provisioner.hr', accounts: [HR_ACCOUNT_ID], eventTypes: [...EVENT_TYPES], groups: ['*'] },
];

export interface QueueRef {
  name: string;
  url: string;
  arn: string;
}
/** SQS's own ceiling: a record nobody touched stays hidden for the whole test file. */
const SOURCE_QUEUE_VISIBILITY_SECONDS = 43_200;

export interface WorldOptions {
  queueKind: RuntimeConfig['QUEUE_KIND'];
  maxReceiveCount: number;
  redeliveryBaseDelaySeconds: number;
  /** How many real ms one SQS second lasts: the handler's redelivery delays shrink with it. */
  sqsSecondMs: number;
  retrySafetyMarginMs?: number;
  requestsPerSecond?: number;
  /** The emulator's account-wide quota (default: none, so only the tests that want throttling get it). */
  emulatorTps?: number;
  emulatorBurst?: number;
  /** The declared producers (PRODUCERS); DEFAULT_PRODUCERS when absent. */
  producers?: WorldProducer[];
}

export interface HandlerWorld {
  emulator: RunningEmulator;
  dynamo: TestDynamo;
  sqs: LocalSqs;
  eventBridge: LocalEventBridge;
  /** Clients for the test's own reads: the same SDK the handler uses. */
  identityStore: IdentitystoreClient;
  sqsClient: SQSClient;
  audit: DynamoDbAuditQuery;
  /** The queue of producer `tests` (else of the first queue producer): where fixtures go by default. */
  queue: QueueRef;
  /** The queue the bus rule delivers to: EventBridge envelopes only. */
  busQueue: QueueRef;
  /** Each queue producer's own queue, by producer name. */
  producerQueues: Record<string, QueueRef>;
  deadLetterQueue: { name: string; url: string };
  sqsSecondMs: number;
  /** Empties every queue, so a test never receives what an earlier one left behind. */
  purgeQueues(): Promise<void>;
  stop(): Promise<void>;
}

export async function startHandlerWorld(options: WorldOptions): Promise<HandlerWorld> {
  const emulator = await startEmulator({
    identityStoreIds: [IDENTITY_STORE_ID],
    tps: options.emulatorTps ?? 0,
    burst: options.emulatorBurst,
  });
  const dynamo = await startTestDynamo();
  const sqs = await startLocalSqs({ region: REGION, accountId: ACCOUNT_ID, secondMs: options.sqsSecondMs });
  const eventBridge = await startLocalEventBridge({ sqs, region: REGION, accountId: ACCOUNT_ID });

  const fifo = options.queueKind === 'fifo';
  const suffix = fifo ? '.fifo' : '';
  const deadLetterQueue = sqs.createQueue(`identity-provisioner-events-dlq${suffix}`, fifo ? { FifoQueue: 'true' } : {});
  const sourceQueue = (name: string): QueueRef => {
    const created = sqs.createQueue(`${name}${suffix}`, {
      ...(fifo && { FifoQueue: 'true' }),
      VisibilityTimeout: String(SOURCE_QUEUE_VISIBILITY_SECONDS),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterQueue.arn, maxReceiveCount: options.maxReceiveCount }),
    });
    return { name: created.name, url: created.url, arn: created.arn };
  };
  const busQueue = sourceQueue('identity-provisioner-events');
  const declared = options.producers ?? DEFAULT_PRODUCERS;
  const producerQueues: Record<string, QueueRef> = {};
  const producers: RuntimeProducer[] = declared.map((producer) => {
    if (producer.via !== 'queue') return producer;
    producerQueues[producer.name] = sourceQueue(`identity-provisioner-producer-${producer.name}`);
    return { ...producer, queueArn: producerQueues[producer.name]!.arn };
  });
  const queue = producerQueues.tests ?? Object.values(producerQueues)[0];
  if (!queue) throw new Error('the handler world needs at least one queue producer');

  const config: Record<keyof RuntimeConfig, string> = {
    IDENTITY_STORE_ID: IDENTITY_STORE_ID,
    IDENTITY_STORE_REGION: REGION,
    AUDIT_TABLE_NAME: dynamo.tables.audit,
    STATE_TABLE_NAME: dynamo.tables.state,
    IDEMPOTENCY_TABLE_NAME: dynamo.tables.idempotency,
    EVENT_BUS_NAME: BUS_NAME,
    DEAD_LETTER_QUEUE_URL: deadLetterQueue.url,
    DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES: '1048576',
    REQUESTS_PER_SECOND: String(options.requestsPerSecond ?? 100),
    QUOTA_INSTANCES: '1',
    MANAGED_GROUP_SCOPE: 'created',
    MAX_MEMBERSHIP_REMOVALS_PER_EVENT: '10',
    DELETION_CAP: '25',
    DELETION_WINDOW_SECONDS: '3600',
    AUDIT_RETENTION_DAYS: '0',
    ID_CACHE_TTL_SECONDS: '60',
    RETRY_SAFETY_MARGIN_MS: String(options.retrySafetyMarginMs ?? 2000),
    QUEUE_KIND: options.queueKind,
    MAX_RECEIVE_COUNT: String(options.maxReceiveCount),
    REDELIVERY_BASE_DELAY_SECONDS: String(options.redeliveryBaseDelaySeconds),
    MAX_CLOCK_SKEW_SECONDS: '300',
    OCCURRED_AT_FLOOR: '2000-01-01T00:00:00Z',
    PRODUCERS: JSON.stringify(producers),
  };
  const previousEnv = { ...process.env };
  Object.assign(process.env, config, {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_IDENTITYSTORE: emulator.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  // A profile or session token from the developer's shell must not leak into the handler's clients.
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;

  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  // The test's own reader shares the emulator's quota with the handler: it must wait out
  // throttles the way the product does (RetryAfterSeconds), not fail on them.
  const identityStore = createIdentityStoreClient({ endpoint: emulator.endpoint, region: REGION, credentials, requestsPerSecond: 50 }).client;
  const sqsClient = sqsClientFor(sqs.endpoint);
  return {
    emulator,
    dynamo,
    sqs,
    eventBridge,
    identityStore,
    sqsClient,
    audit: new DynamoDbAuditQuery({ client: dynamo.client, tableName: dynamo.tables.audit }),
    queue,
    busQueue,
    producerQueues,
    deadLetterQueue: { name: deadLetterQueue.name, url: deadLetterQueue.url },
    sqsSecondMs: options.sqsSecondMs,
    purgeQueues: async () => {
      for (const { url } of [busQueue, ...Object.values(producerQueues), deadLetterQueue]) {
        await sqsClient.send(new PurgeQueueCommand({ QueueUrl: url }));
      }
    },
    stop: async () => {
      identityStore.destroy();
      sqsClient.destroy();
      await eventBridge.stop();
      await sqs.stop();
      await dynamo.stop();
      await emulator.stop();
      process.env = previousEnv;
    },
  };
}

type ConsumerModule = typeof import('../../../lambdas/handlers/sqs-consumer');

/**
 * The real handler, loaded now: it reads its configuration at import, so call this after
 * startHandlerWorld. Jest runs test files as CommonJS (a dynamic import() would need its ESM
 * mode), and gives each test file its own module registry, so each file gets a cold start.
 */
export function importHandler(): ConsumerModule['handler'] {
  return (require('../../../lambdas/handlers/sqs-consumer') as ConsumerModule).handler;
}
