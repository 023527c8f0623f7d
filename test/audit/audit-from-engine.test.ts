/**
 * The audit CLI answering questions about a trail the real engine wrote: events applied through
 * processDelivery with the real adapters (IdentitystoreClient against the emulator, DynamoDB
 * adapters against dynalite), then the CLI run as a user runs it.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { DynamoDbAuditLog } from '../../lambdas/adapters/dynamodb-audit-log';
import { DynamoDbProcessingState } from '../../lambdas/adapters/dynamodb-processing-state';
import { IdentityStoreAdapter } from '../../lambdas/adapters/identity-store';
import { createIdentityStoreClient } from '../../lambdas/adapters/identity-store-client';
import { processDelivery } from '../../lambdas/domain/process-event';
import { startEmulator, type RunningEmulator } from '../../local/emulator';
import { useDynalite } from '../support/dynalite';
import { ada, at, events, OCCURRED_AT_BOUNDS } from '../support/events';
import { fullGrantQueueProducer, TEST_ORIGIN } from '../support/producers';

const STORE = 'd-1234567890';
const REPO = path.resolve(__dirname, '..', '..');
const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');
const dynamo = useDynalite();
let emulator: RunningEmulator;

function audit(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      TSX,
      ['cli/audit.ts', ...args, '--dynamodb-endpoint', dynamo.current.endpoint, '--table', dynamo.current.tables.audit],
      { cwd: REPO, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>[];

beforeAll(async () => {
  emulator = await startEmulator({ identityStoreIds: [STORE], tps: 0 });
  const { client } = createIdentityStoreClient({
    region: 'us-east-1', endpoint: emulator.endpoint, credentials: { accessKeyId: 't', secretAccessKey: 't' }, requestsPerSecond: 100,
  });
  const { documentClient, tables } = dynamo.current;
  const deps = {
    identityStore: new IdentityStoreAdapter({ client, identityStoreId: STORE }),
    state: new DynamoDbProcessingState({ client: documentClient, tableName: tables.state }),
    audit: new DynamoDbAuditLog({ client: documentClient, tableName: tables.audit, retentionDays: 0 }),
    clock: { now: () => new Date() },
    publisher: { publish: async () => undefined },
    pause: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  };
  const settings = {
    identityStoreId: STORE, managedGroupScope: { kind: 'created' as const },
    maxMembershipRemovalsPerEvent: 5, deletionCap: 5, deletionWindowSeconds: 3600,
    producers: [fullGrantQueueProducer()],
    occurredAtBounds: OCCURRED_AT_BOUNDS, redeliveryBaseDelaySeconds: 1,
  };
  const byJane = (event: Record<string, unknown>) => ({ ...event, actor: 'jane@example.com' });
  const script = [
    events.groupUpserted('Engineering', { id: 'g-eng', at: at(1) }),
    events.groupUpserted('Production-Admins', { id: 'g-prod', at: at(2) }),
    events.userUpserted(ada(), { id: 'join-ada', groups: ['Engineering'], at: at(3) }),
    events.userUpserted(ada({ Title: 'Staff Engineer' }), { id: 'promote-ada', at: at(4) }),
    byJane(events.membership('membership.added', 'ada', 'Production-Admins', { id: 'grant-prod', at: at(5) })),
    events.userUpserted({ ...ada(), UserName: 'not valid' }, { id: 'bad-1', at: at(6) }),
  ];
  let n = 0;
  for (const event of script) {
    await processDelivery(JSON.stringify(event), { messageId: `m${++n}`, receiveCount: 1, maxReceiveCount: 5, receivedAt: new Date(), deadline: new Date(Date.now() + 60_000), origin: TEST_ORIGIN }, deps, settings);
  }
  client.destroy();
});
afterAll(async () => {
  await emulator.stop();
});

describe('audit CLI over a trail the engine wrote', () => {
  it('user: every event and write about Ada, oldest first, with what changed', async () => {
    const run = await audit('user', 'ada', '--format', 'json');
    expect(run.code).toBe(0);
    const records = json(run.stdout);
    expect(records.map((r) => `${r.eventId} ${r.kind === 'WRITE' ? r.action : r.outcome}`)).toEqual([
      'join-ada CreateUser',
      'join-ada CreateGroupMembership',
      'join-ada APPLIED',
      'promote-ada UpdateUser',
      'promote-ada APPLIED',
      'grant-prod CreateGroupMembership',
      'grant-prod APPLIED',
    ]);
    expect(records[3]).toMatchObject({ changes: [{ path: 'title', after: 'Staff Engineer' }], requestId: expect.any(String) });
  });

  it('group: who gave Ada access to Production-Admins, when, and at whose request', async () => {
    const run = await audit('group', 'Production-Admins', '--format', 'csv');
    expect(run.code).toBe(0);
    const [header, ...rows] = run.stdout.trimEnd().split('\n');
    const column = (name: string) => header.split(',').indexOf(name);
    const grant = rows.map((row) => row.split(',')).find((cells) => cells[column('action')] === 'CreateGroupMembership')!;
    expect([grant[column('userName')], grant[column('actor')], grant[column('eventId')]]).toEqual(['ada', 'jane@example.com', 'grant-prod']);
  });

  it('failures: the rejected event with the field and the rule', async () => {
    const run = await audit('failures', '--since', '1h', '--format', 'json');
    expect(run.code).toBe(0);
    expect(json(run.stdout)).toEqual([
      expect.objectContaining({ eventId: 'bad-1', outcome: 'REJECTED', errorMessage: 'data.user.UserName: must be letters, digits or punctuation, without spaces' }),
    ]);
  });

  it('actor and changes answer from the same trail, one page at a time as well as all at once', async () => {
    const byActor = await audit('actor', 'jane@example.com', '--since', '1h', '--format', 'json');
    expect(json(byActor.stdout).map((r) => r.eventId)).toEqual(['grant-prod', 'grant-prod']);
    const whole = await audit('changes', '--since', '1h', '--format', 'json');
    const paged = await audit('changes', '--since', '1h', '--format', 'json', '--page-size', '1');
    expect(json(whole.stdout).length).toBeGreaterThan(3);
    expect(paged.stdout).toBe(whole.stdout);
  });
});
