/**
 * cli/deliver.ts against a running local pipeline: the documents go through the named producer's
 * door, signed with its local credentials, and the door's policy decides as it does for npm run
 * send. (With no pipeline running, deliverEvents runs npm start: test/e2e/reconcile.test.ts.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliverEvents } from '../../cli/deliver';
import { LOCAL_DEFAULTS } from '../../local/pipeline/defaults';
import { LOCAL_NAMES, planLocalIngestion } from '../../local/pipeline/ingestion';
import { startLocalDoors, type LocalEndpoints, type ProducerDoor } from '../../local/pipeline/pipeline';
import type { LocalEventBridge } from '../../local/eventbridge';
import type { LocalSqs } from '../../local/sqs';

let local: { sqs: LocalSqs; eventBridge: LocalEventBridge; doors: Record<string, ProducerDoor> };
let dir: string;
let localDir: string;

beforeAll(async () => {
  local = await startLocalDoors(planLocalIngestion(LOCAL_DEFAULTS), { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
  dir = mkdtempSync(join(tmpdir(), 'deliver-test-'));
  localDir = mkdtempSync(join(dir, 'local-'));
  const endpoints: Omit<LocalEndpoints, 'dynamodbEndpoint' | 'auditTableName'> = {
    region: 'us-east-1',
    sqsEndpoint: local.sqs.endpoint,
    eventBridgeEndpoint: local.eventBridge.endpoint,
    eventBusName: LOCAL_NAMES.bus,
    producers: local.doors,
  };
  writeFileSync(join(localDir, 'endpoints.json'), JSON.stringify(endpoints));
});

afterAll(async () => {
  await local?.eventBridge.stop();
  await local?.sqs.stop();
  rmSync(dir, { recursive: true, force: true });
});

const group = (id: string, name: string) => ({ id, type: 'group.upserted', occurredAt: '2026-11-02T09:00:00Z', actor: 'deliver-test', data: { group: { DisplayName: name } } });
const deleted = (id: string, userName: string) => ({ id, type: 'user.deleted', occurredAt: '2026-11-02T09:00:00Z', actor: 'deliver-test', data: { userName } });
const bodies = (queue: string) => local.sqs.queue(queue).messages.map((m) => JSON.parse(m.body) as Record<string, unknown>);

it('sends through the running pipeline, through the producer\'s own door: a queue producer\'s documents land on its queue as they are', async () => {
  const onboarding = local.doors.onboarding as Extract<ProducerDoor, { via: 'queue' }>;
  const documents = [group('dlv-1', 'Alpha'), deleted('dlv-2', 'ada')];

  const report = await deliverEvents(documents, { producer: 'onboarding' }, { kind: 'local', localDir });

  expect(report).toMatchObject({ delivered: true, via: 'running-pipeline', sent: 2, refused: [], failed: [] });
  expect(bodies(onboarding.queueName)).toEqual(documents);
});

it('sends as a bus producer with its source, and reports what the bus policy refuses by position (not delivered)', async () => {
  const report = await deliverEvents([deleted('dlv-3', 'grace'), { ...group('dlv-4', 'app-wiki'), type: 'membership.added', data: { userName: 'grace', groupDisplayName: 'app-wiki' } }], { producer: 'access-portal' }, { kind: 'local', localDir });

  expect(report.delivered).toBe(false);
  expect(report.sent).toBe(1);
  expect(report.refused).toEqual([expect.objectContaining({ index: 0, code: 'NotAuthorizedForDetailTypeException' })]);
  const onBus = bodies(LOCAL_NAMES.busQueue) as { source: string; account: string; detail: { id: string } }[];
  expect(onBus.map((e) => [e.source, e.account, e.detail.id])).toEqual([['identity-provisioner.access-portal', '111122223333', 'dlv-4']]);
});

it('refuses a producer the running pipeline does not declare, sending nothing', async () => {
  await expect(deliverEvents([group('dlv-5', 'Beta')], { producer: 'nobody' }, { kind: 'local', localDir })).rejects.toThrow(
    '--producer: "nobody" is not declared in the local pipeline (access-portal, hr, onboarding)',
  );
});

it('has nothing to do for no documents', async () => {
  await expect(deliverEvents([], { producer: 'onboarding' }, { kind: 'local', localDir })).resolves.toMatchObject({ delivered: true, sent: 0 });
});
