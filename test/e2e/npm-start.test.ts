/**
 * `npm start` as a user runs it, as a child process, against an emulator and a dynalite this test
 * owns (so it can look at them afterwards with the real SDK clients).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  DescribeUserCommand,
  IdentitystoreClient,
  paginateListGroupMemberships,
  paginateListGroups,
  paginateListUsers,
} from '@aws-sdk/client-identitystore';
import { DynamoDbAuditQuery } from '../../lambdas/adapters/dynamodb-audit-query';
import { startEmulator, type RunningEmulator } from '../../local/emulator';
import { LOCAL_NAMES } from '../../local/pipeline/pipeline';
import { onboardingScenario } from '../../local/scenario/onboarding';
import { startTestDynamo, type TestDynamo } from '../support/dynalite';

const run = promisify(execFile);
const STORE = 'd-1234567890';
const TPS = 40;
const ROOT = join(__dirname, '../..');

let emulator: RunningEmulator;
let dynamo: TestDynamo;
let workDir: string;

beforeAll(async () => {
  // 40 requests/s, not the published 20: the budget is split over every source queue's instances,
  // and this test is about what ends up where, not speed, so it is kept short.
  emulator = await startEmulator({ identityStoreIds: [STORE], tps: TPS });
  dynamo = await startTestDynamo(LOCAL_NAMES.tables);
  workDir = mkdtempSync(join(tmpdir(), 'npm-start-e2e-'));
});
afterAll(async () => {
  await emulator.stop();
  await dynamo.stop();
  rmSync(workDir, { recursive: true, force: true });
});

it('applies the scenario: the identity store holds exactly what it should, one final outcome per event', async () => {
  const scenario = onboardingScenario({ joiners: 12 });
  const eventsFile = join(workDir, 'events.jsonl');
  writeFileSync(eventsFile, scenario.entries.map((e) => JSON.stringify(e)).join('\n'));

  const { stdout } = await run(
    'npx',
    [
      'tsx', 'local/cli/start.ts', '--quiet', '--events', eventsFile,
      '--identitystore-endpoint', emulator.endpoint, '--dynamodb-endpoint', dynamo.endpoint,
      '--state-dir', join(workDir, 'state'), '--neighbour-tps', '0', '--tps', String(TPS),
    ],
    { cwd: ROOT, timeout: 200_000 },
  );
  const summary = JSON.parse(stdout.trim().split('\n').at(-1)!);
  const refused = Object.values(scenario.expected.refusedByPolicy).reduce((a, b) => a + b, 0);
  expect(summary).toMatchObject({ events: scenario.entries.length, dlq: scenario.expected.deadLetters, pending: 0, failed: 0 });
  // Refused at the door: counted from the SendMessage / PutEvents answers, never as duplicates.
  expect(refused).toBeGreaterThanOrEqual(2);
  expect(summary.refusedByPolicy).toBe(refused);
  expect(summary.refusedByPolicyByProducer).toEqual(scenario.expected.refusedByPolicy);
  expect(summary.duplicates).toBe(3);

  const client = new IdentitystoreClient({ region: 'us-east-1', endpoint: emulator.endpoint, credentials: { accessKeyId: 't', secretAccessKey: 't' } });
  const users = new Map<string, string>();
  for await (const page of paginateListUsers({ client }, { IdentityStoreId: STORE })) for (const u of page.Users ?? []) users.set(u.UserId!, u.UserName!);
  const groups = new Map<string, string>();
  for await (const page of paginateListGroups({ client }, { IdentityStoreId: STORE })) for (const g of page.Groups ?? []) groups.set(g.GroupId!, g.DisplayName!);
  const actual: Record<string, string[]> = Object.fromEntries([...users.values()].map((name) => [name, [] as string[]]));
  for (const [groupId, displayName] of groups) {
    for await (const page of paginateListGroupMemberships({ client }, { IdentityStoreId: STORE, GroupId: groupId })) {
      for (const m of page.GroupMemberships ?? []) actual[users.get(m.MemberId!.UserId!)!].push(displayName);
    }
  }
  for (const names of Object.values(actual)) names.sort();
  expect([...groups.values()].sort()).toEqual(scenario.expected.groups);
  expect(actual).toEqual(scenario.expected.users);
  for (const [userId, userName] of users) {
    const user = await client.send(new DescribeUserCommand({ IdentityStoreId: STORE, UserId: userId }));
    expect(`${userName}: ${user.Title}`).toBe(`${userName}: ${scenario.expected.titles[userName]}`);
  }

  const query = new DynamoDbAuditQuery({ client: dynamo.documentClient, tableName: LOCAL_NAMES.tables.audit });
  for (const [eventId, acceptable] of Object.entries(scenario.expected.outcomes)) {
    const outcomes = (await query.eventHistory(eventId)).records.flatMap((r) => (r.kind === 'OUTCOME' ? [r.outcome] : []));
    const finals = outcomes.filter((o) => o !== 'RETRYING');
    // Exactly one final outcome, one of those the scenario allows, and nothing after it.
    expect({ eventId, finals: finals.length }).toEqual({ eventId, finals: 1 });
    expect(acceptable).toContain(outcomes.at(-1));
  }

  // Every audit record of every event says which producer AWS vouched for.
  const producerOf = new Map<string, string>();
  for (const entry of scenario.entries) if (typeof entry.event === 'object') producerOf.set(String(entry.event.id), entry.producer);
  for (const eventId of Object.keys(scenario.expected.outcomes)) {
    const { records } = await query.eventHistory(eventId);
    expect(records.length).toBeGreaterThan(0);
    for (const record of records as unknown as Record<string, unknown>[]) {
      expect({ eventId, kind: record.kind, producer: record.producer }).toEqual({ eventId, kind: record.kind, producer: producerOf.get(eventId) });
    }
  }
  // The portal's request outside its grant: REJECTED, the record naming the producer and what it lacks.
  const overreach = scenario.entries.find((e) => e.producer === 'access-portal' && scenario.expected.outcomes[String((e.event as { id: string }).id)]?.includes('REJECTED'))!;
  const rejection = (await query.eventHistory(String((overreach.event as { id: string }).id))).records.find((r) => r.kind === 'OUTCOME') as unknown as Record<string, unknown>;
  expect(rejection).toMatchObject({ outcome: 'REJECTED', errorCode: 'PRODUCER_NOT_ALLOWED', errorMessage: expect.stringContaining('access-portal') });
  client.destroy();
}, 240_000);
