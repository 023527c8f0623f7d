/**
 * `npm run plan` as an operator runs it, a child process, against an emulator and a dynalite this
 * test owns (explicit endpoints), and against npm start's own state directory (--local-dir):
 * - the plan writes nothing: the emulator's write journal, the audit table and the state table
 *   are the same, item for item, before and after it;
 * - a later apply (npm start with the same events) makes exactly the planned writes: the writes
 *   the emulator journal gained are the audit trail's (by request id), and per event they are the
 *   planned ones, same action, user and group, in the same order;
 * - a plan of what was just applied changes nothing (exit 0): the idempotency table answers.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { paginateScan, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbAuditQuery } from '../../lambdas/adapters/dynamodb-audit-query';
import type { WriteRecord } from '../../lambdas/domain/ports';
import { localDynamoDbClient, startDynalite } from '../../local/dynalite';
import { startEmulator, type RunningEmulator } from '../../local/emulator';
import { LOCAL_NAMES } from '../../local/pipeline/pipeline';
import { startTestDynamo, type TestDynamo } from '../support/dynalite';

const run = promisify(execFile);
const ROOT = join(__dirname, '../..');
const STORE = 'd-1234567890';
const TPS = 40;
const SCENARIO = readFileSync(join(ROOT, 'examples/onboarding.jsonl'), 'utf8').trim().split('\n');

let workDir: string;
let settingsFile: string;
let eventsA: string;
let eventsB: string;

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'plan-e2e-'));
  // The deployment's budget raised for a short test; npm start and plan read the same settings.
  settingsFile = join(workDir, 'settings.json');
  writeFileSync(settingsFile, JSON.stringify({ requestsPerSecond: TPS }));
  // A: the groups and the first joiners. B: the rest of the scenario: more joiners, moves, leavers,
  // rejections, refusals at the door, and three events of A sent again (duplicates). What B would
  // have about a person through two doors (a leaver through the bus, its joiner through a queue)
  // is in A instead: the apply runs the doors side by side and may take such a pair in either order
  // (the plan says so in a note), and this test holds the plan to one apply.
  const inA = (line: number) => line <= 30 || [45, 46, 47, 50, 57, 73].includes(line);
  eventsA = join(workDir, 'a.jsonl');
  eventsB = join(workDir, 'b.jsonl');
  writeFileSync(eventsA, SCENARIO.filter((_, index) => inA(index + 1)).join('\n'));
  writeFileSync(eventsB, SCENARIO.filter((_, index) => !inA(index + 1)).join('\n'));
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

interface PlannedWrite {
  action: string;
  userName?: string;
  groupDisplayName?: string;
  changes?: unknown[];
}
interface PlannedEntry {
  position: number;
  eventId?: string;
  producer?: string;
  orderNote?: string;
  outcome: string;
  errorCode?: string;
  reason?: string;
  writes: PlannedWrite[];
}
interface PlanJson {
  changes: boolean;
  entries: PlannedEntry[];
  totals: Record<string, number>;
  writeCount: number;
}

async function plan(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'cli/plan.ts', ...args], { cwd: ROOT, timeout: 200_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

async function npmStart(args: string[]): Promise<void> {
  await run('npx', ['tsx', 'local/cli/start.ts', '--quiet', '--neighbour-tps', '0', '--settings', settingsFile, ...args], { cwd: ROOT, timeout: 300_000 });
}

/** Every item of a table, canonical and sorted: equal when nothing was written. */
async function tableItems(client: DynamoDBClient, tableName: string): Promise<string[]> {
  const items: string[] = [];
  for await (const page of paginateScan({ client }, { TableName: tableName, ConsistentRead: true })) {
    for (const item of page.Items ?? []) items.push(JSON.stringify(Object.entries(item).sort(([a], [b]) => a.localeCompare(b))));
  }
  return items.sort();
}

const shape = (write: PlannedWrite | WriteRecord) => ({
  action: write.action,
  ...(write.userName !== undefined && { userName: write.userName }),
  ...(write.groupDisplayName !== undefined && { groupDisplayName: write.groupDisplayName }),
});

/** The applied writes of each event since `since`, in the order they were made. */
async function appliedWrites(client: DynamoDBClient, since: Date): Promise<WriteRecord[]> {
  const query = new DynamoDbAuditQuery({ client, tableName: LOCAL_NAMES.tables.audit });
  const { records } = await query.changes({ since, limit: 100_000 });
  return records.filter((record): record is WriteRecord & { kind: 'WRITE' } => record.kind === 'WRITE');
}

function byEvent(writes: WriteRecord[]): Record<string, ReturnType<typeof shape>[]> {
  const sorted = [...writes].sort((a, b) => a.attempt - b.attempt || a.sequence - b.sequence);
  const grouped: Record<string, ReturnType<typeof shape>[]> = {};
  for (const write of sorted) (grouped[write.eventId] ??= []).push(shape(write));
  return grouped;
}

function plannedByEvent(planned: PlanJson): Record<string, ReturnType<typeof shape>[]> {
  const grouped: Record<string, ReturnType<typeof shape>[]> = {};
  for (const entry of planned.entries) if (entry.writes.length > 0) grouped[entry.eventId!] = entry.writes.map(shape);
  return grouped;
}

describe('against explicit endpoints (a running emulator and dynalite)', () => {
  let emulator: RunningEmulator;
  let dynamo: TestDynamo;
  let endpoints: string[];

  beforeAll(async () => {
    emulator = await startEmulator({ identityStoreIds: [STORE], tps: TPS });
    dynamo = await startTestDynamo(LOCAL_NAMES.tables);
    endpoints = ['--identitystore-endpoint', emulator.endpoint, '--dynamodb-endpoint', dynamo.endpoint, '--settings', settingsFile];
  });
  afterAll(async () => {
    await emulator.stop();
    await dynamo.stop();
  });

  it('plans B without writing anything, and the apply of B then makes exactly the planned writes', async () => {
    await npmStart(['--events', eventsA, '--identitystore-endpoint', emulator.endpoint, '--dynamodb-endpoint', dynamo.endpoint, '--state-dir', join(workDir, 'endpoints-state')]);
    const journalBefore = emulator.writes();
    const writesBefore = emulator.stats().successfulWrites;
    const auditBefore = await tableItems(dynamo.client, LOCAL_NAMES.tables.audit);
    const stateBefore = await tableItems(dynamo.client, LOCAL_NAMES.tables.state);
    const idempotencyBefore = await tableItems(dynamo.client, LOCAL_NAMES.tables.idempotency);
    expect(journalBefore.length).toBeGreaterThan(0);

    const planned = await plan(['--events', eventsB, '--format', 'json', ...endpoints]);
    expect(planned.stderr).toBe('');
    expect(planned.code).toBe(2);
    const report = JSON.parse(planned.stdout) as PlanJson;

    // Nothing written: not to the store, not to the audit trail, not to the state (nor idempotency) table.
    expect(emulator.writes()).toEqual(journalBefore);
    expect(emulator.stats().successfulWrites).toBe(writesBefore);
    expect(await tableItems(dynamo.client, LOCAL_NAMES.tables.audit)).toEqual(auditBefore);
    expect(await tableItems(dynamo.client, LOCAL_NAMES.tables.state)).toEqual(stateBefore);
    expect(await tableItems(dynamo.client, LOCAL_NAMES.tables.idempotency)).toEqual(idempotencyBefore);

    // What it shows: writes to make, rejections and supersessions with their reasons, duplicates, refusals.
    expect(report.changes).toBe(true);
    expect(report.entries).toHaveLength(SCENARIO.length - 36);
    expect(report.entries.filter((entry) => entry.orderNote !== undefined)).toEqual([]);
    // Leavers through the bus (hr's EventBridge envelopes) are planned, and applied below; one of
    // them left in A already (by name, through the onboarding queue): no change.
    expect(report.entries.filter((entry) => entry.producer === 'hr' && entry.writes.some((write) => write.action === 'DeleteUser'))).toHaveLength(2);
    expect(report.entries.find((entry) => entry.eventId === 'onb-0067')).toMatchObject({ producer: 'hr', outcome: 'NOOP' });
    expect(report.writeCount).toBeGreaterThan(0);
    const counted = Object.values(report.totals).reduce((sum, count) => sum + count, 0);
    expect(counted).toBe(report.entries.length);
    const duplicates = report.entries.filter((entry) => entry.outcome === 'DUPLICATE').map((entry) => entry.eventId);
    expect(duplicates).toEqual(expect.arrayContaining(['onb-0008', 'onb-0009', 'onb-0010']));
    const rejected = report.entries.filter((entry) => entry.outcome === 'REJECTED');
    expect(rejected.length).toBeGreaterThan(0);
    for (const entry of rejected) expect(entry).toMatchObject({ errorCode: expect.any(String), reason: expect.any(String) });
    const superseded = report.entries.filter((entry) => entry.outcome === 'SUPERSEDED');
    expect(superseded.length).toBeGreaterThan(0);
    for (const entry of superseded) expect(entry.reason).toEqual(expect.any(String));
    expect(report.entries.filter((entry) => entry.outcome === 'REFUSED').length).toBeGreaterThan(0);
    const update = report.entries.flatMap((entry) => entry.writes).find((write) => write.action === 'UpdateUser');
    expect(update?.changes?.length).toBeGreaterThan(0);

    // The apply makes exactly those writes.
    const applyStarted = new Date(Date.now() - 1000);
    const journalMark = journalBefore.at(-1)!.sequence;
    await npmStart(['--events', eventsB, '--identitystore-endpoint', emulator.endpoint, '--dynamodb-endpoint', dynamo.endpoint, '--state-dir', join(workDir, 'endpoints-state')]);
    const gained = emulator.writes(journalMark);
    const applied = await appliedWrites(dynamo.client, applyStarted);
    expect(gained).toHaveLength(report.writeCount);
    expect(gained.map((write) => write.requestId).sort()).toEqual(applied.map((write) => write.requestId).sort());
    expect(gained.map((write) => write.action).sort()).toEqual(applied.map((write) => write.action).sort());
    expect(byEvent(applied)).toEqual(plannedByEvent(report));

    // A plan of what was just applied: no changes (exit 0); its events are duplicates now.
    const again = await plan(['--events', eventsB, '--format', 'json', ...endpoints]);
    expect(again.code).toBe(0);
    const second = JSON.parse(again.stdout) as PlanJson;
    expect(second.writeCount).toBe(0);
    expect(second.totals.DUPLICATE).toBeGreaterThan(0);
  }, 600_000);
});

describe("against npm start's state directory (--local-dir, npm start not running)", () => {
  it('reads its files and leaves them as they were (identitystore.json byte for byte, every table item for item); npm start then makes the planned writes', async () => {
    const stateDir = join(workDir, 'local-state');
    await npmStart(['--events', eventsA, '--state-dir', stateDir]);
    const storeFile = join(stateDir, 'identitystore.json');
    const storeBefore = createHash('sha256').update(readFileSync(storeFile)).digest('hex');
    const tables = async () => {
      const dynalite = await startDynalite({ path: join(stateDir, 'dynamodb') });
      const client = localDynamoDbClient(dynalite.endpoint);
      try {
        return {
          audit: await tableItems(client, LOCAL_NAMES.tables.audit),
          state: await tableItems(client, LOCAL_NAMES.tables.state),
          idempotency: await tableItems(client, LOCAL_NAMES.tables.idempotency),
        };
      } finally {
        client.destroy();
        await dynalite.stop();
      }
    };
    const before = await tables();

    const table = await plan(['--events', eventsB, '--local-dir', stateDir, '--settings', settingsFile]);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(2);
    expect(table.stdout).toContain(`plan: the npm start store in ${stateDir}`);
    expect(table.stdout).toMatch(/#1 onb-0031 user\.upserted from onboarding would apply 3 writes/);
    expect(table.stdout).not.toMatch(/note:/);
    expect(table.stdout).toMatch(/CreateUser user edsger\.turing/);
    expect(table.stdout).toMatch(/userName: \(not set\) → "edsger\.turing"/);
    expect(table.stdout).toMatch(/duplicate/);
    expect(table.stdout).toMatch(/refused at the door/);
    expect(table.stdout).toMatch(/Nothing was written\./);
    // Wrapped, never clipped: no line longer than the width (100 when stdout is no terminal).
    for (const line of table.stdout.split('\n')) expect([...line].length).toBeLessThanOrEqual(100);

    expect(createHash('sha256').update(readFileSync(storeFile)).digest('hex')).toBe(storeBefore);
    expect(await tables()).toEqual(before);

    // npm start in the same state dir then makes the planned writes (its audit trail says which, per event).
    const json = await plan(['--events', eventsB, '--local-dir', stateDir, '--settings', settingsFile, '--format', 'json']);
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout) as PlanJson;
    const applyStarted = new Date(Date.now() - 1000);
    await npmStart(['--events', eventsB, '--state-dir', stateDir]);
    const dynalite = await startDynalite({ path: join(stateDir, 'dynamodb') });
    const client = localDynamoDbClient(dynalite.endpoint);
    try {
      expect(byEvent(await appliedWrites(client, applyStarted))).toEqual(plannedByEvent(report));
    } finally {
      client.destroy();
      await dynalite.stop();
    }
  }, 600_000);
});

describe('an id used again after its event was rejected (a corrected event redriven with the same id)', () => {
  let emulator: RunningEmulator;
  let dynamo: TestDynamo;
  beforeAll(async () => {
    emulator = await startEmulator({ identityStoreIds: [STORE], tps: TPS });
    dynamo = await startTestDynamo(LOCAL_NAMES.tables);
  });
  afterAll(async () => {
    await emulator.stop();
    await dynamo.stop();
  });

  it('the plan reads it again, as the apply does: outcomes and writes are the same', async () => {
    const at = (minute: number) => new Date(Date.UTC(2026, 10, 2, 9, minute)).toISOString();
    const portal = (id: string, groupName: string, minute: number) => ({
      producer: 'access-portal',
      event: { id, type: 'membership.added', occurredAt: at(minute), actor: 'portal', data: { userName: 'ada.lovelace', groupDisplayName: groupName } },
    });
    const file = join(workDir, 'corrected.jsonl');
    writeFileSync(
      file,
      [
        { id: 'g1', type: 'group.upserted', occurredAt: at(1), actor: 'hr-system', data: { group: { DisplayName: 'app-wiki' } } },
        {
          id: 'u1',
          type: 'user.upserted',
          occurredAt: at(2),
          actor: 'hr-system',
          data: { user: { UserName: 'ada.lovelace', DisplayName: 'Ada Lovelace', Name: { GivenName: 'Ada', FamilyName: 'Lovelace' }, Emails: [{ Value: 'ada@example.com', Type: 'work', Primary: true }] } },
        },
        portal('m1', 'Finance', 30),
        portal('m1', 'app-wiki', 30),
        portal('m2', 'Payroll', 31),
        portal('m2', 'Payroll', 31),
      ]
        .map((entry) => JSON.stringify(entry))
        .join('\n'),
    );
    const endpoints = ['--identitystore-endpoint', emulator.endpoint, '--dynamodb-endpoint', dynamo.endpoint];
    const planned = await plan(['--events', file, '--format', 'json', ...endpoints, '--settings', settingsFile]);
    expect(planned.code).toBe(2);
    const report = JSON.parse(planned.stdout) as PlanJson;
    expect(report.entries.map((entry) => [entry.eventId, entry.outcome])).toEqual([
      ['g1', 'APPLIED'],
      ['u1', 'APPLIED'],
      ['m1', 'REJECTED'],
      ['m1', 'APPLIED'],
      ['m2', 'REJECTED'],
      ['m2', 'REJECTED'],
    ]);

    const started = new Date(Date.now() - 1000);
    const { stdout } = await run(
      'npx',
      ['tsx', 'local/cli/start.ts', '--quiet', '--neighbour-tps', '0', '--settings', settingsFile, '--events', file, ...endpoints, '--state-dir', join(workDir, 'corrected-state')],
      { cwd: ROOT, timeout: 300_000 },
    );
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as { applied: number; rejected: number; duplicates: number; ids: { rejected: string[] } };
    expect(summary).toMatchObject({ applied: 3, rejected: 3, duplicates: 0 });
    expect(summary.ids.rejected.sort()).toEqual(['m1', 'm2', 'm2']);
    expect(byEvent(await appliedWrites(dynamo.client, started))).toEqual(plannedByEvent(report));
    expect(emulator.writes()).toHaveLength(report.writeCount);
  }, 600_000);
});
