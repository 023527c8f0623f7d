/**
 * `npm run drift` as an operator runs it, child processes all the way: npm start applies a few
 * events to its own state dir; then an attribute is changed and a member added directly, with the
 * real Identity Store client against the emulator holding that state dir's store; `npm run drift`
 * finds both (exit 2), `npm run drift -- --repair` sends the repairs as the producer drift-repair
 * (npm start applies them), and the next `npm run drift` finds nothing (exit 0).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateGroupMembershipCommand,
  DescribeUserCommand,
  GetGroupIdCommand,
  GetGroupMembershipIdCommand,
  GetUserIdCommand,
  IdentitystoreClient,
  UpdateUserCommand,
} from '@aws-sdk/client-identitystore';
import { startEmulator } from '../../local/emulator';

const run = promisify(execFile);
const ROOT = join(__dirname, '../..');
const STORE = 'd-1234567890';

let workDir: string;
let stateDir: string;
let settingsFile: string;

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'drift-e2e-'));
  stateDir = join(workDir, 'state');
  settingsFile = join(workDir, 'settings.json');
  // A short test: the budget raised, as the other end-to-end tests do; every command reads the same settings.
  writeFileSync(settingsFile, JSON.stringify({ requestsPerSecond: 40 }));
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

async function command(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npm', ['run', '--silent', ...args], { cwd: ROOT, timeout: 300_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, COLUMNS: '200' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const drift = (...args: string[]) => command(['drift', '--', '--local-dir', stateDir, '--settings', settingsFile, ...args]);

/** The store npm start left in its state dir, served by an emulator of this test (saved back when it stops). */
async function withStore<T>(use: (client: IdentitystoreClient) => Promise<T>): Promise<T> {
  const emulator = await startEmulator({ identityStoreIds: [STORE], tps: 0, statePath: join(stateDir, 'identitystore.json') });
  const client = new IdentitystoreClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    return await use(client);
  } finally {
    client.destroy();
    await emulator.stop();
  }
}

async function ids(client: IdentitystoreClient) {
  const userId = async (userName: string) =>
    (await client.send(new GetUserIdCommand({ IdentityStoreId: STORE, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: userName } } }))).UserId!;
  const engineering = (
    await client.send(new GetGroupIdCommand({ IdentityStoreId: STORE, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'displayName', AttributeValue: 'Engineering' } } }))
  ).GroupId!;
  return { ada: await userId('ada.lovelace'), bob: await userId('bob.builder'), engineering };
}

const at = (minute: number) => `2026-11-02T09:${String(minute).padStart(2, '0')}:00.000Z`;
const user = (userName: string, title: string) => ({
  UserName: userName,
  DisplayName: userName,
  Name: { GivenName: userName.split('.')[0], FamilyName: userName.split('.')[1] },
  Title: title,
});
const EVENTS = [
  { producer: 'hr', event: { id: 'drift-e2e-1', type: 'group.upserted', occurredAt: at(1), actor: 'hr-system', data: { group: { DisplayName: 'Everyone', Description: 'Everyone' } } } },
  { producer: 'hr', event: { id: 'drift-e2e-2', type: 'group.upserted', occurredAt: at(2), actor: 'hr-system', data: { group: { DisplayName: 'Engineering', Description: 'Engineers' } } } },
  { producer: 'onboarding', event: { id: 'drift-e2e-3', type: 'user.upserted', occurredAt: at(3), actor: 'onboarding', data: { user: user('ada.lovelace', 'Engineer'), groups: ['Everyone', 'Engineering'] } } },
  { producer: 'onboarding', event: { id: 'drift-e2e-4', type: 'user.upserted', occurredAt: at(4), actor: 'onboarding', data: { user: user('bob.builder', 'Builder'), groups: ['Everyone'] } } },
];

it('finds a member added and an attribute changed directly, puts them back with --repair, and then finds no drift', async () => {
  const eventsFile = join(workDir, 'events.jsonl');
  writeFileSync(eventsFile, EVENTS.map((entry) => JSON.stringify(entry)).join('\n'));
  const started = await command(['start', '--', '--events', eventsFile, '--state-dir', stateDir, '--settings', settingsFile, '--quiet', '--neighbour-tps', '0']);
  expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  expect(JSON.parse(started.stdout.trim().split('\n').at(-1)!)).toMatchObject({ applied: 4, failed: 0, rejected: 0, pending: 0 });

  const clean = await drift();
  expect({ code: clean.code, stdout: clean.stdout, stderr: clean.stderr }).toMatchObject({ code: 0, stdout: expect.stringContaining('No drift') });

  const { ada, bob, engineering } = await withStore(async (client) => {
    const found = await ids(client);
    await client.send(new UpdateUserCommand({ IdentityStoreId: STORE, UserId: found.ada, Operations: [{ AttributePath: 'title', AttributeValue: 'Chief' }] }));
    await client.send(new CreateGroupMembershipCommand({ IdentityStoreId: STORE, GroupId: found.engineering, MemberId: { UserId: found.bob } }));
    return found;
  });

  const found = await drift();
  expect({ code: found.code, stderr: found.stderr }).toEqual({ code: 2, stderr: '' });
  expect(found.stdout).toMatch(/attribute differs\s+ada\.lovelace\s.*title: "Engineer" applied, "Chief" found/);
  expect(found.stdout).toMatch(/unexpected member\s+bob\.builder\s.*in Engineering: this service's last change left them out/);
  expect(found.stdout).toContain('Drift: 2 findings (1 attribute differs, 1 unexpected member), 2 new.');

  const asJson = await drift('--format', 'json');
  expect(asJson.code).toBe(2);
  const report = JSON.parse(asJson.stdout) as { newFindings: number; findings: { kind: string; key: string; userId: string; departsFrom?: { eventId: string } }[] };
  expect(report.newFindings).toBe(0);
  expect(report.findings.map((f) => [f.kind, f.key, f.departsFrom?.eventId])).toEqual([
    ['attribute-differs', `attribute:${ada}:title`, 'drift-e2e-3'],
    ['unexpected-member', `extra-member:${engineering}:${bob}`, 'drift-e2e-4'],
  ]);

  // The audit trail has the DRIFT records, found by the user's name.
  const audit = await command(['audit', '--', 'user', 'ada.lovelace', '--local-dir', stateDir]);
  expect(audit.code).toBe(0);
  // One DRIFT record per run that saw it (two so far), the table wrapped to 80 columns.
  expect(audit.stdout.match(/drift-e2e-3 +ada\.lovelace +DRIFT title: "Engineer" applied,\s+"Chief" found/g)).toHaveLength(2);

  const repaired = await drift('--repair');
  expect({ code: repaired.code, stdout: repaired.stdout, stderr: repaired.stderr }).toMatchObject({ code: 2, stdout: expect.stringContaining('Repair: 2 of 2 events delivered as drift-repair') });
  expect(repaired.stdout).toMatch(/user\.upserted\s+drift-[0-9a-f]{32}, membership\.removed\s+drift-[0-9a-f]{32}\./);

  const after = await drift();
  expect({ code: after.code, stdout: after.stdout, stderr: after.stderr }).toMatchObject({ code: 0, stdout: expect.stringContaining('No drift') });
  await withStore(async (client) => {
    const described = await client.send(new DescribeUserCommand({ IdentityStoreId: STORE, UserId: ada }));
    expect(described.Title).toBe('Engineer');
    await expect(client.send(new GetGroupMembershipIdCommand({ IdentityStoreId: STORE, GroupId: engineering, MemberId: { UserId: bob } }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
}, 900_000);
