/**
 * `npm run reconcile` as a user runs it, against a store `npm start` built: a roster that renames
 * one person (same ExternalId, new userName), moves one, adds a joiner and omits one. Planned, it
 * lists exactly those changes (and the deletion only with --offboard-missing); past the deletion
 * cap it is refused with the numbers; applied (npm start run for it), the emulator's store holds
 * the roster, read back with the real SDK client; a second reconcile has nothing to do.
 * CSV and JSON Lines rosters both.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetUserIdCommand,
  IdentitystoreClient,
  paginateListGroupMembershipsForMember,
  paginateListGroups,
  paginateListUsers,
} from '@aws-sdk/client-identitystore';
import { startEmulator } from '../../local/emulator';

jest.setTimeout(240_000);

const ROOT = join(__dirname, '../..');
const STORE = 'd-1234567890';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[]): Promise<Result> {
  return new Promise((done) => {
    execFile(command, args, { cwd: ROOT, timeout: 200_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const reconcile = (args: string[]) => run('npm', ['run', '--silent', 'reconcile', '--', ...args]);

let workDir: string;
let stateDir: string;

const group = (n: number, name: string) => ({ id: `seed-g${n}`, type: 'group.upserted', occurredAt: '2026-11-30T09:00:00Z', actor: 'seed', data: { group: { DisplayName: name } } });
const joiner = (n: number, userName: string, given: string, family: string, externalId: string, groups: string[]) => ({
  id: `seed-u${n}`,
  type: 'user.upserted',
  occurredAt: '2026-11-30T09:01:00Z',
  actor: 'seed',
  data: {
    user: { UserName: userName, DisplayName: `${given} ${family}`, Name: { GivenName: given, FamilyName: family }, ExternalIds: [{ Issuer: 'workday', Id: externalId }] },
    groups,
  },
});

/** The roster: ada renamed (W-1), grace moved to Platform, alan unchanged, barbara joins; edsger is left out. */
const ROSTER = [
  { userName: 'ada.lovelace', displayName: 'Ada Lovelace', givenName: 'Ada', familyName: 'Lovelace', externalId: 'workday/W-1', groups: ['Everyone', 'Engineering'] },
  { userName: 'grace', displayName: 'Grace Hopper', givenName: 'Grace', familyName: 'Hopper', externalId: 'workday/W-2', groups: ['Everyone', 'Platform'] },
  { userName: 'alan', displayName: 'Alan Turing', givenName: 'Alan', familyName: 'Turing', externalId: 'workday/W-3', groups: ['Everyone', 'Finance'] },
  { userName: 'barbara', displayName: 'Barbara Liskov', givenName: 'Barbara', familyName: 'Liskov', externalId: 'workday/W-5', groups: ['Everyone', 'Engineering'] },
];

function writeCsv(name: string, people: typeof ROSTER): string {
  const file = join(workDir, name);
  const header = 'userName,displayName,givenName,familyName,externalId,groups';
  const rows = people.map((p) => [p.userName, `"${p.displayName}"`, p.givenName, p.familyName, p.externalId, `"${p.groups.join('; ')}"`].join(','));
  // As a spreadsheet saves it: a byte order mark and CRLF.
  writeFileSync(file, `\uFEFF${[header, ...rows].join('\r\n')}\r\n`);
  return file;
}

function writeJsonl(name: string, people: typeof ROSTER): string {
  const file = join(workDir, name);
  writeFileSync(file, `${people.map((p) => JSON.stringify(p)).join('\n')}\n`);
  return file;
}

interface ReconcileJson {
  changes: boolean;
  events: { kind: string; subject: string; details: string[]; event: { id: string; type: string; actor: string; data: Record<string, unknown> } }[];
  missing: string[];
  problems: string[];
  plan?: { entries: { outcome: string; writes: { action: string; userName?: string; groupDisplayName?: string }[] }[] };
}

const kinds = (output: ReconcileJson) => output.events.map((e) => [e.kind, e.subject, e.event.type]);

/** The store npm start left, read with the real SDK client from an emulator over a copy of its file. */
async function storeContents(): Promise<{ users: string[]; groupsOf: Record<string, string[]> }> {
  const scratch = mkdtempSync(join(workDir, 'read-'));
  copyFileSync(join(stateDir, 'identitystore.json'), join(scratch, 'identitystore.json'));
  const emulator = await startEmulator({ identityStoreIds: [STORE], tps: 0, statePath: join(scratch, 'identitystore.json') });
  const client = new IdentitystoreClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const groupNames = new Map<string, string>();
    for await (const page of paginateListGroups({ client }, { IdentityStoreId: STORE })) for (const g of page.Groups ?? []) groupNames.set(g.GroupId!, g.DisplayName!);
    const users: string[] = [];
    const groupsOf: Record<string, string[]> = {};
    for await (const page of paginateListUsers({ client }, { IdentityStoreId: STORE })) {
      for (const user of page.Users ?? []) {
        users.push(user.UserName!);
        const groups: string[] = [];
        for await (const memberships of paginateListGroupMembershipsForMember({ client }, { IdentityStoreId: STORE, MemberId: { UserId: user.UserId! } })) {
          for (const m of memberships.GroupMemberships ?? []) groups.push(groupNames.get(m.GroupId!)!);
        }
        groupsOf[user.UserName!] = groups.sort();
      }
    }
    // GetUserId by name: the rename kept the person (the same UserId under the new name).
    await client.send(new GetUserIdCommand({ IdentityStoreId: STORE, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'ada.lovelace' } } }));
    return { users: users.sort(), groupsOf };
  } finally {
    client.destroy();
    await emulator.stop();
  }
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'reconcile-e2e-'));
  stateDir = join(workDir, 'state');
  const seed = [
    group(1, 'Everyone'),
    group(2, 'Engineering'),
    group(3, 'Platform'),
    group(4, 'Finance'),
    joiner(1, 'ada', 'Ada', 'Lovelace', 'W-1', ['Everyone', 'Engineering']),
    joiner(2, 'grace', 'Grace', 'Hopper', 'W-2', ['Everyone', 'Engineering']),
    joiner(3, 'alan', 'Alan', 'Turing', 'W-3', ['Everyone', 'Finance']),
    joiner(4, 'edsger', 'Edsger', 'Dijkstra', 'W-4', ['Everyone', 'Platform']),
  ];
  const seedFile = join(workDir, 'seed.jsonl');
  writeFileSync(seedFile, seed.map((e) => JSON.stringify(e)).join('\n'));
  const started = await run('npm', ['start', '--silent', '--', '--quiet', '--neighbour-tps', '0', '--events', seedFile, '--state-dir', stateDir]);
  expect({ code: started.code, stderr: started.code === 0 ? '' : started.stderr }).toEqual({ code: 0, stderr: '' });
});

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

it('plans a CSV roster: exactly the rename, the move and the joiner, no deletion (exit 2), and writes nothing', async () => {
  const roster = writeCsv('roster.csv', ROSTER);
  const result = await reconcile(['--roster', roster, '--local-dir', stateDir, '--format', 'json']);
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 2, stderr: '' });
  const output = JSON.parse(result.stdout) as ReconcileJson;
  expect(kinds(output)).toEqual([
    ['update', 'ada.lovelace', 'user.upserted'],
    ['update', 'grace', 'user.upserted'],
    ['join', 'barbara', 'user.upserted'],
  ]);
  expect(output.events.map((e) => e.details)).toEqual([['userName: "ada" -> "ada.lovelace"'], ['+Platform', '-Engineering'], ['new user', '+Everyone', '+Engineering']]);
  expect(output.events.every((e) => /^reconcile-[0-9a-f]{32}$/.test(e.event.id) && e.event.actor === 'roster-reconcile')).toBe(true);
  expect(output.missing).toEqual(['edsger']);
  // The plan is the function's own record path: the rename is an UpdateUser of the same user, not a new one.
  expect(output.plan!.entries.map((entry) => [entry.outcome, entry.writes.map((w) => w.action)])).toEqual([
    ['APPLIED', ['UpdateUser']],
    ['APPLIED', ['CreateGroupMembership', 'DeleteGroupMembership']],
    ['APPLIED', ['CreateUser', 'CreateGroupMembership', 'CreateGroupMembership']],
  ]);

  const table = await reconcile(['--roster', roster, '--local-dir', stateDir]);
  expect(table.code).toBe(2);
  expect(table.stdout).toContain('Not in the roster, kept (--offboard-missing offboards them): edsger');
  expect(table.stdout).toContain('Nothing was written.');
  expect(table.stdout).not.toContain('user.deleted');
  // Nothing was sent: no npm start was run, no events file written.
  expect(readdirSync(stateDir)).not.toContain('deliveries');
});

it('plans the offboarding with --offboard-missing, first, as a user.deleted', async () => {
  const result = await reconcile(['--roster', writeCsv('roster.csv', ROSTER), '--local-dir', stateDir, '--offboard-missing', '--format', 'json']);
  expect(result.code).toBe(2);
  const output = JSON.parse(result.stdout) as ReconcileJson;
  expect(kinds(output)).toEqual([
    ['offboard', 'edsger', 'user.deleted'],
    ['update', 'ada.lovelace', 'user.upserted'],
    ['update', 'grace', 'user.upserted'],
    ['join', 'barbara', 'user.upserted'],
  ]);
  expect(output.events[0].event.data).toEqual({ userName: 'edsger' });
  // One write: the Identity Store removes edsger's memberships with the user.
  expect(output.plan!.entries[0].writes.map((w) => w.action)).toEqual(['DeleteUser']);
});

it('holds the roster to the producer it is sent as: one that may not send user.upserted is refused, an undeclared one is a usage error (exit 1)', async () => {
  const roster = writeCsv('roster.csv', ROSTER);
  const portal = await reconcile(['--roster', roster, '--local-dir', stateDir, '--producer', 'access-portal']);
  expect(portal.code).toBe(1);
  expect(portal.stderr).toContain('producer "access-portal" may not send user.upserted (it may send membership.added, membership.removed)');
  const nobody = await reconcile(['--roster', roster, '--local-dir', stateDir, '--producer', 'onbording']);
  expect(nobody.code).toBe(1);
  expect(nobody.stderr).toMatch(/--producer: "onbording" is not a declared producer \(declared: [^)]*\bhr\b[^)]*\); did you mean onboarding\?/);
});

it('refuses to offboard more people than the deletion cap leaves, giving the numbers, and sends nothing (exit 1)', async () => {
  const settings = join(workDir, 'cap.json');
  writeFileSync(settings, JSON.stringify({ deletionCap: 2 }));
  const roster = writeJsonl('one.jsonl', [ROSTER[0]]);
  const result = await reconcile(['--roster', roster, '--local-dir', stateDir, '--settings', settings, '--offboard-missing', '--apply']);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(
    'refusing to offboard 3 people not in the roster: the deletion cap allows 2 deletions per 3600 s, 0 already made in the current window leave 2; none is offboarded',
  );
  expect(result.stdout).toContain('Not in the roster, not offboarded (see the refusal): alan, edsger, grace');
  expect(readdirSync(stateDir)).not.toContain('deliveries');
});

it('applies a JSON Lines roster with --apply (npm start run for it), the store then holds the roster, and a second reconcile has nothing to do', async () => {
  const roster = writeJsonl('roster.jsonl', ROSTER);
  const applied = await reconcile(['--roster', roster, '--local-dir', stateDir, '--offboard-missing', '--apply']);
  expect({ code: applied.code, stderr: applied.code === 0 ? '' : applied.stderr }).toEqual({ code: 0, stderr: '' });
  expect(applied.stderr).toContain(`No npm start is running on ${stateDir}: running npm start -- --events ${join(stateDir, 'deliveries')}`);
  const summary = JSON.parse(applied.stdout.split('\n').find((line) => line.startsWith('{"events"'))!) as Record<string, unknown>;
  expect(summary).toMatchObject({ events: 4, applied: 4, rejected: 0, failed: 0, pending: 0 });
  expect(applied.stdout).toMatch(/Delivered to npm start on .*: all 4 events, applied\./);

  const store = await storeContents();
  expect(store.users).toEqual(['ada.lovelace', 'alan', 'barbara', 'grace']);
  expect(store.groupsOf).toEqual({
    'ada.lovelace': ['Engineering', 'Everyone'],
    alan: ['Everyone', 'Finance'],
    barbara: ['Engineering', 'Everyone'],
    grace: ['Everyone', 'Platform'],
  });

  // The same roster again, as CSV: nothing to do.
  const again = await reconcile(['--roster', writeCsv('roster-again.csv', ROSTER), '--local-dir', stateDir, '--offboard-missing']);
  expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: '' });
  expect(again.stdout).toContain('No changes: the store matches the roster (4 people unchanged).');
});
