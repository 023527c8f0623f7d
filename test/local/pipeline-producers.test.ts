/**
 * The local pipeline with declared producers, end to end through the real handler: a bus
 * producer's event (PutEvents as its role, through the rule and the bus queue) and a queue
 * producer's event (to its own queue) both reach the function, which records who sent them;
 * the function's own DLQ moves and outcome events pass the policies as its role.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDbAuditQuery } from '../../lambdas/adapters/dynamodb-audit-query';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { asDocumentClient } from '../../lambdas/adapters/dynamodb-document-client';
import { QUOTA_LEDGER_KEY } from '../../lambdas/shared/tables';
import { OUTCOME_EVENT_SOURCE } from '../../lambdas/shared/telemetry';
import { localDynamoDbClient } from '../../local/dynalite';
import { localAccessKeyIdFor, localUniqueIdFor } from '../../local/iam';
import { LOCAL_DEFAULTS, LOCAL_PRODUCERS } from '../../local/pipeline/defaults';
import { LocalDoors } from '../../local/pipeline/doors';
import { functionEnvironment, LOCAL_NAMES, startLocalPipeline, type LocalPipeline } from '../../local/pipeline/pipeline';
import { routeEntries, sendThroughDoors, type ProducerSendReport } from '../../local/producer';

// A backstop only: the drain fails on a stall, not on a slow machine.
jest.setTimeout(10 * 60_000);

const at = (n: number) => new Date(Date.UTC(2026, 10, 30, 9, 0, n)).toISOString();
const group = { id: 'pp-group', type: 'group.upserted', occurredAt: at(0), actor: 'hr', data: { group: { DisplayName: 'pp-Everyone' } } };
const user = {
  id: 'pp-user',
  type: 'user.upserted',
  occurredAt: at(1),
  actor: 'tool',
  data: { user: { UserName: 'pp.user', DisplayName: 'PP User', Name: { GivenName: 'PP', FamilyName: 'User' } }, groups: ['pp-Everyone'] },
};
const invalid = { id: 'pp-invalid', type: 'user.suspended', occurredAt: at(2), actor: 'tool', data: {} };

describe('local pipeline with producers', () => {
  let pipeline: LocalPipeline;
  let sent: ProducerSendReport;
  let workDir: string;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'pipeline-producers-'));
    pipeline = await startLocalPipeline({
      ...LOCAL_DEFAULTS,
      emulatorTps: 0,
      requestsPerSecond: 50,
      producers: { hr: LOCAL_PRODUCERS.hr, onboarding: LOCAL_PRODUCERS.onboarding },
      logFile: join(workDir, 'consumer.log'),
    });
    const { routed, unroutable } = routeEntries(
      [{ producer: 'hr', event: group }, { producer: 'onboarding', event: user }, { producer: 'onboarding', event: invalid }],
      pipeline.doors,
      {},
    );
    expect(unroutable).toEqual([]);
    const doors = new LocalDoors({ region: 'us-east-1', sqsEndpoint: pipeline.sqsEndpoint, eventBridgeEndpoint: pipeline.eventBridgeEndpoint, producers: pipeline.doors });
    sent = await sendThroughDoors(routed, doors.doorFor).finally(() => doors.destroy());
    await pipeline.drained(60_000);
  });
  afterAll(async () => {
    await pipeline?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('consumes the bus queue and each producer queue, each with its own event source mapping', () => {
    expect(pipeline.sourceQueues).toEqual([LOCAL_NAMES.busQueue, 'identity-provisioner-producer-onboarding']);
    expect(pipeline.mappings).toHaveLength(2);
    expect(sent).toMatchObject({ sentToBus: 1, sentToQueue: 2, refused: [], failed: [] });
  });

  it('delivers both doors to the function, which records the verified producer and the raw SenderId', async () => {
    const dynamodb = localDynamoDbClient(pipeline.dynamodbEndpoint);
    const query = new DynamoDbAuditQuery({ client: dynamodb, tableName: LOCAL_NAMES.tables.audit });
    const outcomeOf = async (id: string) => (await query.eventHistory(id)).records.filter((r) => r.kind === 'OUTCOME').at(-1) as Record<string, unknown> | undefined;
    const fromBus = await outcomeOf(group.id);
    const fromQueue = await outcomeOf(user.id);
    dynamodb.destroy();
    expect(fromBus).toMatchObject({ outcome: 'APPLIED', producer: 'hr' });
    expect(fromQueue).toMatchObject({ outcome: 'APPLIED', producer: 'onboarding', senderId: `${localUniqueIdFor(LOCAL_PRODUCERS.onboarding.principals[0])}:local` });
  });

  it("lets the function's role move a rejected event to the DLQ and publish outcome events", () => {
    const deadLetters = pipeline.sqs.queue(LOCAL_NAMES.deadLetterQueue).messages;
    expect(deadLetters.map((m) => m.messageAttributes.eventId?.StringValue)).toEqual([invalid.id]);
    const outcomes = pipeline.eventBridge.events(LOCAL_NAMES.bus).filter((e) => e.source === OUTCOME_EVENT_SOURCE);
    expect(outcomes.length).toBeGreaterThanOrEqual(3);
    expect(pipeline.eventBridge.refused()).toEqual([]);
    expect(pipeline.eventBridge.deliveryFailures()).toEqual([]);
  });

  it('sets PRODUCERS and the budget the instances of every source queue share', () => {
    const unused = 'http://127.0.0.1:9';
    const environment = functionEnvironment(
      { ...LOCAL_DEFAULTS, requestsPerSecond: 50 },
      { identityStoreEndpoint: unused, dynamodbEndpoint: unused, sqsEndpoint: unused, eventBridgeEndpoint: unused, deadLetterQueueUrl: `${unused}/q` },
      pipeline.plan,
    );
    expect(JSON.parse(environment.PRODUCERS).map((p: { name: string; via: string }) => [p.name, p.via])).toEqual([['hr', 'bus'], ['onboarding', 'queue']]);
    // The whole 50 requests per second, shared by up to 2 source queues x MaximumConcurrency 2.
    expect(environment.REQUESTS_PER_SECOND).toBe('50');
    expect(environment.QUOTA_INSTANCES).toBe('4');
    expect(environment.AWS_ACCESS_KEY_ID).toBe(localAccessKeyIdFor(pipeline.plan.resources.functionRoleArn));
  });

  it('takes every Identity Store call the function made from the shared budget in the state table', async () => {
    const calls = pipeline.emulator!.stats().totalCalls;
    const { Item } = await asDocumentClient(localDynamoDbClient(pipeline.dynamodbEndpoint)).send(
      new GetCommand({ TableName: LOCAL_NAMES.tables.state, Key: { pk: QUOTA_LEDGER_KEY } }),
    );
    expect(calls).toBeGreaterThan(0);
    // A slot per HTTP attempt; a slot given up in a pause is claimed again, so never fewer.
    expect(Item?.granted).toBeGreaterThanOrEqual(calls);
  });
});
