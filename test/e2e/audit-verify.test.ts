/**
 * Tamper evidence through the real commands: `npm start` runs a small scenario and writes its
 * audit digests into its state directory; `npm run audit -- verify` (verifyMain, and the script run
 * directly) passes on the untouched trail, then names a record updated, a record deleted and a
 * record put directly in the local DynamoDB files; `npm start --fresh` clears the digests with the
 * tables, so the next verify passes again.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { verifyMain } from '../../cli/audit-verify';
import { runCaptured, type CommandRun } from '../support/captured-command';
import { auditContentHash } from '../../lambdas/adapters/dynamodb-audit-log';
import { localDynamoDbClient, startDynalite } from '../../local/dynalite';
import { LOCAL_NAMES } from '../../local/pipeline/pipeline';
import { onboardingScenario } from '../../local/scenario/onboarding';

const run = promisify(execFile);
const ROOT = join(__dirname, '../..');
const TABLE = LOCAL_NAMES.tables.audit;

let workDir: string;
let stateDir: string;
let eventsFile: string;
let started: { stdout: string };

function npmStart(...extra: string[]) {
  return run('npx', ['tsx', 'local/cli/start.ts', '--quiet', '--events', eventsFile, '--state-dir', stateDir, '--neighbour-tps', '0', ...extra], {
    cwd: ROOT,
    timeout: 200_000,
    maxBuffer: 16 * 1024 * 1024,
  });
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'audit-verify-e2e-'));
  stateDir = join(workDir, 'state');
  eventsFile = join(workDir, 'events.jsonl');
  writeFileSync(eventsFile, onboardingScenario({ joiners: 2 }).entries.map((e) => JSON.stringify(e)).join('\n'));
  // The embedded emulator and dynalite: the store is the state dir's files, as a user's npm start keeps them.
  started = await npmStart();
}, 220_000);
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** verifyMain as `npm run audit -- verify ...` calls it, with what it printed. */
function verify(...args: string[]): Promise<CommandRun> {
  return runCaptured(() => verifyMain(['--local-dir', stateDir, ...args]));
}

/** The state dir's DynamoDB files, opened as another process would: the real SDK client over dynalite. */
async function withStore<T>(use: (client: DynamoDBDocumentClient) => Promise<T>): Promise<T> {
  const dynalite = await startDynalite({ path: join(stateDir, 'dynamodb') });
  const client = localDynamoDbClient(dynalite.endpoint);
  try {
    return await use(DynamoDBDocumentClient.from(client));
  } finally {
    client.destroy();
    await dynalite.stop();
  }
}

async function auditItems(client: DynamoDBDocumentClient): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: TABLE, ExclusiveStartKey }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items.sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
}

const line = (stdout: string, label: string, item: Record<string, unknown>) =>
  stdout.split('\n').find((l) => l.startsWith(label) && l.includes(` pk=${String(item.pk)} sk=${String(item.sk)} `));

let updated: Record<string, unknown>;
let deleted: Record<string, unknown>;

it('npm start writes the digests of its run into the state dir and says so', () => {
  const summary = JSON.parse(started.stdout.trim().split('\n').at(-1)!);
  expect(summary).toMatchObject({ pending: 0, failed: 0, auditDigestsWritten: 1 });
  expect(started.stdout).toContain(`audit digests: 1 written to ${join(stateDir, 'audit-digests')} (chained; verify with npm run audit -- verify)`);
  expect(readdirSync(join(stateDir, 'audit-digests'))).toEqual([expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z\.json$/)]);
});

it('verify passes on the untouched trail', async () => {
  const result = await verify();
  expect(result).toMatchObject({ code: 0, stderr: '' });
  const records = await withStore(auditItems);
  expect(records.length).toBeGreaterThan(10);
  expect(result.stdout).toContain(`Checked 1 digest covering `);
  expect(result.stdout).toContain(`: ${records.length} digested records, ${records.length} records read.`);
  expect(result.stdout).toContain('OK: no record changed, removed or added after its digest; the chain of digests is whole.');
}, 30_000);

it('names a record updated and a record deleted directly in the local DynamoDB, exit 1', async () => {
  await withStore(async (client) => {
    const records = await auditItems(client);
    updated = records.find((r) => r.kind === 'OUTCOME' && typeof r.eventId === 'string')!;
    deleted = records.find((r) => r.kind === 'WRITE')!;
    await client.send(new UpdateCommand({ TableName: TABLE, Key: { pk: updated.pk, sk: updated.sk }, UpdateExpression: 'SET actor = :actor', ExpressionAttributeValues: { ':actor': 'someone-else' } }));
    await client.send(new DeleteCommand({ TableName: TABLE, Key: { pk: deleted.pk, sk: deleted.sk } }));
  });

  const result = await verify();
  expect(result.code).toBe(1);
  expect(line(result.stdout, 'CHANGED', updated)).toContain(`kind=OUTCOME eventId=${String(updated.eventId)} digest=${join(stateDir, 'audit-digests')}`);
  expect(line(result.stdout, 'CHANGED', updated)).toContain('its contentHash was not updated');
  expect(line(result.stdout, 'REMOVED', deleted)).toContain(`kind=WRITE eventId=${String(deleted.eventId)} digest=`);
  expect(result.stdout).toContain('FAILED: 2 findings (1 changed, 1 removed).');
}, 30_000);

it('names a record put into a digested window as added', async () => {
  const template = (await withStore(auditItems)).find((r) => r.kind === 'OUTCOME' && r.sk !== updated.sk)!;
  const forged: Record<string, unknown> = { ...template, sk: String(template.sk).replace(/#OUTCOME#\d{4}$/, '#OUTCOME#0099'), outcome: 'APPLIED' };
  forged.contentHash = auditContentHash(forged);
  await withStore((client) => client.send(new PutCommand({ TableName: TABLE, Item: forged })));

  const result = await verify();
  expect(result.code).toBe(1);
  expect(line(result.stdout, 'ADDED', forged)).toContain("not listed in it");
  expect(result.stdout).toContain('FAILED: 3 findings (1 changed, 1 removed, 1 added).');

  // The same as `npm run audit -- verify` runs it (cli/audit.ts hands verify on), as JSON.
  const direct = await run('npx', ['tsx', 'cli/audit.ts', 'verify', '--local-dir', stateDir, '--format', 'json'], { cwd: ROOT, timeout: 60_000 }).then(
    () => ({ code: 0, stdout: '' }),
    (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
  );
  expect(direct.code).toBe(1);
  const report = JSON.parse(direct.stdout) as { ok: boolean; findings: { type: string; pk: string; sk: string }[] };
  expect(report.ok).toBe(false);
  expect(report.findings.map((f) => [f.type, f.pk, f.sk]).sort()).toEqual(
    [['added', forged.pk, forged.sk], ['changed', updated.pk, updated.sk], ['removed', deleted.pk, deleted.sk]].sort(),
  );
}, 90_000);

it('npm start --fresh clears the digests with the tables: the next run digests afresh and verify passes', async () => {
  const again = await npmStart('--fresh');
  expect(JSON.parse(again.stdout.trim().split('\n').at(-1)!)).toMatchObject({ failed: 0, auditDigestsWritten: 1 });
  expect(existsSync(join(stateDir, 'audit-digests'))).toBe(true);
  const result = await verify();
  expect({ code: result.code, findings: result.stdout.split('\n').filter((l) => /^(CHANGED|REMOVED|ADDED|CHAIN)/.test(l)) }).toEqual({ code: 0, findings: [] });
}, 220_000);

describe('usage', () => {
  it('refuses options that do not go together, naming what is missing (exit 2 through the script)', async () => {
    await expect(verifyMain(['--dynamodb-endpoint', 'http://127.0.0.1:1'])).rejects.toThrow('--dynamodb-endpoint needs --digest-dir DIR');
    await expect(verifyMain(['--table', 'audit', '--region', 'eu-west-1'])).rejects.toThrow('--table needs --digest-bucket NAME');
    await expect(verifyMain(['--stack', 'prod', '--digest-dir', workDir])).rejects.toThrow('--digest-dir goes with --local-dir or --dynamodb-endpoint');
    await expect(verifyMain(['--local-dir', stateDir, '--digest-bucket', 'b'])).rejects.toThrow('--digest-bucket goes with --stack or --table');
    await expect(verifyMain(['--since', 'yesterday'])).rejects.toThrow('--since must be ISO-8601');
    await expect(verifyMain(['--format', 'csv'])).rejects.toThrow('--format must be one of table, json');
    const direct = await run('npx', ['tsx', 'cli/audit-verify.ts', '--dynamodb-endpoint', 'http://127.0.0.1:1'], { cwd: ROOT, timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(direct).toEqual({ code: 2, stderr: 'audit verify: --dynamodb-endpoint needs --digest-dir DIR: where the digests of that table are\nRun with --help for usage.\n' });
  }, 60_000);

  it('says when there is nothing to verify against: no digest in the directory', async () => {
    const empty = mkdtempSync(join(workDir, 'no-digests-'));
    const result = await verify('--digest-dir', empty);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('No digests found: nothing to check the records against.');
    expect(result.stdout).toContain(`Nothing verified: no digest in ${empty}.`);
    expect(result.stdout).not.toContain('OK:');
  });

  it('--help says what it finds and its exit codes', async () => {
    const help = await verify('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: npm run audit -- verify [--since T] [options]');
    expect(help.stdout).toMatch(/Exit codes: 0 ok, 1 the operation failed, 2 usage error\./);
  });
});
