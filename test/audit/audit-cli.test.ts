/**
 * The audit CLI as a user runs it: a child process (tsx) against dynalite filled through the
 * audit-log adapter. execFile is async on purpose: dynalite serves from this process.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAuditArgs, parseTime, UsageError, type AuditRequest } from '../../cli/audit';
import { RECORD_FIELDS } from '../../cli/format';
import { localDynamoDbClient, startDynalite } from '../../local/dynalite';
import { createTables } from '../../local/tables';
import { useDynalite } from '../support/dynalite';
import { auditTrail, BULK_EVENTS, recordTrail, select } from './fixtures';

const dynamo = useDynalite();
const REPO = path.resolve(__dirname, '..', '..');
const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function audit(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      TSX,
      ['cli/audit.ts', ...args],
      { cwd: REPO, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const target = () => ['--dynamodb-endpoint', dynamo.current.endpoint, '--table', dynamo.current.tables.audit];

beforeAll(async () => {
  await recordTrail(dynamo.current.client, dynamo.current.tables.audit);
});

describe('audit CLI against an endpoint', () => {
  it('user: a table that fits 80 columns, oldest first', async () => {
    const run = await audit('user', 'ann', ...target());
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const lines = run.stdout.trimEnd().split('\n');
    const recordLines = lines.filter((line) => /^\d{4}-/.test(line));
    expect(recordLines).toHaveLength(select((r) => r.userName === 'ann').length);
    expect(lines.every((line) => line.length <= 80)).toBe(true);
    expect(recordLines[0]).toMatch(/^2024-05-01T09:00:01Z evt-join-ann +ann +CreateUser/);
    expect(recordLines.at(-1)).toMatch(/^2024-05-03T09:00:03Z .* user.deleted APPLIED/);
  });

  it('event --format json: every field of every record', async () => {
    const run = await audit('event', 'evt-join-bob', '--format', 'json', ...target());
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(select((r) => r.eventId === 'evt-join-bob'));
  });

  it('changes --format csv over several pages: header and one row per write', async () => {
    const run = await audit('changes', '--since', '2024-05-04', '--until', '2024-05-05T00:00:00Z', '--format', 'csv', '--page-size', '4', ...target());
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(RECORD_FIELDS.join(','));
    expect(lines).toHaveLength(1 + BULK_EVENTS);
    expect(lines[1]).toMatch(/^WRITE,2024-05-04T12:00:00.000Z,evt-bulk-00,1,0,,CreateGroupMembership,/);
  });

  it('failures: the reasons, in a table', async () => {
    const run = await audit('failures', '--since', '2024-05-01', '--until', '2024-05-10', ...target());
    expect(run.code).toBe(0);
    expect(run.stdout.replace(/\n\s+/g, ' ')).toMatch(/evt-admins +ann +membership.added Admins REJECTED GROUP_NOT_MANAGED/);
    // Both problem events, each reason whole (wrapped under its column, never clipped).
    expect(run.stdout.trimEnd().split('\n').filter((line) => /^\d{4}-/.test(line))).toHaveLength(2);
    expect(run.stdout.replace(/\n\s+/g, ' ')).toContain('group Admins is outside the managed scope');
    expect(run.stdout).not.toContain('…');
  });

  it('actor with a limit: the newest records, and a note on stderr that older ones exist', async () => {
    const run = await audit('actor', 'bulk-import', '--since', '2024-05-04T00:00:00Z', '--until', '2024-05-05T00:00:00Z', '--limit', '5', '--page-size', '2', '--format', 'json', ...target());
    expect(run.code).toBe(0);
    const records = JSON.parse(run.stdout) as { eventId: string }[];
    expect(records.map((r) => r.eventId)).toEqual(['evt-bulk-22', 'evt-bulk-23', 'evt-bulk-23', 'evt-bulk-24', 'evt-bulk-24']);
    expect(run.stderr).toMatch(/showing the newest 5 records; older ones exist/);
  });

  it('producer: what one verified producer caused, with the producer in every row', async () => {
    const run = await audit('producer', 'okta-bridge', '--since', '2024-05-01', '--until', '2024-05-10', '--format', 'csv', ...target());
    expect(run.code).toBe(0);
    const [header, ...rows] = run.stdout.trimEnd().split('\n');
    const column = header!.split(',').indexOf('producer');
    expect(rows.map((row) => row.split(',')[column])).toEqual(['okta-bridge', 'okta-bridge']);
  });

  it('group: nothing found prints (no records)', async () => {
    const run = await audit('group', 'Nobody', ...target());
    expect(run).toMatchObject({ code: 0, stdout: '(no records)\n' });
  });

  it('exits 1 with a clear message when the table is missing', async () => {
    const run = await audit('user', 'ann', '--dynamodb-endpoint', dynamo.current.endpoint, '--table', 'no-such-table');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Audit table not found: no-such-table at http/);
  });
});

describe('audit CLI usage', () => {
  it('--help prints the commands and exits 0', async () => {
    const run = await audit('--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: npm run audit -- <command> \[options\]/);
  });

  it('exits 2 on a bad option, naming it', async () => {
    const run = await audit('changes', '--since', 'yesterday', ...target());
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--since must be ISO-8601 .* got "yesterday"\nRun with --help for usage./);
  });

  const now = new Date('2024-05-10T12:00:00.000Z');
  it.each([
    [[], /missing command/],
    [['users', 'ann'], /unknown command "users"/],
    [['user'], /user needs a userName/],
    [['user', 'ann', 'bob'], /unexpected argument "bob"/],
    [['changes'], /changes needs --since/],
    [['changes', 'extra', '--since', '1d'], /unexpected argument "extra"/],
    [['user', 'ann', '--since', '1d'], /--since\/--until apply to changes, failures, producer, actor/],
    [['producer'], /producer needs a producer name/],
    [['producer', 'hr'], /producer needs --since/],
    [['failures', '--since', '1d', '--until', '2d'], /--since must be before --until/],
    [['user', 'ann', '--format', 'xml'], /--format must be one of table, json, csv/],
    [['user', 'ann', '--limit', '0'], /--limit must be a whole number >= 1/],
    [['user', 'ann', '--limit', '5x'], /--limit must be a whole number >= 1/],
    [['user', 'ann', '--colour'], /unknown option --colour/],
    [['user', 'ann', '--formt', 'json'], /unknown option --formt \(did you mean --format\?\)/],
    [['usr', 'ann'], /unknown command "usr" \(did you mean user\?\)/],
    [['user', 'ann', '--profile', 'ops'], /--profile goes with --stack or --table/],
    [['user', 'ann', '--stack', 's', '--table', 't'], /--stack and --table are alternatives/],
    [['user', 'ann', '--table', 't'], /--table needs --region/],
    [['user', 'ann', '--region', 'eu-west-1'], /--region goes with --stack, --table or --dynamodb-endpoint/],
    [['user', 'ann', '--dynamodb-endpoint', 'localhost:8000'], /must be an http\(s\) URL/],
    [['changes', '--since', '2024-05-01T09:00:00'], /--since must be ISO-8601 with a zone/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseAuditArgs(argv as string[], now, {})).toThrow(UsageError);
    expect(() => parseAuditArgs(argv as string[], now, {})).toThrow(message as RegExp);
  });

  it('reads relative and ISO times', () => {
    expect(parseTime('30m', now, '--since').toISOString()).toBe('2024-05-10T11:30:00.000Z');
    expect(parseTime('24h', now, '--since').toISOString()).toBe('2024-05-09T12:00:00.000Z');
    expect(parseTime('7d', now, '--since').toISOString()).toBe('2024-05-03T12:00:00.000Z');
    expect(parseTime('2024-05-01', now, '--since').toISOString()).toBe('2024-05-01T00:00:00.000Z');
    expect(parseTime('2024-05-01T09:00:00+02:00', now, '--since').toISOString()).toBe('2024-05-01T07:00:00.000Z');
  });

  it('targets a deployed table with the region from the environment', () => {
    expect((parseAuditArgs(['user', 'ann', '--table', 'prod-audit'], now, { AWS_REGION: 'eu-west-1' }) as AuditRequest).target).toEqual({
      kind: 'aws',
      tableName: 'prod-audit',
      region: 'eu-west-1',
    });
  });
});

describe('audit CLI against the local store of npm start', () => {
  let localDir: string;
  beforeEach(() => {
    localDir = mkdtempSync(path.join(tmpdir(), 'audit-cli-'));
  });
  afterEach(() => rmSync(localDir, { recursive: true, force: true }));

  it('follows .local/endpoints.json to the running store', async () => {
    writeFileSync(
      path.join(localDir, 'endpoints.json'),
      JSON.stringify({ dynamodbEndpoint: dynamo.current.endpoint, auditTableName: dynamo.current.tables.audit }),
    );
    const run = await audit('event', 'evt-admins', '--format', 'json', '--local-dir', localDir);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(select((r) => r.eventId === 'evt-admins'));
  });

  it('opens the persisted store itself when npm start is not running', async () => {
    const dataDir = path.join(localDir, 'dynamodb');
    const persisted = await startDynalite({ path: dataDir });
    const client = localDynamoDbClient(persisted.endpoint);
    try {
      await createTables(client, { audit: 'identity-provisioner-audit', state: 'state', idempotency: 'idempotency' });
      await recordTrail(client, 'identity-provisioner-audit', auditTrail().filter((r) => r.eventId === 'evt-join-ann'));
    } finally {
      client.destroy();
      await persisted.stop();
    }

    const run = await audit('user', 'ann', '--format', 'csv', '--local-dir', localDir);
    expect(run.code).toBe(0);
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(1 + 3);
  });

  it('says how to get a store when there is none (exit 2)', async () => {
    const run = await audit('user', 'ann', '--local-dir', localDir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/No local pipeline is running: no endpoints.json and no local store in .*\nStart one with `npm start`.*--local-dir DIR.*--dynamodb-endpoint URL.*--table NAME --region R/);
  });
});
