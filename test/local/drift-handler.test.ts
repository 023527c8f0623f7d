/**
 * The deployed drift function's handler (lambdas/handlers/drift-detector.ts), whole: configured
 * by the variables the stack sets, signed as the local drift role, against the Identity Store
 * emulator, dynalite, and the local SQS and EventBridge enforcing the stack's policies. A
 * membership the service applied goes missing outside it: the run finds it, records it, remembers
 * it, announces it, and (repair) puts a membership.added on the bus as the producer drift-repair.
 * All on 127.0.0.1.
 */
import { CreateGroupCommand, CreateUserCommand, IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { PurgeQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { DynamoDbProcessingState } from '../../lambdas/adapters/dynamodb-processing-state';
import { subjectKey } from '../../lambdas/domain/ordering';
import { DRIFT_REPAIR_SOURCE } from '../../lambdas/shared/producers';
import { METRIC } from '../../lambdas/shared/telemetry';
import { localDynamoDbClient, startDynalite, type RunningDynalite } from '../../local/dynalite';
import type { LocalEventBridge } from '../../local/eventbridge';
import { startEmulator, type RunningEmulator } from '../../local/emulator';
import { localCredentialsFor } from '../../local/iam';
import { createLambdaContext } from '../../local/lambda/context';
import { LOCAL_DEFAULTS, LOCAL_OPERATORS, LOCAL_PRODUCERS } from '../../local/pipeline/defaults';
import { LOCAL_ACCOUNT_ID, LOCAL_DRIFT_ROLE_ARN, LOCAL_NAMES, planLocalIngestion } from '../../local/pipeline/ingestion';
import { startLocalDoors } from '../../local/pipeline/pipeline';
import type { LocalSqs } from '../../local/sqs';
import { createTables } from '../../local/tables';

const STORE = 'd-1234567890';
type DriftHandlerModule = typeof import('../../lambdas/handlers/drift-detector');

let emulator: RunningEmulator;
let dynalite: RunningDynalite;
let sqs: LocalSqs;
let eventBridge: LocalEventBridge;
let handlerModule: DriftHandlerModule;
let sourceQueueUrls: string[];
const dynamodb = () => localDynamoDbClient(dynalite.endpoint);
const saved = { ...process.env };
let userId: string;
let groupId: string;

const context = (ms: number): Context =>
  createLambdaContext({ functionName: 'identity-provisioner-drift', region: 'us-east-1', accountId: LOCAL_ACCOUNT_ID, memoryLimitInMB: 512, deadline: Date.now() + ms });

/** What the invocation wrote to stdout as EMF, by metric name (Powertools Metrics flushes at the end). */
function emitted(lines: string[]): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of lines) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (parsed._aws === undefined) continue;
    // A metric added more than once in an invocation is an array of its values.
    for (const name of [METRIC.driftFindings, METRIC.identityStoreCalls]) {
      const value = parsed[name];
      if (typeof value === 'number') values.set(name, (values.get(name) ?? 0) + value);
      if (Array.isArray(value)) values.set(name, (values.get(name) ?? 0) + value.reduce((sum: number, n: number) => sum + n, 0));
    }
  }
  return values;
}

async function invoke(ms = 60_000): Promise<{ summary: Awaited<ReturnType<DriftHandlerModule['handler']>>; metrics: Map<string, number> }> {
  const lines: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n'));
    return true;
  });
  try {
    const summary = await handlerModule.handler({}, context(ms));
    return { summary, metrics: emitted(lines) };
  } finally {
    write.mockRestore();
  }
}

beforeAll(async () => {
  emulator = await startEmulator({ identityStoreIds: [STORE], tps: 0 });
  dynalite = await startDynalite();
  const client = dynamodb();
  await createTables(client, LOCAL_NAMES.tables);
  const plan = planLocalIngestion({ ...LOCAL_DEFAULTS, drift: true });
  ({ sqs, eventBridge } = await startLocalDoors(plan, { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 }));
  sourceQueueUrls = plan.sourceQueues.map((name) => sqs.queue(name).url);

  // What the service applied: app-wiki (managed) and ada in it. Then the membership is not made
  // (as if someone removed it in the console): drift.
  const identityStore = new IdentitystoreClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'seed', secretAccessKey: 'seed' } });
  groupId = (await identityStore.send(new CreateGroupCommand({ IdentityStoreId: STORE, DisplayName: 'app-wiki' }))).GroupId!;
  userId = (
    await identityStore.send(
      new CreateUserCommand({ IdentityStoreId: STORE, UserName: 'ada', DisplayName: 'Ada Lovelace', Name: { GivenName: 'Ada', FamilyName: 'Lovelace' } }),
    )
  ).UserId!;
  identityStore.destroy();
  const state = new DynamoDbProcessingState({ client, tableName: LOCAL_NAMES.tables.state });
  await state.markManagedGroup(groupId, 'app-wiki');
  await state.advanceWatermarks([subjectKey.membership('ada', 'app-wiki')], {
    occurredAt: '2026-01-01T00:00:00.000Z',
    eventId: 'onb-1',
    kind: 'added',
    applied: { kind: 'membership', userId, groupId, member: true },
  });
  client.destroy();

  // The variables the stack sets on the drift function, the SDK pointed at the local servers, signed as the drift role.
  Object.assign(process.env, {
    IDENTITY_STORE_ID: STORE,
    IDENTITY_STORE_REGION: 'us-east-1',
    AUDIT_TABLE_NAME: LOCAL_NAMES.tables.audit,
    AUDIT_RETENTION_DAYS: '0',
    STATE_TABLE_NAME: LOCAL_NAMES.tables.state,
    EVENT_BUS_NAME: LOCAL_NAMES.bus,
    REQUESTS_PER_SECOND: '50',
    QUOTA_INSTANCES: '1',
    MANAGED_GROUP_SCOPE: 'created',
    RETRY_SAFETY_MARGIN_MS: '2000',
    DRIFT_ACTION: 'repair',
    SOURCE_QUEUE_URLS: JSON.stringify(sourceQueueUrls),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: localCredentialsFor(LOCAL_DRIFT_ROLE_ARN).accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentialsFor(LOCAL_DRIFT_ROLE_ARN).secretAccessKey,
    AWS_ENDPOINT_URL_IDENTITYSTORE: emulator.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
    POWERTOOLS_SERVICE_NAME: 'identity-provisioner',
    POWERTOOLS_METRICS_NAMESPACE: 'IdentityProvisioner',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  handlerModule = require('../../lambdas/handlers/drift-detector') as DriftHandlerModule;
});

afterAll(async () => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  await eventBridge?.stop();
  await sqs?.stop();
  await dynalite?.stop();
  await emulator?.stop();
});

const busQueueBodies = () => sqs.queue(LOCAL_NAMES.busQueue).messages.map((message) => JSON.parse(message.body) as Record<string, unknown>);

describe('the drift handler, scheduled run', () => {
  it('finds the missing membership, records it, announces it, repairs it as drift-repair, and emits DriftFindings', async () => {
    const { summary, metrics } = await invoke();
    expect(summary).toMatchObject({
      action: 'repair',
      appliedFacts: 1,
      groupsChecked: 1,
      findings: 1,
      newFindings: 1,
      published: true,
      identityStoreId: STORE,
      repairsSent: 1,
      repairsFailed: [],
      notRepaired: 0,
    });
    expect(summary.counts).toMatchObject({ 'member-missing': 1 });
    expect(metrics.get(METRIC.driftFindings)).toBe(1);
    expect(metrics.get(METRIC.identityStoreCalls)).toBeGreaterThan(0);

    // The repair reached the bus queue through the rule, as any bus producer's event: its source, this account.
    const [repair] = busQueueBodies();
    expect(repair).toMatchObject({ source: DRIFT_REPAIR_SOURCE, account: LOCAL_ACCOUNT_ID, 'detail-type': 'membership.added' });
    expect(repair.detail).toMatchObject({ type: 'membership.added', data: { userName: 'ada', groupDisplayName: 'app-wiki' } });
    // The summary names the repair by its event id (what npm run drift -- --stack prints), and no one by name.
    expect(summary.repairEventIds).toEqual([(repair.detail as { id: string }).id]);
    expect(JSON.stringify(summary)).not.toMatch(/\bada\b|app-wiki/);
    expect(eventBridge.deliveryFailures()).toEqual([]);

    // The DRIFT record (audit trail) and the first-seen memory (state table).
    const client = dynamodb();
    const audit = await client.send(new ScanCommand({ TableName: LOCAL_NAMES.tables.audit }));
    const state = await client.send(new ScanCommand({ TableName: LOCAL_NAMES.tables.state }));
    client.destroy();
    expect((audit.Items ?? []).filter((item) => item.kind?.S === 'DRIFT')).toHaveLength(1);
    expect((state.Items ?? []).filter((item) => item.pk?.S?.startsWith('DRIFT#'))).toHaveLength(1);
  });

  it('a second run finds the same drift, not new, and sends the same repair again (same event id: one change for the pipeline)', async () => {
    const first = busQueueBodies()[0].detail as { id: string };
    const operator = new SQSClient({ endpoint: sqs.endpoint, region: 'us-east-1', credentials: localCredentialsFor(LOCAL_OPERATORS[0]) });
    for (const queue of sqs.queues()) await operator.send(new PurgeQueueCommand({ QueueUrl: queue.url }));
    operator.destroy();
    const { summary, metrics } = await invoke();
    expect(summary).toMatchObject({ findings: 1, newFindings: 0, repairsSent: 1 });
    expect(metrics.get(METRIC.driftFindings)).toBe(1);
    expect((busQueueBodies()[0].detail as { id: string }).id).toBe(first.id);
  });

  it('yields while a source queue holds events, and ends the run when they outlast the invocation', async () => {
    const onboarding = new SQSClient({ endpoint: sqs.endpoint, region: 'us-east-1', credentials: localCredentialsFor(LOCAL_PRODUCERS.onboarding.principals[0]) });
    await onboarding.send(new SendMessageCommand({ QueueUrl: sourceQueueUrls[1], MessageBody: '{}' }));
    onboarding.destroy();
    // 4 s of invocation less the 2 s margin: the event is still there when the wait must end.
    await expect(handlerModule.handler({}, context(4_000))).rejects.toBeInstanceOf(handlerModule.DriftYieldTimeoutError);
  });
});
