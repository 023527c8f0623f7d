/**
 * A person, not a name, through the real commands: events applied by the real engine against the
 * Identity Store emulator and dynalite (real SDK clients), then `npm run audit` (tsx cli/audit.ts)
 * as a child process against that DynamoDB endpoint.
 *
 * Ada joins as `ada` with HR id HR/E1001 in Engineering, is renamed to `ada.lovelace` then to
 * `ada.byron`, and moves from Engineering to Platform. Later someone else is hired as `ada`.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { DeleteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { main } from '../../cli/audit';
import { runCaptured } from '../support/captured-command';
import { DynamoDbAuditLog } from '../../lambdas/adapters/dynamodb-audit-log';
import { DynamoDbProcessingState } from '../../lambdas/adapters/dynamodb-processing-state';
import { IdentityStoreAdapter } from '../../lambdas/adapters/identity-store';
import { createIdentityStoreClient } from '../../lambdas/adapters/identity-store-client';
import type { AuditLogPort, OutcomeRecord } from '../../lambdas/domain/ports';
import { processDelivery, type ProcessSettings } from '../../lambdas/domain/process-event';
import { startEmulator, type RunningEmulator } from '../../local/emulator';
import { useDynalite } from '../support/dynalite';
import { at, events, OCCURRED_AT_BOUNDS, person } from '../support/events';
import { fullGrantQueueProducer, TEST_ORIGIN } from '../support/producers';

const STORE = 'd-1234567890';
const REPO = path.resolve(__dirname, '..', '..');
const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');
const settings: ProcessSettings = {
  identityStoreId: STORE,
  managedGroupScope: { kind: 'created' },
  maxMembershipRemovalsPerEvent: 5,
  deletionCap: 10,
  deletionWindowSeconds: 3_600,
  producers: [fullGrantQueueProducer()],
  occurredAtBounds: OCCURRED_AT_BOUNDS,
  redeliveryBaseDelaySeconds: 1,
};

const dynamo = useDynalite();
let emulator: RunningEmulator;
const outcomes: OutcomeRecord[] = [];
/** Points in time between the steps, for --at. */
const moments: Record<string, string> = {};
let adaId: string;
let newAdaId: string;
let alanId: string;

const HR = { Issuer: 'HR', Id: 'E1001' };
const adaAs = (UserName: string) => ({ ...person(UserName), DisplayName: 'Ada Lovelace', ExternalIds: [HR] });

async function deliver(event: unknown, options: { receiveCount?: number; loseWriteRecord?: boolean } = {}): Promise<OutcomeRecord> {
  const { client } = createIdentityStoreClient({ region: 'us-east-1', endpoint: emulator.endpoint, credentials: { accessKeyId: 't', secretAccessKey: 't' }, requestsPerSecond: 50, burst: 5 });
  const { documentClient, tables } = dynamo.current;
  const result = await processDelivery(
    JSON.stringify(event),
    { messageId: `m-${outcomes.length}`, receiveCount: options.receiveCount ?? 1, maxReceiveCount: 5, receivedAt: new Date(), deadline: new Date(Date.now() + 60_000), origin: TEST_ORIGIN },
    {
      identityStore: new IdentityStoreAdapter({ client, identityStoreId: STORE }),
      state: new DynamoDbProcessingState({ client: documentClient, tableName: tables.state }),
      audit: auditPort(new DynamoDbAuditLog({ client: documentClient, tableName: tables.audit, retentionDays: 0 }), options.loseWriteRecord ?? false),
      clock: { now: () => new Date() },
      publisher: { publish: async () => undefined },
      pause: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    },
    settings,
    { waitedMs: 0 },
  );
  client.destroy();
  outcomes.push(result.record);
  return result.record;
}

/** The trail, or one whose WRITE records are lost (an audit outage right after the write was made). */
function auditPort(log: DynamoDbAuditLog, loseWriteRecord: boolean): AuditLogPort {
  return {
    recordIntent: (record) => log.recordIntent(record),
    recordWrite: async (record) => {
      if (loseWriteRecord) throw new Error('audit table unavailable');
      return log.recordWrite(record);
    },
    recordOutcome: (record) => log.recordOutcome(record),
  };
}

/** A moment strictly between the records before it and those after (record times are in ms). */
async function mark(name: string): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 5));
  moments[name] = new Date().toISOString();
  await new Promise((resolve) => setTimeout(resolve, 5));
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
const target = () => ['--dynamodb-endpoint', dynamo.current.endpoint, '--table', dynamo.current.tables.audit];

/** `npm run audit -- ...` as a user runs it: a child process. */
function auditProcess(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(TSX, ['cli/audit.ts', ...args, ...target()], { cwd: REPO, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The same command's main, in this process (a child process costs seconds; a few tests above use one). */
function audit(...args: string[]): Promise<Run> {
  return runCaptured(() => main([...args, ...target()]));
}

async function historyJson(...args: string[]): Promise<Record<string, unknown>[]> {
  const run = await audit(...args, '--format', 'json');
  expect(run).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(run.stdout) as Record<string, unknown>[];
}

beforeAll(async () => {
  emulator = await startEmulator({ identityStoreIds: [STORE], tps: 0 });
  await deliver(events.groupUpserted('Engineering', { at: at(1), id: 'evt-eng' }));
  await deliver(events.groupUpserted('Platform', { at: at(2), id: 'evt-plat' }));
  await mark('beforeJoin');
  const joined = await deliver({ ...events.userUpserted(adaAs('ada'), { at: at(3), id: 'evt-join', groups: ['Engineering'] }), actor: 'hr-onboarding' });
  expect(joined).toMatchObject({ outcome: 'APPLIED' });
  adaId = joined.userId!;
  await mark('inEngineering');
  expect(await deliver(events.userUpserted(adaAs('ada.lovelace'), { at: at(4), id: 'evt-rename-1' }))).toMatchObject({ outcome: 'APPLIED', userId: adaId });
  expect(await deliver(events.userUpserted(adaAs('Ada.Byron'), { at: at(5), id: 'evt-rename-2' }))).toMatchObject({ outcome: 'APPLIED', userId: adaId });
  await mark('beforeMove');
  expect(await deliver({ ...events.userUpserted(adaAs('Ada.Byron'), { at: at(6), id: 'evt-move', groups: ['Platform'] }), actor: 'hr-transfers' })).toMatchObject({ outcome: 'APPLIED' });
  await mark('afterMove');
  // The name `ada` is free again: somebody else is hired under it.
  const other = await deliver(events.userUpserted({ ...person('ada'), ExternalIds: [{ Issuer: 'HR', Id: 'E2002' }] }, { at: at(7), id: 'evt-new-ada', groups: ['Engineering'] }));
  expect(other).toMatchObject({ outcome: 'APPLIED' });
  newAdaId = other.userId!;
  const alan = await deliver(events.userUpserted({ ...person('alan'), ExternalIds: [{ Issuer: 'https://hr.example.com/people', Id: 'E/77' }] }, { at: at(7), id: 'evt-alan' }));
  alanId = alan.userId!;
  expect(newAdaId).not.toBe(adaId);
}, 60_000);

afterAll(async () => {
  await emulator?.stop();
});

const ADA_EVENTS = ['evt-join', 'evt-rename-1', 'evt-rename-2', 'evt-move'];
const eventsOf = (records: Record<string, unknown>[], userId: string) => [...new Set(records.filter((r) => r.userId === userId).map((r) => r.eventId))];

describe('audit user: a person across renames', () => {
  it.each([['ada.lovelace'], ['ADA.LOVELACE'], ['ada.byron'], ['Ada.Byron']])('found by a name she had (%s), with her whole history', async (name) => {
    const records = await historyJson('user', name);
    expect(eventsOf(records, adaId)).toEqual(ADA_EVENTS);
    // Each row carries the name she had at that time.
    const names = records.filter((r) => r.userId === adaId && r.kind === 'OUTCOME').map((r) => [r.eventId, r.userName]);
    expect(names).toEqual([
      ['evt-join', 'ada'],
      ['evt-rename-1', 'ada.lovelace'],
      ['evt-rename-2', 'Ada.Byron'],
      ['evt-move', 'Ada.Byron'],
    ]);
  });

  it('found by her UserId, with the same history', async () => {
    const byId = await historyJson('user', adaId);
    expect(eventsOf(byId, adaId)).toEqual(ADA_EVENTS);
    expect(byId.every((r) => r.userId === adaId)).toBe(true);
  });

  it('found by her ExternalId (the command as a user runs it)', async () => {
    const run = await auditProcess('user', '--external-id', 'HR/E1001', '--format', 'json');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const byHr = JSON.parse(run.stdout) as Record<string, unknown>[];
    expect(eventsOf(byHr, adaId)).toEqual(ADA_EVENTS);
    expect(byHr.every((r) => r.userId === adaId)).toBe(true);
    expect(await historyJson('user', '--external-id', 'HR/E9999')).toEqual([]);
    // An issuer is often a URL, and an id may hold a slash: every slash is tried as the place they meet.
    const alan = await historyJson('user', '--external-id', 'https://hr.example.com/people/E/77');
    expect(eventsOf(alan, alanId)).toEqual(['evt-alan']);
    expect(await historyJson('user', '--external-id', 'https://hr.example.com/people/E/78')).toEqual([]);
  });

  it('a reused name names both persons, each apart with their own history', async () => {
    const run = await audit('user', 'ada');
    expect(run.code).toBe(0);
    // Headers wrap at 80 columns like the table: read them unwrapped.
    run.stdout = run.stdout.replace(/\n(?!\d{4}-|TIME|Person)/g, ' ');
    expect(run.stdout).toContain(`Person ${adaId}: ada -> ada.lovelace -> Ada.Byron; ExternalIds HR/E1001`);
    expect(run.stdout).toContain(`Person ${newAdaId}: ada; ExternalIds HR/E2002`);
    const records = await historyJson('user', 'ada');
    expect(eventsOf(records, adaId)).toEqual(ADA_EVENTS);
    expect(eventsOf(records, newAdaId)).toEqual(['evt-new-ada']);
  });

  it('the table shows one unbroken history under one header, the rename with its before and after', async () => {
    const run = await auditProcess('user', 'ada.lovelace');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const lines = run.stdout.split('\n');
    expect(lines.every((line) => line.length <= 80)).toBe(true);
    expect(`${lines[0]} ${lines[1]}`).toBe(`Person ${adaId}: ada -> ada.lovelace -> Ada.Byron; ExternalIds HR/E1001 (${lines.filter((line) => /^\d{4}-/.test(line)).length} records)`);
    expect(run.stdout).toMatch(/evt-rename-1 +ada.lovelace +UpdateUser userName/);
    expect(run.stdout).toMatch(/evt-rename-2 +Ada.Byron +UpdateUser userName/);
    expect(run.stdout).not.toContain(newAdaId);
  });

  it('records written before byPerson existed are still found, through the names', async () => {
    // Take the byPerson key off one of her WRITE records, as an older version wrote it.
    const { documentClient, tables } = dynamo.current;
    const { items } = await rawItems('evt-join');
    const write = items.find((item) => item.kind === 'WRITE' && item.action === 'CreateUser')!;
    const { personKey: _dropped, ...legacy } = write;
    await documentClient.send(new DeleteCommand({ TableName: tables.audit, Key: { pk: write.pk, sk: write.sk } }));
    await new DynamoDbAuditLog({ client: documentClient, tableName: tables.audit, retentionDays: 0 })['put'](legacy);
    const records = await historyJson('user', adaId);
    expect(records.some((r) => r.eventId === 'evt-join' && r.action === 'CreateUser')).toBe(true);
  });

  it('exits 2 on --external-id without a slash, or with a name as well', async () => {
    expect(await auditProcess('user', '--external-id', 'E1001')).toMatchObject({ code: 2, stderr: expect.stringContaining('--external-id must be ISSUER/ID') });
    for (const bad of ['HR/', '/E1001', 'HR /E1001', `HR/${'x'.repeat(600)}`]) {
      expect(await audit('user', '--external-id', bad)).toMatchObject({ code: 2, stderr: expect.stringContaining('--external-id must be ISSUER/ID') });
    }
    expect(await audit('user', 'ada', '--external-id', 'HR/E1001')).toMatchObject({ code: 2, stderr: expect.stringContaining('not both') });
    expect(await audit('changes', '--since', '1d', '--at', '1h')).toMatchObject({ code: 2, stderr: expect.stringContaining('--at applies to') });
  });
});

describe('audit members and groups-of at a point in time', () => {
  it('members --at before and after the move', async () => {
    const before = JSON.parse((await audit('members', 'engineering', '--at', moments.beforeMove!, '--format', 'json')).stdout);
    expect(before).toHaveLength(1);
    expect(before[0].members).toEqual([
      expect.objectContaining({ userId: adaId, userName: 'Ada.Byron', eventId: 'evt-join', actor: 'hr-onboarding', producer: 'tests', how: 'added' }),
    ]);
    const after = JSON.parse((await audit('members', 'Engineering', '--at', moments.afterMove!, '--format', 'json')).stdout);
    expect(after[0].members).toEqual([]);
    const platform = JSON.parse((await audit('members', 'Platform', '--at', moments.afterMove!, '--format', 'json')).stdout);
    expect(platform[0].members).toEqual([expect.objectContaining({ userId: adaId, eventId: 'evt-move', actor: 'hr-transfers' })]);
    const beforeJoin = JSON.parse((await audit('members', 'Engineering', '--at', moments.beforeJoin!, '--format', 'json')).stdout);
    expect(beforeJoin[0].members).toEqual([]);
  });

  it('members without --at: now, as a table naming who, since when, by which event', async () => {
    const run = await audit('members', 'Engineering');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.every((line) => line.length <= 80)).toBe(true);
    expect(`${lines[0]} ${lines[1]}`).toMatch(/^Engineering \(GroupId [^)]+\) at \S+: 1 member$/);
    expect(lines[2]).toBe(`ada (UserId ${newAdaId})`);
    expect(lines.slice(3).join(' ').replace(/ +/g, ' ')).toMatch(/^ added \S+Z by event evt-new-ada, producer tests, actor hr-system$/);
  });

  it('the name at that time: she was ada when she joined, and members --at says so', async () => {
    const joined = JSON.parse((await audit('members', 'Engineering', '--at', moments.inEngineering!, '--format', 'json')).stdout);
    expect(joined[0].members).toEqual([expect.objectContaining({ userId: adaId, userName: 'ada' })]);
  });

  it('groups-of by any name, UserId or ExternalId, before and after the move', async () => {
    for (const who of [['Ada.Byron'], [adaId], ['--external-id', 'HR/E1001']]) {
      const before = JSON.parse((await audit('groups-of', ...who, '--at', moments.beforeMove!, '--format', 'json')).stdout);
      expect(before.map((p: { userId: string; groups: { groupDisplayName: string; eventId: string }[] }) => [p.userId, p.groups.map((g) => [g.groupDisplayName, g.eventId])])).toEqual([
        [adaId, [['Engineering', 'evt-join']]],
      ]);
      const after = JSON.parse((await audit('groups-of', ...who, '--at', moments.afterMove!, '--format', 'json')).stdout);
      expect(after[0].groups.map((g: { groupDisplayName: string }) => g.groupDisplayName)).toEqual(['Platform']);
    }
  });

  it('a member deleted is no longer a member; a group nobody had is said so', async () => {
    await deliver(events.userDeleted({ userName: 'ada' }, { at: at(8), id: 'evt-new-ada-leaves' }));
    await mark('afterLeave');
    const now = JSON.parse((await audit('members', 'Engineering', '--at', moments.afterLeave!, '--format', 'json')).stdout);
    expect(now[0].members).toEqual([]);
    // Grace joins Platform; her leaver's DeleteUser is made but its WRITE record is lost; the retry
    // finds her gone (NOOP, naming her UserId): that outcome ends her membership.
    const grace = await deliver(events.userUpserted(person('grace'), { at: at(9), id: 'evt-grace', groups: ['Platform'] }));
    await mark('graceJoined');
    expect(await deliver(events.userDeleted({ userName: 'grace' }, { at: at(10), id: 'evt-grace-leaves' }), { loseWriteRecord: true })).toMatchObject({ outcome: 'RETRYING' });
    expect(await deliver(events.userDeleted({ userName: 'grace' }, { at: at(10), id: 'evt-grace-leaves' }), { receiveCount: 2 })).toMatchObject({ outcome: 'NOOP', userId: grace.userId });
    await mark('graceGone');
    const platformWith = JSON.parse((await audit('members', 'Platform', '--at', moments.graceJoined!, '--format', 'json')).stdout);
    expect(platformWith[0].members.map((m: { userId: string }) => m.userId).sort()).toEqual([adaId, grace.userId].sort());
    const platformAfter = JSON.parse((await audit('members', 'Platform', '--at', moments.graceGone!, '--format', 'json')).stdout);
    expect(platformAfter[0].members.map((m: { userId: string }) => m.userId)).toEqual([adaId]);
    const graceGroups = JSON.parse((await audit('groups-of', grace.userId!, '--at', moments.graceGone!, '--format', 'json')).stdout);
    expect(graceGroups[0].groups).toEqual([]);

    const run = await audit('members', 'Nobody');
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toMatch(/^No group named Nobody existed at/);
  });
});

describe('--format html: one page to attach to a ticket', () => {
  it("a person's history: her names, her ExternalId, every event, no script", async () => {
    const run = await audit('user', 'ADA.BYRON', '--format', 'html');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^<!DOCTYPE html>/i);
    expect(run.stdout).toContain(`Person ${adaId}: ada -&gt; ada.lovelace -&gt; Ada.Byron; ExternalIds HR/E1001`);
    for (const eventId of ADA_EVENTS) expect(run.stdout).toContain(eventId);
    expect(run.stdout).not.toMatch(/<script/i);
  });

  it('members at a point in time, and a group history', async () => {
    const members = await audit('members', 'Platform', '--at', moments.afterMove!, '--format', 'html');
    expect(members.stdout).toMatch(/^<!DOCTYPE html>/i);
    expect(members.stdout).toContain(adaId);
    expect(members.stdout).toContain('evt-move');
    const group = await audit('group', 'Engineering', '--format', 'html');
    expect(group.stdout).toContain('evt-join');
    expect(group.stdout).toContain('Audit records: group Engineering');
  });
});

async function rawItems(eventId: string): Promise<{ items: Record<string, unknown>[] }> {
  const { documentClient, tables } = dynamo.current;
  const page = await documentClient.send(new QueryCommand({ TableName: tables.audit, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `EVENT#${eventId}` } }));
  return { items: page.Items ?? [] };
}
