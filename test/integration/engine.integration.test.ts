/**
 * The engine with its real adapters: the real IdentitystoreClient (our retry strategy and limiter)
 * against the emulator with its quota and faults on, and the real DynamoDB adapters against dynalite.
 */
import {
  CreateGroupCommand,
  CreateGroupMembershipCommand,
  CreateUserCommand,
  DeleteGroupCommand,
  DeleteUserCommand,
  DescribeUserCommand,
  GetUserIdCommand,
  IdentitystoreClient,
  ListGroupMembershipsForMemberCommand,
  UpdateUserCommand,
} from '@aws-sdk/client-identitystore';
import { DynamoDbAuditLog } from '../../lambdas/adapters/dynamodb-audit-log';
import { DynamoDbAuditQuery } from '../../lambdas/adapters/dynamodb-audit-query';
import { DynamoDbProcessingState } from '../../lambdas/adapters/dynamodb-processing-state';
import { IdentityStoreAdapter } from '../../lambdas/adapters/identity-store';
import { createIdentityStoreClient } from '../../lambdas/adapters/identity-store-client';
import type { RetryNotice } from '../../lambdas/adapters/retry-after-strategy';
import { detectDrift } from '../../lambdas/domain/drift';
import { IdCache, withCachedLookups } from '../../lambdas/domain/id-cache';
import type { IdentityChange } from '../../lambdas/domain/identity-change';
import { subjectKey } from '../../lambdas/domain/ordering';
import type { AuditLogPort, OutcomeRecord } from '../../lambdas/domain/ports';
import type { RecordOrigin } from '../../lambdas/domain/producer';
import { processDelivery, type ProcessSettings } from '../../lambdas/domain/process-event';
import { startEmulator, type RunningEmulator } from '../../local/emulator';
import { ada, at, events, OCCURRED_AT_BOUNDS, person } from '../support/events';
import { startTestDynamo, useDynalite, type TestDynamo } from '../support/dynalite';
import { DRIFT_REPAIR_EVENT_TYPES, DRIFT_REPAIR_PRODUCER, type RuntimeProducer } from '../../lambdas/shared/producers';
import { fullGrantQueueProducer, TEST_ORIGIN } from '../support/producers';

const STORE = 'd-1234567890';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const settings: ProcessSettings = {
  identityStoreId: STORE,
  managedGroupScope: { kind: 'created' },
  maxMembershipRemovalsPerEvent: 5,
  deletionCap: 2,
  // One window spanning years: the cap test cannot straddle a window boundary.
  deletionWindowSeconds: 10 * 365 * 86_400,
  producers: [fullGrantQueueProducer()],
  occurredAtBounds: OCCURRED_AT_BOUNDS,
  redeliveryBaseDelaySeconds: 1,
};

const dynamo = useDynalite();

async function harness(
  emulatorOptions: Parameters<typeof startEmulator>[0],
  requestsPerSecond = 50,
  on: { dynamo: { readonly current: TestDynamo }; settings: ProcessSettings; idCacheMs?: number } = { dynamo, settings },
) {
  const emulator = await startEmulator({ identityStoreIds: [STORE], ...emulatorOptions });
  const retries: RetryNotice[] = [];
  const { client } = createIdentityStoreClient({
    region: 'us-east-1',
    endpoint: emulator.endpoint,
    credentials,
    requestsPerSecond,
    burst: 5,
    onRetry: (notice) => retries.push(notice),
  });
  const { documentClient, tables } = on.dynamo.current;
  const audit = new DynamoDbAuditLog({ client: documentClient, tableName: tables.audit, retentionDays: 0 });
  // An audit outage right after a write: the call was made, its WRITE record is lost.
  const faults = { loseWriteRecords: 0 };
  const auditPort: AuditLogPort = {
    recordIntent: (record) => audit.recordIntent(record),
    recordWrite: async (record) => {
      if (faults.loseWriteRecords-- > 0) throw new Error('audit table unavailable');
      return audit.recordWrite(record);
    },
    recordOutcome: (record) => audit.recordOutcome(record),
  };
  const state = new DynamoDbProcessingState({ client: documentClient, tableName: tables.state });
  // One cache for the harness, as a warm function instance keeps one across deliveries.
  const idCache = new IdCache(on.idCacheMs ?? 0, { now: () => new Date() });
  const query = new DynamoDbAuditQuery({ client: documentClient, tableName: tables.audit });
  const published: OutcomeRecord[] = [];
  let message = 0;
  const deliver = async (event: unknown, receiveCount = 1, origin: RecordOrigin = TEST_ORIGIN) => {
    const tally = { waitedMs: 0 };
    const adapter = new IdentityStoreAdapter({ client, identityStoreId: STORE, onCall: (c) => (tally.waitedMs += c.waitedMs) });
    const identityStore = withCachedLookups(adapter, idCache, STORE);
    return processDelivery(
      JSON.stringify(event),
      { messageId: `m-${++message}`, receiveCount, maxReceiveCount: 5, receivedAt: new Date(), deadline: new Date(Date.now() + 60_000), origin },
      { identityStore, state, audit: auditPort, clock: { now: () => new Date() }, publisher: { publish: async (r) => void published.push(r) }, pause: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) },
      on.settings,
      tally,
    );
  };
  const reader = new IdentitystoreClient({ region: 'us-east-1', endpoint: emulator.endpoint, credentials });
  const groupsOf = async (userId: string) => {
    const { GroupMemberships = [] } = await reader.send(
      new ListGroupMembershipsForMemberCommand({ IdentityStoreId: STORE, MemberId: { UserId: userId } }),
    );
    return GroupMemberships.map((m) => m.GroupId!);
  };
  return { emulator, client, reader, retries, deliver, query, groupsOf, published, state, audit, faults };
}

let current: { emulator: RunningEmulator; client: IdentitystoreClient; reader: IdentitystoreClient } | undefined;
afterEach(async () => {
  current?.client.destroy();
  current?.reader.destroy();
  await current?.emulator.stop();
  current = undefined;
});
const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;

describe('engine against the emulator and dynalite', () => {
  it('applies a duplicate once: one CreateUser in the store, NOOP the second time', async () => {
    const h = (current = await harness({ tps: 0 }));
    const event = events.userUpserted(ada({ UserName: unique('ada') }), { id: unique('dup') });
    const first = await h.deliver(event);
    const second = await h.deliver(event, 2);
    expect([first.record.outcome, second.record.outcome]).toEqual(['APPLIED', 'NOOP']);
    expect(h.emulator.writes().filter((w) => w.action === 'CreateUser')).toHaveLength(1);
    const history = await h.query.eventHistory(event.id);
    expect(history.records.filter((r) => r.kind === 'OUTCOME').map((r) => r.kind === 'OUTCOME' && r.outcome)).toEqual(['APPLIED', 'NOOP']);
  });

  it('supersedes an older event that arrives after a newer one', async () => {
    const h = (current = await harness({ tps: 0 }));
    const userName = unique('late');
    const newer = await h.deliver(events.userUpserted({ ...person(userName), Title: 'new' }, { at: at(30) }));
    const older = await h.deliver(events.userUpserted({ ...person(userName), Title: 'old' }, { at: at(20) }));
    expect(older.record.outcome).toBe('SUPERSEDED');
    const user = await h.reader.send(new DescribeUserCommand({ IdentityStoreId: STORE, UserId: newer.record.userId! }));
    expect(user.Title).toBe('new');
  });

  it('honours RetryAfterSeconds when the quota throttles, and the events all apply', async () => {
    // A client allowed 50 rps against a 2 rps quota: the quota, not the limiter, decides.
    const h = (current = await harness({ tps: 2, burst: 2 }));
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) => h.deliver(events.groupUpserted(unique(`quota-${i}`)))),
    );
    expect(results.map((r) => r.record.outcome)).toEqual(['APPLIED', 'APPLIED', 'APPLIED', 'APPLIED']);
    const throttled = h.retries.filter((r) => r.errorName === 'ThrottlingException');
    expect(throttled.length).toBeGreaterThan(0);
    for (const retry of throttled) {
      expect(retry.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(retry.delayMs).toBeGreaterThanOrEqual(retry.retryAfterSeconds! * 1000);
    }
    expect(results.some((r) => r.record.waitedMs >= 1000)).toBe(true);
  });

  it('converges under injected faults (throttles, 500s, conflicts, dropped connections)', async () => {
    const h = (current = await harness({ tps: 0, faults: 'throttle=0.1,server=0.1,conflict=0.1,drop=0.05,retryAfter=1', seed: 7 }));
    const groups = [unique('g1'), unique('g2')];
    for (const group of groups) expect((await h.deliver(events.groupUpserted(group))).record.outcome).toBe('APPLIED');
    const joined = await h.deliver(events.userUpserted(ada({ UserName: unique('faulty') }), { groups }));
    expect(joined.record.outcome).toBe('APPLIED');
    expect(await h.groupsOf(joined.record.userId!)).toHaveLength(2);
    const faults = h.emulator.stats().faults;
    expect(faults.throttle + faults.server + faults.conflict + faults.drop).toBeGreaterThan(0);
  });

  it('renames by ExternalId instead of creating a second person', async () => {
    const h = (current = await harness({ tps: 0 }));
    const ext = { Issuer: 'workday', Id: unique('W') };
    const before = await h.deliver(events.userUpserted({ ...person(unique('old')), ExternalIds: [ext] }, { at: at(1) }));
    const newName = unique('new');
    const after = await h.deliver(events.userUpserted({ ...person(newName), ExternalIds: [ext] }, { at: at(2) }));
    expect(after.record.userId).toBe(before.record.userId);
    const user = await h.reader.send(new DescribeUserCommand({ IdentityStoreId: STORE, UserId: after.record.userId! }));
    expect(user.UserName).toBe(newName);
  });

  it('holds deletions over the cap back as retryable, with the wait owed', async () => {
    const h = (current = await harness({ tps: 0 }));
    const names = [unique('a'), unique('b'), unique('c')];
    for (const name of names) await h.deliver(events.userUpserted(person(name), { at: at(1) }));
    const outcomes = [];
    for (const name of names) outcomes.push(await h.deliver(events.userDeleted({ userName: name }, { at: at(2) })));
    expect(outcomes.map((o) => o.record.outcome)).toEqual(['APPLIED', 'APPLIED', 'RETRYING']);
    const held = outcomes[2];
    expect(held.record.errorCode).toBe('DELETION_CAP_REACHED');
    expect(held.failure?.owedWaitMs).toBeGreaterThan(0);
    expect(h.emulator.writes().filter((w) => w.action === 'DeleteUser')).toHaveLength(2);
  });

  it('retries an event naming a group that does not exist yet, then applies it', async () => {
    const h = (current = await harness({ tps: 0 }));
    const group = unique('later');
    const joiner = events.userUpserted(person(unique('early')), { groups: [group], at: at(5) });
    const first = await h.deliver(joiner);
    expect(first.record).toMatchObject({ outcome: 'RETRYING', errorCode: 'GROUP_NOT_FOUND' });
    await h.deliver(events.groupUpserted(group, { at: at(1) }));
    const second = await h.deliver(joiner, 2);
    expect(second.record.outcome).toBe('APPLIED');
    expect(await h.groupsOf(second.record.userId!)).toHaveLength(1);
  });

  it('rejects a bad event with a reason that names the field and the rule, and records it', async () => {
    const h = (current = await harness({ tps: 0 }));
    const bad = { ...events.groupUpserted('AWSAdministrators'), id: unique('bad') };
    const result = await h.deliver(bad);
    expect(result.disposition.kind).toBe('deadLetter');
    expect(result.record.errorMessage).toBe('data.group.DisplayName: is reserved by IAM Identity Center (Administrator, AWSAdministrators)');
    const history = await h.query.eventHistory(bad.id);
    expect(history.records).toEqual([expect.objectContaining({ kind: 'OUTCOME', outcome: 'REJECTED' })]);
    expect(h.emulator.stats().totalCalls).toBe(0);
  });
});

describe('deletions against the emulator: the Identity Store removes the memberships', () => {
  // Its own tables: the cap test above uses up the other block's window.
  const deletionsDynamo = useDynalite();
  const deletions = () => harness({ tps: 0 }, 50, { dynamo: deletionsDynamo, settings: { ...settings, deletionCap: 10 } });

  it('user.deleted: one DeleteUser removes the memberships in every group, managed or not, and the trail ends them by the UserId', async () => {
    const h = (current = await deletions());
    const managed = unique('managed');
    expect((await h.deliver(events.groupUpserted(managed, { at: at(1) }))).record.outcome).toBe('APPLIED');
    const userName = unique('leaver');
    const joined = await h.deliver(events.userUpserted(person(userName), { groups: [managed], at: at(2) }));
    const userId = joined.record.userId!;
    const made = await h.reader.send(new CreateGroupCommand({ IdentityStoreId: STORE, DisplayName: unique('console') }));
    await h.reader.send(new CreateGroupMembershipCommand({ IdentityStoreId: STORE, GroupId: made.GroupId!, MemberId: { UserId: userId } }));
    expect(await h.groupsOf(userId)).toHaveLength(2);

    const journalBefore = h.emulator.writes().at(-1)!.sequence;
    h.emulator.resetStats();
    const leaver = events.userDeleted({ userName }, { at: at(3), id: unique('leave') });
    const result = await h.deliver(leaver);
    expect(result.record).toMatchObject({ outcome: 'APPLIED', userId, writes: 1 });
    expect(h.emulator.stats().callsByAction).toEqual({ GetUserId: 1, DescribeUser: 1, DeleteUser: 1 });
    const journal = h.emulator.writes(journalBefore);
    expect(journal.map((w) => [w.action, w.userId, w.removedMembershipIds?.length])).toEqual([['DeleteUser', userId, 2]]);
    const trail = (await h.query.eventHistory(leaver.id)).records;
    expect(trail.filter((r) => r.kind !== 'OUTCOME')).toEqual([
      expect.objectContaining({ kind: 'INTENT', action: 'DeleteUser', userId, sequence: 0 }),
      expect.objectContaining({ kind: 'WRITE', action: 'DeleteUser', userId, userName, sequence: 0, requestId: journal[0].requestId }),
    ]);
    expect(trail.find((r) => r.kind === 'OUTCOME')).toMatchObject({ outcome: 'APPLIED', userId });
  });

  it('group.deleted: one DeleteGroup removes its memberships, the members stay, and the trail ends them by the GroupId', async () => {
    const h = (current = await deletions());
    const group = unique('project');
    const created = await h.deliver(events.groupUpserted(group, { at: at(1) }));
    const members = [];
    for (const name of [unique('m1'), unique('m2')]) members.push((await h.deliver(events.userUpserted(person(name), { groups: [group], at: at(2) }))).record.userId!);

    const journalBefore = h.emulator.writes().at(-1)!.sequence;
    h.emulator.resetStats();
    const deletion = events.groupDeleted(group, { at: at(3), id: unique('gdel') });
    const result = await h.deliver(deletion);
    expect(result.record).toMatchObject({ outcome: 'APPLIED', groupId: created.record.groupId, writes: 1 });
    expect(h.emulator.stats().callsByAction).toEqual({ GetGroupId: 1, DeleteGroup: 1 });
    expect(h.emulator.writes(journalBefore).map((w) => [w.action, w.groupId, w.removedMembershipIds?.length])).toEqual([['DeleteGroup', created.record.groupId, 2]]);
    for (const member of members) expect(await h.groupsOf(member)).toEqual([]);
    const trail = (await h.query.eventHistory(deletion.id)).records;
    expect(trail.filter((r) => r.kind !== 'OUTCOME')).toEqual([
      expect.objectContaining({ kind: 'INTENT', action: 'DeleteGroup', groupId: created.record.groupId, sequence: 0 }),
      expect.objectContaining({ kind: 'WRITE', action: 'DeleteGroup', groupId: created.record.groupId, groupDisplayName: group, sequence: 0 }),
    ]);
    expect(trail.find((r) => r.kind === 'OUTCOME')).toMatchObject({ outcome: 'APPLIED', groupId: created.record.groupId });
  });
});

/** detectDrift with the real adapters, action repair, keeping the repair events it would send. */
async function drift(h: Awaited<ReturnType<typeof harness>>) {
  const sent: IdentityChange[] = [];
  const report = await detectDrift(
    {
      identityStore: new IdentityStoreAdapter({ client: h.client, identityStoreId: STORE }),
      state: h.state,
      applied: h.state,
      memory: h.state,
      audit: h.audit,
      publisher: { publishDrift: async () => undefined },
      repair: { send: async (repairs) => (sent.push(...repairs), { sent: repairs.length, failed: [] }) },
      clock: { now: () => new Date() },
      yieldToEvents: async () => undefined,
    },
    { identityStoreId: STORE, managedGroupScope: settings.managedGroupScope, action: 'repair' },
  );
  return { report, sent };
}

describe('a deletion whose WRITE record was lost (an audit outage right after the call), redelivered', () => {
  // Tables of its own per test: drift reads every applied fact in the state table.
  let own: TestDynamo | undefined;
  afterEach(async () => {
    await own?.stop();
    own = undefined;
  });
  const lossy = async () => {
    own = await startTestDynamo();
    return harness({ tps: 0 }, 50, { dynamo: { current: own }, settings: { ...settings, deletionCap: 10 } });
  };

  it.each([
    ['ExternalId', (_userName: string, externalId: { Issuer: string; Id: string }) => ({ externalId })],
    ['userName', (userName: string) => ({ userName })],
  ])('user.deleted by %s: the retry names the UserId, leaves the user-deleted fact and tombstones, and drift has no leaver to re-create', async (_by, named) => {
    const h = (current = await lossy());
    const group = unique('managed');
    expect((await h.deliver(events.groupUpserted(group, { at: at(1), id: unique('group') }))).record.outcome).toBe('APPLIED');
    const userName = unique('leaver');
    const externalId = { Issuer: 'workday', Id: unique('W') };
    const joined = await h.deliver(events.userUpserted({ ...person(userName), ExternalIds: [externalId] }, { groups: [group], at: at(2), id: unique('join') }));
    const userId = joined.record.userId!;
    expect((await drift(h)).report.findings).toEqual([]);

    const leaver = events.userDeleted(named(userName, externalId), { at: at(4), id: unique('leave') });
    h.faults.loseWriteRecords = 1;
    const first = await h.deliver(leaver);
    expect(first.record).toMatchObject({ outcome: 'RETRYING', errorCode: 'AUDIT_UNAVAILABLE' });
    expect(h.emulator.writes().filter((w) => w.action === 'DeleteUser').map((w) => w.userId)).toEqual([userId]);

    const second = await h.deliver(leaver, 2);
    expect(second.record).toMatchObject({ outcome: 'NOOP', writes: 0, userId, userName });
    expect(second.record.errorMessage).toBe('the user does not exist (already deleted): the user this service knew by these names is gone');

    // The applied fact, on the keys the event named and under the name the service gave the user.
    const tombstoned = [subjectKey.userName(userName), ...('externalId' in leaver.data ? [subjectKey.userExternalId(externalId)] : [])];
    const marks = await h.state.getWatermarks(tombstoned);
    expect(tombstoned.map((key) => marks.get(key))).toEqual(
      tombstoned.map(() => expect.objectContaining({ eventId: leaver.id, kind: 'deleted', applied: { kind: 'user-deleted', userId } })),
    );

    // The trail: attempt 1's DeleteUser by its intent only (the WRITE record was lost); the final
    // outcome names the same UserId, gone, and is in the user's history.
    const trail = (await h.query.eventHistory(leaver.id)).records;
    expect(trail.map((r) => [r.kind, r.attempt, r.kind === 'OUTCOME' ? r.outcome : r.kind === 'DRIFT' ? '' : r.action, r.userId])).toEqual([
      ['INTENT', 1, 'DeleteUser', userId],
      ['OUTCOME', 1, 'RETRYING', undefined],
      ['OUTCOME', 2, 'NOOP', userId],
    ]);
    const history = (await h.query.userTimeline(userName)).records;
    expect(history.filter((r) => r.eventId === leaver.id).at(-1)).toMatchObject({ kind: 'OUTCOME', outcome: 'NOOP', userId });

    // Drift: the facts say the user should not exist, and it does not: nothing to find, nothing sent.
    const { report, sent } = await drift(h);
    expect(report.findings).toEqual([]);
    expect(sent).toEqual([]);

    // A late joiner event under the name alone (older than the leave) cannot bring the leaver back.
    const late = await h.deliver(events.userUpserted(person(userName), { at: at(3), id: unique('late') }));
    expect(late.record.outcome).toBe('SUPERSEDED');
    expect(h.emulator.writes().filter((w) => w.action === 'CreateUser')).toHaveLength(1);
  });

  it('group.deleted: the retry names the GroupId, leaves the group-deleted fact and drops the creation intent, so a group made later under the name is not taken as ours', async () => {
    const h = (current = await lossy());
    const group = unique('project');
    const groupId = (await h.deliver(events.groupUpserted(group, { at: at(1), id: unique('group') }))).record.groupId!;
    const member = unique('member');
    expect((await h.deliver(events.userUpserted(person(member), { groups: [group], at: at(2), id: unique('join') }))).record.outcome).toBe('APPLIED');

    const deletion = events.groupDeleted(group, { at: at(3), id: unique('gdel') });
    h.faults.loseWriteRecords = 1;
    expect((await h.deliver(deletion)).record).toMatchObject({ outcome: 'RETRYING', errorCode: 'AUDIT_UNAVAILABLE' });
    const second = await h.deliver(deletion, 2);
    expect(second.record).toMatchObject({ outcome: 'NOOP', writes: 0, groupId, groupDisplayName: group });
    const mark = (await h.state.getWatermarks([subjectKey.group(group)])).get(subjectKey.group(group));
    expect(mark).toMatchObject({ eventId: deletion.id, kind: 'deleted', applied: { kind: 'group-deleted', groupId } });
    const trail = (await h.query.eventHistory(deletion.id)).records;
    expect(trail.map((r) => [r.kind, r.attempt, r.kind === 'OUTCOME' ? r.outcome : r.kind === 'DRIFT' ? '' : r.action, r.groupId])).toEqual([
      ['INTENT', 1, 'DeleteGroup', groupId],
      ['OUTCOME', 1, 'RETRYING', undefined],
      ['OUTCOME', 2, 'NOOP', groupId],
    ]);

    // Someone makes a group under the name in the console: it is not this service's to change.
    expect(await h.state.hasGroupCreationIntent(group)).toBe(false);
    await h.reader.send(new CreateGroupCommand({ IdentityStoreId: STORE, DisplayName: group }));
    const added = await h.deliver(events.membership('membership.added', member, group, { at: at(4), id: unique('add') }));
    expect(added.record).toMatchObject({ outcome: 'REJECTED', errorCode: 'GROUP_NOT_MANAGED' });
  });
});

describe('a warm id cache holding the id of a user or group deleted outside the service', () => {
  const staleDynamo = useDynalite();
  const warm = (scope: ProcessSettings['managedGroupScope'] = settings.managedGroupScope) =>
    harness({ tps: 0 }, 50, { dynamo: staleDynamo, settings: { ...settings, deletionCap: 10, managedGroupScope: scope }, idCacheMs: 600_000 });

  /** A user the service made (its id now cached under the name), deleted with the SDK and made again under the same UserName. */
  async function replacedUser(h: Awaited<ReturnType<typeof warm>>) {
    const userName = unique('stale');
    const cached = (await h.deliver(events.userUpserted(person(userName), { at: at(1), id: unique('join') }))).record.userId!;
    await h.reader.send(new DeleteUserCommand({ IdentityStoreId: STORE, UserId: cached }));
    const made = await h.reader.send(
      new CreateUserCommand({ IdentityStoreId: STORE, UserName: userName, DisplayName: userName, Name: { GivenName: userName, FamilyName: 'Test' } }),
    );
    return { userName, cached, newer: made.UserId! };
  }

  it('user.deleted by userName deletes the newer user instead of ending NOOP', async () => {
    const h = (current = await warm());
    const { userName, newer } = await replacedUser(h);
    const journalBefore = h.emulator.writes().at(-1)!.sequence;
    const result = await h.deliver(events.userDeleted({ userName }, { at: at(2), id: unique('leave') }));
    expect(result.record).toMatchObject({ outcome: 'APPLIED', writes: 1, userId: newer });
    expect(h.emulator.writes(journalBefore).map((w) => [w.action, w.userId])).toEqual([['DeleteUser', newer]]);
    await expect(h.reader.send(new GetUserIdCommand({ IdentityStoreId: STORE, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: userName } } }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('user.upserted updates the newer user: no CreateUser tried, no duplicate', async () => {
    const h = (current = await warm());
    const { userName, newer } = await replacedUser(h);
    const mover = events.userUpserted({ ...person(userName), Title: 'Engineer' }, { at: at(2), id: unique('move') });
    h.emulator.resetStats();
    const result = await h.deliver(mover);
    expect(result.record).toMatchObject({ outcome: 'APPLIED', writes: 1, userId: newer });
    const trail = (await h.query.eventHistory(mover.id)).records;
    expect(trail.filter((r) => r.kind === 'INTENT').map((r) => r.kind === 'INTENT' && r.action)).toEqual(['UpdateUser']);
    expect(h.emulator.stats().callsByAction.CreateUser).toBeUndefined();
    expect((await h.reader.send(new DescribeUserCommand({ IdentityStoreId: STORE, UserId: newer }))).Title).toBe('Engineer');
  });

  it('membership.added to a group deleted and made again outside the service: the retry looks the name up again instead of reusing the id', async () => {
    const h = (current = await warm({ kind: 'prefix', prefix: 'app-' }));
    const group = unique('app-wiki');
    const cached = (await h.deliver(events.groupUpserted(group, { at: at(1), id: unique('group') }))).record.groupId!;
    const userName = unique('member');
    expect((await h.deliver(events.userUpserted(person(userName), { at: at(1), id: unique('join') }))).record.outcome).toBe('APPLIED');
    await h.reader.send(new DeleteGroupCommand({ IdentityStoreId: STORE, GroupId: cached }));
    const newer = (await h.reader.send(new CreateGroupCommand({ IdentityStoreId: STORE, DisplayName: group }))).GroupId!;

    const added = events.membership('membership.added', userName, group, { at: at(2), id: unique('add') });
    // The first attempt writes to the id it had, which the store answers "not found".
    expect((await h.deliver(added)).record).toMatchObject({ outcome: 'RETRYING', errorCode: 'STALE_REFERENCE' });
    const second = await h.deliver(added, 2);
    expect(second.record).toMatchObject({ outcome: 'APPLIED', groupId: newer });
    expect(await h.groupsOf(second.record.userId!)).toEqual([newer]);
  });
});

describe('a drift repair against the emulator and dynalite: dated at the fact it restores, it supersedes no pending producer event', () => {
  const DRIFT_QUEUE = 'arn:aws:sqs:us-east-1:000000000000:drift-repair';
  const driftRepair: RuntimeProducer = { name: DRIFT_REPAIR_PRODUCER, via: 'queue', queueArn: DRIFT_QUEUE, eventTypes: [...DRIFT_REPAIR_EVENT_TYPES], groups: ['*'] };
  const fromDrift: RecordOrigin = { queueArn: DRIFT_QUEUE, senderId: 'AROADRIFT:drift' };
  // Tables of its own: drift reads every applied fact in the state table.
  let own: TestDynamo | undefined;
  afterEach(async () => {
    await own?.stop();
    own = undefined;
  });

  it('a leaver held back by the deletion cap, then the repair of their title, then the leaver\'s retry: the user is deleted, not SUPERSEDED', async () => {
    own = await startTestDynamo();
    const capped: ProcessSettings = { ...settings, deletionCap: 1, producers: [fullGrantQueueProducer(), driftRepair] };
    const h = (current = await harness({ tps: 0 }, 50, { dynamo: { current: own }, settings: capped }));
    const group = unique('managed');
    const [ada, bob] = [unique('ada'), unique('bob')];
    expect((await h.deliver(events.groupUpserted(group, { at: at(1), id: unique('group') }))).record.outcome).toBe('APPLIED');
    const joined = await h.deliver(events.userUpserted({ ...person(ada), Title: 'Engineer' }, { groups: [group], at: at(1), id: unique('join') }));
    const userId = joined.record.userId!;
    expect((await h.deliver(events.userUpserted(person(bob), { at: at(1), id: unique('join') }))).record.outcome).toBe('APPLIED');
    await h.reader.send(new UpdateUserCommand({ IdentityStoreId: STORE, UserId: userId, Operations: [{ AttributePath: 'title', AttributeValue: 'Chief' }] }));

    // bob's leave takes the window's one deletion; ada's is held back, to be retried.
    expect((await h.deliver(events.userDeleted({ userName: bob }, { at: at(2), id: unique('leave') }))).record.outcome).toBe('APPLIED');
    const leaver = events.userDeleted({ userName: ada }, { at: at(3), id: unique('leave') });
    expect((await h.deliver(leaver)).record).toMatchObject({ outcome: 'RETRYING', errorCode: 'DELETION_CAP_REACHED' });

    // Drift runs now (its clock is the wall clock, after every event here) and repairs the title.
    const { report, sent } = await drift(h);
    expect(report.findings.map((f) => [f.kind, f.path])).toEqual([['attribute-differs', 'title']]);
    expect(sent).toEqual([expect.objectContaining({ type: 'user.upserted', occurredAt: joined.record.occurredAt })]);
    const repaired = await h.deliver(sent[0], 1, fromDrift);
    expect(repaired.record).toMatchObject({ outcome: 'APPLIED', producer: DRIFT_REPAIR_PRODUCER, writes: 1 });
    expect((await h.reader.send(new DescribeUserCommand({ IdentityStoreId: STORE, UserId: userId }))).Title).toBe('Engineer');
    // The joiner's watermark and fact stay: the repair restored them, it did not replace them.
    expect((await h.state.getWatermarks([subjectKey.userName(ada)])).get(subjectKey.userName(ada))).toMatchObject({ eventId: joined.eventId });

    // The next window (here, where one window spans years: the cap raised): the leaver's retry deletes her.
    capped.deletionCap = 2;
    const retried = await h.deliver(leaver, 2);
    expect(retried.record).toMatchObject({ outcome: 'APPLIED', userId, writes: 1 });
    expect(h.emulator.writes().filter((w) => w.action === 'DeleteUser').map((w) => w.userId)).toContain(userId);
    await expect(h.reader.send(new DescribeUserCommand({ IdentityStoreId: STORE, UserId: userId }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect((await drift(h)).report.findings).toEqual([]);
  });
});
