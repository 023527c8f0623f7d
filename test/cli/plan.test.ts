/**
 * npm run plan on its fast paths, as a child process: help and version, usage errors (exit 1,
 * naming the option, as terraform plan -detailed-exitcode has it), no local store, and small plans
 * against an emulator and a dynalite this test owns (explicit endpoints): the outcomes with their
 * reasons (rejected, superseded, duplicate, ID_REUSED, refused at the door), the writes with each
 * attribute before and after, and nothing written.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEmulator, type RunningEmulator } from '../../local/emulator';
import { LOCAL_NAMES } from '../../local/pipeline/pipeline';
import { startTestDynamo, type TestDynamo } from '../support/dynalite';

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const STORE = 'd-1234567890';

function plan(args: string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(TSX, [join(ROOT, 'cli/plan.ts'), ...args], { cwd, timeout: 100_000 }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

let workDir: string;
let events: string;
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'plan-cli-'));
  events = join(workDir, 'events.jsonl');
  writeFileSync(events, `${JSON.stringify(group('Engineering', 'g1', 1))}\n`);
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const at = (minute: number) => new Date(Date.UTC(2026, 10, 2, 9, minute)).toISOString();
function group(name: string, id: string, minute: number) {
  return { id, type: 'group.upserted', occurredAt: at(minute), actor: 'hr-system', data: { group: { DisplayName: name } } };
}
function joiner(userName: string, id: string, minute: number, extra: Record<string, unknown> = {}, groups: string[] = []) {
  const [given, family] = userName.split('.');
  return {
    id,
    type: 'user.upserted',
    occurredAt: at(minute),
    actor: 'hr-system',
    data: {
      user: { UserName: userName, DisplayName: `${given} ${family}`, Name: { GivenName: given, FamilyName: family }, Emails: [{ Value: `${userName}@example.com`, Type: 'work', Primary: true }], ...extra },
      groups,
    },
  };
}

describe('help, version and usage errors', () => {
  it('--help states the exit codes as terraform plan -detailed-exitcode, and the three targets', async () => {
    const result = await plan(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Exit codes \(as terraform plan -detailed-exitcode\): 0 no changes, 1 error, 2 changes planned\./);
    expect(result.stdout).toMatch(/error: a usage error \(as in terraform, 1, never 2\)/);
    for (const option of ['--events', '--format', '--local-dir', '--identitystore-endpoint', '--dynamodb-endpoint', '--stack', '--region', '--profile', '--settings']) {
      expect(result.stdout).toContain(option);
    }
    for (const line of result.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
  });

  it('--version prints the version', async () => {
    expect(await plan(['--version'])).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  it.each([
    [[], /--events FILE is required/],
    [['--events'], /--events needs a value/],
    [['--events', 'x.jsonl', '--fromat', 'json'], /unknown option --fromat \(did you mean --format\?\)/],
    [['--events', 'x.jsonl', '--format', 'xml'], /--format must be one of table, json, got "xml"/],
    [['--events', 'x.jsonl', '--region', 'eu-west-1'], /--region goes with --stack/],
    [['--events', 'x.jsonl', '--profile', 'p'], /--profile goes with --stack/],
    [['--events', 'x.jsonl', '--identitystore-endpoint', 'http://127.0.0.1:1'], /--identitystore-endpoint needs --dynamodb-endpoint too/],
    [['--events', 'x.jsonl', '--dynamodb-endpoint', 'http://127.0.0.1:1'], /--dynamodb-endpoint needs --identitystore-endpoint too/],
    [['--events', 'x.jsonl', '--identitystore-endpoint', 'ftp://x', '--dynamodb-endpoint', 'http://127.0.0.1:1'], /--identitystore-endpoint must be an http\(s\) URL/],
    [['--events', 'x.jsonl', '--stack', 'S', '--local-dir', 'd'], /--local-dir does not go with --stack/],
    [['--events', 'x.jsonl', '--stack', 'S', '--settings', 's.json'], /--settings does not go with --stack/],
  ])('%j is a usage error: exit 1, naming the option', async (args, message) => {
    const result = await plan(args as string[]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/Run with --help for usage\./);
    expect(result.stdout).toBe('');
  });

  it('an events file that is not events: exit 1 with file:line:column', async () => {
    const bad = join(workDir, 'bad.jsonl');
    writeFileSync(bad, '{"id": "x"\n');
    const result = await plan(['--events', bad, '--local-dir', workDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${bad}:1:`);
  });

  it('no local store: exit 1, saying how to start one', async () => {
    const result = await plan(['--events', events, '--local-dir', join(workDir, 'nothing-here')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/No local pipeline is running: no endpoints.json and no local store in .*nothing-here/);
    expect(result.stderr).toMatch(/point the plan elsewhere/);
  });

  it('a state dir whose tables are there but whose Identity Store was elsewhere: exit 1, not an empty store', async () => {
    const elsewhere = join(workDir, 'store-elsewhere');
    mkdirSync(join(elsewhere, 'dynamodb'), { recursive: true });
    const result = await plan(['--events', events, '--local-dir', elsewhere]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/has tables \(dynamodb\/\) but no identitystore\.json/);
    expect(result.stdout).toBe('');
    // Refused before anything was opened there: the (empty) tables folder is left empty.
    expect(readdirSync(join(elsewhere, 'dynamodb'))).toEqual([]);
  });

  it('an invalid setting: exit 1 with the setting named', async () => {
    const settings = join(workDir, 'bad-settings.json');
    writeFileSync(settings, JSON.stringify({ deletionCapp: 3 }));
    const result = await plan(['--events', events, '--settings', settings, '--local-dir', workDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/deletionCapp/);
  });
});

describe('small plans against a running emulator and dynalite', () => {
  let emulator: RunningEmulator;
  let dynamo: TestDynamo;
  let endpoints: string[];
  beforeAll(async () => {
    emulator = await startEmulator({ identityStoreIds: [STORE], tps: 0 });
    dynamo = await startTestDynamo(LOCAL_NAMES.tables);
    endpoints = ['--identitystore-endpoint', emulator.endpoint, '--dynamodb-endpoint', dynamo.endpoint];
  });
  afterAll(async () => {
    await emulator.stop();
    await dynamo.stop();
  });

  it('shows each outcome with its reason and each write with before -> after; writes nothing; exit 2', async () => {
    const file = join(workDir, 'mixed.jsonl');
    const entries = [
      group('Engineering', 'g1', 1),
      // The later change first: the earlier one is then superseded.
      joiner('ada.lovelace', 'u2', 5, { Title: 'Staff Engineer' }, ['Engineering']),
      joiner('ada.lovelace', 'u1', 2, { Title: 'Engineer' }, ['Engineering']),
      // Invalid: a user name with a space.
      { ...joiner('grace.hopper', 'u3', 6), data: { user: { UserName: 'grace hopper', DisplayName: 'Grace' } } },
      // The same event again (a duplicate), and its id again with other content (ID_REUSED).
      group('Engineering', 'g1', 1),
      group('Research', 'g1', 1),
      // Sent as onboarding, but signed by someone its queue policy does not let in.
      { producer: 'onboarding', principal: 'arn:aws:iam::000000000000:role/developer', event: group('Shadow', 'g9', 7) },
    ];
    writeFileSync(file, entries.map((entry) => JSON.stringify(entry)).join('\n'));

    const json = await plan(['--events', file, '--format', 'json', ...endpoints]);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout) as {
      entries: { position: number; eventId: string; outcome: string; errorCode?: string; reason?: string; writes: { action: string; userName?: string; groupDisplayName?: string; changes?: { path: string; before?: unknown; after?: unknown }[] }[] }[];
      totals: Record<string, number>;
      writeCount: number;
    };
    expect(report.entries.map((entry) => [entry.position, entry.eventId, entry.outcome, entry.errorCode])).toEqual([
      [1, 'g1', 'APPLIED', undefined],
      [2, 'u2', 'APPLIED', undefined],
      [3, 'u1', 'SUPERSEDED', undefined],
      [4, 'u3', 'REJECTED', 'INVALID_EVENT'],
      [5, 'g1', 'DUPLICATE', undefined],
      [6, 'g1', 'REJECTED', 'ID_REUSED'],
      [7, 'g9', 'REFUSED', 'AccessDenied'],
    ]);
    for (const entry of report.entries.slice(2)) expect(entry.reason).toEqual(expect.any(String));
    expect(report.entries[4].reason).toMatch(/the same event as entry 1/);
    expect(report.entries[5].reason).toMatch(/id: "g1" was already used by this producer, by entry 1, for a different change/);
    expect(report.entries[6].reason).toMatch(/does not let arn:aws:iam::000000000000:role\/developer send as "onboarding"/);
    expect(report.entries[0].writes.map((write) => [write.action, write.groupDisplayName])).toEqual([['CreateGroup', 'Engineering']]);
    expect(report.entries[1].writes.map((write) => [write.action, write.userName, write.groupDisplayName])).toEqual([
      ['CreateUser', 'ada.lovelace', undefined],
      ['CreateGroupMembership', 'ada.lovelace', 'Engineering'],
    ]);
    expect(report.entries[1].writes[0].changes).toEqual(expect.arrayContaining([{ path: 'title', after: 'Staff Engineer' }]));
    expect(report.writeCount).toBe(3);
    expect(Object.values(report.totals).reduce((a, b) => a + b, 0)).toBe(entries.length);

    const table = await plan(['--events', file, ...endpoints]);
    expect(table.code).toBe(2);
    expect(table.stdout).toMatch(/#3 u1 user\.upserted from onboarding superseded/);
    expect(table.stdout).toMatch(/title: \(not set\) → "Staff Engineer"/);
    // The summary is wrapped to the width: read it as one line.
    expect(table.stdout.replace(/\s+/g, ' ')).toMatch(/Plan: 7 entries: 2 would apply, 1 superseded, 2 rejected, 1 duplicate, 1 refused at the door\. 3 writes \(1 CreateGroup, 1 CreateUser, 1 CreateGroupMembership\)\./);

    // Nothing reached the store.
    expect(emulator.writes()).toEqual([]);
    expect(emulator.stats().successfulWrites).toBe(0);
  });

  it('--local-dir of a running npm start reads its endpoints (endpoints.json, its lock alive), not its files', async () => {
    const running = join(workDir, 'running');
    mkdirSync(running);
    // As npm start leaves them while it runs: its lock (this live process stands in) and its endpoints.
    writeFileSync(join(running, 'run.lock'), JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), command: 'npm start' }));
    writeFileSync(
      join(running, 'endpoints.json'),
      JSON.stringify({ dynamodbEndpoint: dynamo.endpoint, identityStoreEndpoint: emulator.endpoint, auditTableName: LOCAL_NAMES.tables.audit, region: 'us-east-1' }),
    );
    const callsBefore = emulator.stats().totalCalls;
    const result = await plan(['--events', events, '--local-dir', running]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(2);
    expect(result.stdout).toContain(`plan: the running npm start in ${running} (${emulator.endpoint}`);
    expect(result.stdout).toMatch(/CreateGroup group Engineering/);
    // It read the running store (a GetGroupId), and wrote nothing to it.
    expect(emulator.stats().totalCalls).toBeGreaterThan(callsBefore);
    expect(emulator.writes()).toEqual([]);
  });

  it('notes an entry about a person an earlier entry changes through another door: the apply may take them in the other order', async () => {
    const file = join(workDir, 'two-doors.jsonl');
    // The leaver names the person by their external id; the last entry by their name: the joiner ties the two.
    const workday = { Issuer: 'workday', Id: 'W-1001' };
    const leaver = { producer: 'hr', event: { id: 'd1', type: 'user.deleted', occurredAt: at(9), actor: 'hr-system', data: { externalId: workday } } };
    const byName = { id: 'd2', type: 'user.deleted', occurredAt: at(10), actor: 'hr-system', data: { userName: 'ada.lovelace' } };
    writeFileSync(file, [joiner('ada.lovelace', 'u1', 2, { ExternalIds: [workday] }), leaver, joiner('grace.hopper', 'u2', 3), byName].map((entry) => JSON.stringify(entry)).join('\n'));
    const result = await plan(['--events', file, '--format', 'json', ...endpoints]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as { entries: { eventId: string; producer: string; outcome: string; orderNote?: string; writes: { action: string }[] }[] };
    expect(report.entries.map((entry) => [entry.eventId, entry.producer, entry.outcome])).toEqual([
      ['u1', 'onboarding', 'APPLIED'],
      ['d1', 'hr', 'APPLIED'],
      ['u2', 'onboarding', 'APPLIED'],
      ['d2', 'onboarding', 'NOOP'],
    ]);
    expect(report.entries[1].writes.map((write) => write.action)).toEqual(['DeleteUser']);
    expect(report.entries[1].orderNote).toMatch(/entry 1 is about the same person and comes through another door \(onboarding vs hr\)/);
    expect(report.entries[3].orderNote).toMatch(/entry 2 is about the same person and comes through another door \(hr vs onboarding\)/);
    expect(report.entries[0].orderNote).toBeUndefined();
    expect(report.entries[2].orderNote).toBeUndefined();
    const table = await plan(['--events', file, ...endpoints]);
    expect(table.stdout.replace(/\s+/g, ' ')).toMatch(/2 entries may be applied in another order than planned/);
  });

  it('an id the function forgot (its event rejected) is read again: a corrected event with it applies, the same event is rejected again', async () => {
    const file = join(workDir, 'corrected.jsonl');
    const portal = (id: string, groupName: string, minute: number) => ({
      producer: 'access-portal',
      event: { id, type: 'membership.added', occurredAt: at(minute), actor: 'portal', data: { userName: 'ada.lovelace', groupDisplayName: groupName } },
    });
    writeFileSync(
      file,
      [group('app-wiki', 'g1', 1), joiner('ada.lovelace', 'u1', 2), portal('m1', 'Finance', 3), portal('m1', 'app-wiki', 3), portal('m2', 'Payroll', 4), portal('m2', 'Payroll', 4)]
        .map((entry) => JSON.stringify(entry))
        .join('\n'),
    );
    const result = await plan(['--events', file, '--format', 'json', ...endpoints]);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as { entries: { eventId: string; outcome: string; errorCode?: string; writes: { action: string; groupDisplayName?: string }[] }[] };
    expect(report.entries.map((entry) => [entry.eventId, entry.outcome, entry.errorCode])).toEqual([
      ['g1', 'APPLIED', undefined],
      ['u1', 'APPLIED', undefined],
      ['m1', 'REJECTED', 'PRODUCER_NOT_ALLOWED'],
      ['m1', 'APPLIED', undefined],
      ['m2', 'REJECTED', 'PRODUCER_NOT_ALLOWED'],
      ['m2', 'REJECTED', 'PRODUCER_NOT_ALLOWED'],
    ]);
    expect(report.entries[3].writes.map((write) => [write.action, write.groupDisplayName])).toEqual([['CreateGroupMembership', 'app-wiki']]);
    expect(result.code).toBe(2);
  });

  it('a deletion beyond the deletion cap is held (the apply waits for the window)', async () => {
    const settings = join(workDir, 'cap-1.json');
    writeFileSync(settings, JSON.stringify({ deletionCap: 1 }));
    const leaver = (id: string, userName: string, minute: number) => ({ id, type: 'user.deleted', occurredAt: at(minute), actor: 'hr-system', data: { userName } });
    const file = join(workDir, 'cap.jsonl');
    writeFileSync(file, [joiner('ada.lovelace', 'u1', 1), joiner('alan.turing', 'u2', 2), leaver('d1', 'ada.lovelace', 3), leaver('d2', 'alan.turing', 4)].map((e) => JSON.stringify(e)).join('\n'));
    const result = await plan(['--events', file, '--format', 'json', '--settings', settings, ...endpoints]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as { entries: { eventId: string; outcome: string; errorCode?: string; reason?: string; writes: { action: string }[] }[] };
    expect(report.entries.map((entry) => [entry.eventId, entry.outcome, entry.errorCode])).toEqual([
      ['u1', 'APPLIED', undefined],
      ['u2', 'APPLIED', undefined],
      ['d1', 'APPLIED', undefined],
      ['d2', 'HELD', 'DELETION_CAP_REACHED'],
    ]);
    expect(report.entries[3].writes).toEqual([]);
    expect(report.entries[3].reason).toEqual(expect.any(String));
    const table = await plan(['--events', file, '--settings', settings, ...endpoints]);
    expect(table.stdout).toMatch(/#4 d2 user\.deleted from onboarding held by the deletion cap/);
  });

  it('a plan whose only change is a held deletion is a change: exit 2', async () => {
    // Someone already in the store (not written by a plan: seeded into the emulator), and a cap of 0.
    emulator.seedUser(STORE, { UserName: 'old.timer', DisplayName: 'Old Timer', Name: { GivenName: 'Old', FamilyName: 'Timer' } });
    const settings = join(workDir, 'cap-0.json');
    writeFileSync(settings, JSON.stringify({ deletionCap: 0 }));
    const file = join(workDir, 'leaver.jsonl');
    writeFileSync(file, JSON.stringify({ id: 'd9', type: 'user.deleted', occurredAt: at(9), actor: 'hr-system', data: { userName: 'old.timer' } }));
    const result = await plan(['--events', file, '--settings', settings, ...endpoints]);
    expect(result.stderr).toBe('');
    expect(result.stdout.replace(/\s+/g, ' ')).toMatch(/Plan: 1 entry: 1 held by the deletion cap\. 0 writes\./);
    expect(result.code).toBe(2);
  });

  it('an EventBridge entry with a source no producer declares is refused by the bus policy', async () => {
    const file = join(workDir, 'stranger.jsonl');
    const entry = { producer: 'hr', event: { source: 'someone.else', 'detail-type': 'group.upserted', detail: group('Stranger', 's1', 1) } };
    writeFileSync(file, JSON.stringify(entry));
    const result = await plan(['--events', file, '--format', 'json', ...endpoints]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { entries: { outcome: string; errorCode?: string; reason?: string }[] };
    expect(report.entries).toEqual([expect.objectContaining({ outcome: 'REFUSED', errorCode: 'NotAuthorizedForSourceException', reason: expect.stringMatching(/source "someone\.else" is no declared producer's/) })]);
  });

  it('a membership that arrives before its group waits for it, redelivered as the queue would', async () => {
    const file = join(workDir, 'early-membership.jsonl');
    const membership = { id: 'm1', type: 'membership.added', occurredAt: at(3), actor: 'hr-system', data: { userName: 'alan.turing', groupDisplayName: 'Research' } };
    writeFileSync(file, [joiner('alan.turing', 'u1', 1), membership, group('Research', 'g1', 2)].map((e) => JSON.stringify(e)).join('\n'));
    const result = await plan(['--events', file, '--format', 'json', ...endpoints]);
    const report = JSON.parse(result.stdout) as { entries: { eventId: string; outcome: string; deliveries: number; writes: { action: string }[] }[] };
    expect(report.entries.map((entry) => [entry.eventId, entry.outcome, entry.deliveries, entry.writes.map((write) => write.action)])).toEqual([
      ['u1', 'APPLIED', 1, ['CreateUser']],
      ['m1', 'APPLIED', 2, ['CreateGroupMembership']],
      ['g1', 'APPLIED', 1, ['CreateGroup']],
    ]);
    const table = await plan(['--events', file, ...endpoints]);
    expect(table.stdout).toMatch(/#2 m1 membership\.added from onboarding would apply \(on delivery 2\) 1 write/);
  });

  it('a plan with nothing to write exits 0', async () => {
    const file = join(workDir, 'rejected-only.jsonl');
    writeFileSync(file, JSON.stringify({ ...group('x', 'bad', 1), type: 'group.renamed' }));
    const result = await plan(['--events', file, ...endpoints]);
    expect(result.code).toBe(0);
    expect(result.stdout.replace(/\s+/g, ' ')).toMatch(/Plan: 1 entry: 1 rejected\. 0 writes\./);
  });

  it('--producer names an undeclared producer: exit 1', async () => {
    const result = await plan(['--events', events, '--producer', 'nobody', ...endpoints]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--producer: "nobody" is not a declared producer/);
  });
});
