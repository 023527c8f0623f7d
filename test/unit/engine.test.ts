import { IdCache, withCachedLookups } from '../../lambdas/domain/id-cache';
import { processDelivery, type ProcessSettings } from '../../lambdas/domain/process-event';
import type { OutcomeRecord } from '../../lambdas/domain/ports';
import { FixedClock, InMemoryAuditLog, InMemoryIdentityStore, InMemoryProcessingState } from '../support/in-memory-ports';
import { ada, at, events, person } from '../support/events';
import { BUS_ORIGIN, TEST_ORIGIN, testProcessSettings } from '../support/producers';
import type { RecordOrigin } from '../../lambdas/domain/producer';

const settings: ProcessSettings = testProcessSettings();

function harness(overrides: Partial<ProcessSettings> = {}, options: { idCacheMs?: number; publisherDown?: boolean } = {}) {
  const identityStore = new InMemoryIdentityStore();
  const state = new InMemoryProcessingState();
  const audit = new InMemoryAuditLog();
  const clock = new FixedClock();
  const published: OutcomeRecord[] = [];
  // With idCacheMs, the engine sees the store through a warm-process id cache, as in Lambda.
  const port = options.idCacheMs ? withCachedLookups(identityStore, new IdCache(options.idCacheMs, clock), settings.identityStoreId) : identityStore;
  const publish = async (r: OutcomeRecord) => {
    if (options.publisherDown) throw new Error('EventBridge unavailable');
    published.push(r);
  };
  const deps = { identityStore: port, state, audit, clock, publisher: { publish }, pause: async (ms: number) => clock.advance(ms) };
  let messages = 0;
  const deliver = (event: unknown, receiveCount = 1, origin: RecordOrigin = TEST_ORIGIN) =>
    processDelivery(
      typeof event === 'string' ? event : JSON.stringify(event),
      { messageId: `m-${++messages}`, receiveCount, maxReceiveCount: 5, receivedAt: clock.now(), deadline: new Date(clock.now().getTime() + 60_000), origin },
      deps,
      { ...settings, ...overrides },
    );
  return { identityStore, state, audit, clock, published, deliver };
}

async function withGroups(h: ReturnType<typeof harness>, ...names: string[]) {
  for (const name of names) expect((await h.deliver(events.groupUpserted(name))).disposition.kind).toBe('ack');
}

describe('user.upserted', () => {
  it('creates a missing user and puts it in its groups', async () => {
    const h = harness();
    await withGroups(h, 'Engineering', 'Everyone');
    const result = await h.deliver(events.userUpserted(ada(), { groups: ['Engineering', 'Everyone'] }));
    expect(result.disposition.kind).toBe('ack');
    expect(result.record.outcome).toBe('APPLIED');
    expect(h.identityStore.snapshot()).toEqual({ ada: ['Engineering', 'Everyone'] });
    const writes = h.audit.writes.filter((w) => w.eventId === result.eventId).map((w) => w.action);
    expect(writes).toEqual(['CreateUser', 'CreateGroupMembership', 'CreateGroupMembership']);
  });

  it('makes no write when the same event is applied again', async () => {
    const h = harness();
    await withGroups(h, 'Engineering');
    const event = events.userUpserted(ada(), { groups: ['Engineering'] });
    await h.deliver(event);
    const writesBefore = h.identityStore.writeCalls.length;
    const again = await h.deliver(event, 2);
    expect(again.record.outcome).toBe('NOOP');
    expect(h.identityStore.writeCalls.length).toBe(writesBefore);
  });

  it('sends one UpdateUser with only the attributes that differ', async () => {
    const h = harness();
    await h.deliver(events.userUpserted(ada(), { at: at(1) }));
    const result = await h.deliver(events.userUpserted(ada({ Title: 'Engineer', DisplayName: 'Ada L.' }), { at: at(2) }));
    expect(result.record.outcome).toBe('APPLIED');
    const update = h.audit.writes.find((w) => w.eventId === result.eventId)!;
    expect(update.action).toBe('UpdateUser');
    expect(update.changes).toEqual([
      { path: 'displayName', before: 'Ada Lovelace', after: 'Ada L.' },
      { path: 'title', after: 'Engineer' },
    ]);
    expect(h.identityStore.writeCalls.filter((c) => c === 'UpdateUser')).toHaveLength(1);
  });

  it('treats a new UserName with the same ExternalId as a rename, not a new person', async () => {
    const h = harness();
    const ext = { Issuer: 'workday', Id: 'E-100' };
    await h.deliver(events.userUpserted(ada({ ExternalIds: [ext] }), { at: at(1) }));
    const renamed = await h.deliver(events.userUpserted(ada({ UserName: 'ada.king', ExternalIds: [ext] }), { at: at(2) }));
    expect(renamed.record.outcome).toBe('APPLIED');
    expect(h.identityStore.users.size).toBe(1);
    expect([...h.identityStore.users.values()][0].attributes.UserName).toBe('ada.king');
    // A late event for the old name is too old now.
    const late = await h.deliver(events.userUpserted(ada({ Title: 'stale' }), { at: at(1) }));
    expect(late.record.outcome).toBe('SUPERSEDED');
  });

  it('finds a SCIM-provisioned user by the ExternalId the store holds', async () => {
    const h = harness();
    const ext = { Issuer: 'okta', Id: '00u1' };
    const userId = h.identityStore.seedUser(person('grace'), [ext]);
    const result = await h.deliver(events.userUpserted({ ...person('grace.hopper'), ExternalIds: [ext] }));
    expect(result.record.userId).toBe(userId);
    expect(h.identityStore.users.get(userId)!.attributes.UserName).toBe('grace.hopper');
  });

  it('reconciles groups but never removes a membership in an unmanaged group', async () => {
    const h = harness();
    await withGroups(h, 'Engineering', 'Platform');
    const controlTower = h.identityStore.seedGroup('AWSControlTowerAdmins');
    await h.deliver(events.userUpserted(ada(), { groups: ['Engineering'], at: at(1) }));
    const userId = [...h.identityStore.users.keys()][0];
    await h.identityStore.createMembership(controlTower, userId);
    const moved = await h.deliver(events.userUpserted(ada(), { groups: ['Platform'], at: at(2) }));
    expect(moved.record.outcome).toBe('APPLIED');
    expect(h.identityStore.snapshot()).toEqual({ ada: ['AWSControlTowerAdmins', 'Platform'] });
  });

  it('rejects adding a member to a group outside the managed scope', async () => {
    const h = harness();
    h.identityStore.seedGroup('AWSControlTowerAdmins');
    const result = await h.deliver(events.userUpserted(ada(), { groups: ['AWSControlTowerAdmins'] }));
    expect(result.disposition.kind).toBe('deadLetter');
    expect(result.record.errorCode).toBe('GROUP_NOT_MANAGED');
    expect(h.identityStore.writeCalls).toEqual(['CreateUser']);
  });

  it('rejects a change that would remove more memberships than allowed', async () => {
    const h = harness();
    const names = ['G1', 'G2', 'G3', 'G4'];
    await withGroups(h, ...names);
    await h.deliver(events.userUpserted(ada(), { groups: names, at: at(1) }));
    const result = await h.deliver(events.userUpserted(ada(), { groups: [], at: at(2) }));
    expect(result.disposition.kind).toBe('deadLetter');
    expect(result.record.errorMessage).toMatch(/remove 4 memberships .* maximum of 3/);
    expect(h.identityStore.snapshot()).toEqual({ ada: names });
  });

  it('holds back an event naming a group that does not exist yet', async () => {
    const h = harness();
    const result = await h.deliver(events.userUpserted(ada(), { groups: ['Later'] }));
    expect(result.disposition.kind).toBe('retryAfter');
    expect(result.record).toMatchObject({ outcome: 'RETRYING', errorCode: 'GROUP_NOT_FOUND', attempt: 1 });
  });

  it('records FAILED on the last delivery the queue allows', async () => {
    const h = harness();
    const result = await h.deliver(events.userUpserted(ada(), { groups: ['Later'] }), 5);
    expect(result.record.outcome).toBe('FAILED');
    expect(h.published.at(-1)!.outcome).toBe('FAILED');
  });
});

describe('ordering', () => {
  it('supersedes an older event that arrives after a newer one', async () => {
    const h = harness();
    await h.deliver(events.userUpserted(ada({ Title: 'new' }), { at: at(5) }));
    const late = await h.deliver(events.userUpserted(ada({ Title: 'old' }), { at: at(3) }));
    expect(late.record.outcome).toBe('SUPERSEDED');
    expect([...h.identityStore.users.values()][0].attributes.Title).toBe('new');
  });

  it('does not resurrect a deleted user from a late upsert', async () => {
    const h = harness();
    await h.deliver(events.userUpserted(ada(), { at: at(1) }));
    await h.deliver(events.userDeleted({ userName: 'ada' }, { at: at(5) }));
    const late = await h.deliver(events.userUpserted(ada(), { at: at(3) }));
    expect(late.record.outcome).toBe('SUPERSEDED');
    expect(h.identityStore.users.size).toBe(0);
  });

  it('applies an add and a remove of one membership in source order whatever the arrival order', async () => {
    const h = harness();
    await withGroups(h, 'Engineering');
    await h.deliver(events.userUpserted(ada(), { at: at(0) }));
    const removed = await h.deliver(events.membership('membership.removed', 'ada', 'Engineering', { at: at(5) }));
    const added = await h.deliver(events.membership('membership.added', 'ada', 'Engineering', { at: at(4) }));
    expect(removed.record.outcome).toBe('NOOP');
    expect(added.record.outcome).toBe('SUPERSEDED');
    expect(h.identityStore.snapshot()).toEqual({ ada: [] });
  });

  it('compares times across UTC offsets', async () => {
    const h = harness();
    // As raw strings the late event would look newer ("11:00+02:00" > "09:30Z"); in time it is older.
    await h.deliver(events.userUpserted(ada({ Title: 'new' }), { at: '2026-11-22T09:30:00Z' }));
    const late = await h.deliver(events.userUpserted(ada({ Title: 'old' }), { at: '2026-11-22T11:00:00+02:00' }));
    expect(late.record.outcome).toBe('SUPERSEDED');
  });
});

describe('user.deleted', () => {
  it('deletes the user, whose memberships the store removes with it, and counts a second delete as done', async () => {
    const h = harness();
    await withGroups(h, 'Engineering');
    await h.deliver(events.userUpserted(ada(), { groups: ['Engineering'], at: at(1) }));
    const gone = await h.deliver(events.userDeleted({ userName: 'ada' }, { at: at(2) }));
    expect(h.audit.writes.filter((w) => w.eventId === gone.eventId).map((w) => w.action)).toEqual(['DeleteUser']);
    expect(h.identityStore.memberships.size).toBe(0);
    const again = await h.deliver(events.userDeleted({ userName: 'ada' }, { at: at(3) }));
    expect(again.record.outcome).toBe('NOOP');
  });

  it('holds deletions over the cap back with the wait until the window ends', async () => {
    const h = harness();
    for (const name of ['u1', 'u2', 'u3']) await h.deliver(events.userUpserted(person(name), { at: at(1) }));
    h.clock.current = new Date('2026-11-22T10:15:00.000Z');
    expect((await h.deliver(events.userDeleted({ userName: 'u1' }, { at: at(2) }))).record.outcome).toBe('APPLIED');
    expect((await h.deliver(events.userDeleted({ userName: 'u2' }, { at: at(2) }))).record.outcome).toBe('APPLIED');
    const held = await h.deliver(events.userDeleted({ userName: 'u3' }, { at: at(2) }));
    expect(held.disposition.kind).toBe('retryAfter');
    expect(held.record.errorCode).toBe('DELETION_CAP_REACHED');
    expect(held.failure?.owedWaitMs).toBe(45 * 60 * 1000);
    expect(h.identityStore.users.size).toBe(1);
  });

  it('deletes by ExternalId', async () => {
    const h = harness();
    const ext = { Issuer: 'workday', Id: 'E-7' };
    await h.deliver(events.userUpserted(ada({ ExternalIds: [ext] }), { at: at(1) }));
    const result = await h.deliver(events.userDeleted({ externalId: ext }, { at: at(2) }));
    expect(result.record.outcome).toBe('APPLIED');
    expect(h.identityStore.users.size).toBe(0);
  });
});

describe('groups', () => {
  it('refuses to adopt an existing group it did not create', async () => {
    const h = harness();
    h.identityStore.seedGroup('Finance');
    const result = await h.deliver(events.groupUpserted('Finance', { description: 'mine now' }));
    expect(result.disposition.kind).toBe('deadLetter');
    expect(h.identityStore.writeCalls).toEqual([]);
  });

  it('updates the description of a managed group only when it differs', async () => {
    const h = harness();
    await h.deliver(events.groupUpserted('Eng', { description: 'a', at: at(1) }));
    expect((await h.deliver(events.groupUpserted('Eng', { description: 'a', at: at(2) }))).record.outcome).toBe('NOOP');
    expect((await h.deliver(events.groupUpserted('Eng', { description: 'b', at: at(3) }))).record.outcome).toBe('APPLIED');
  });

  it('with a prefix scope, creates only groups with the prefix', async () => {
    const h = harness({ managedGroupScope: { kind: 'prefix', prefix: 'idp-' } });
    expect((await h.deliver(events.groupUpserted('idp-eng'))).disposition.kind).toBe('ack');
    const outside = await h.deliver(events.groupUpserted('eng'));
    expect(outside.disposition.kind).toBe('deadLetter');
    expect(outside.record.errorMessage).toContain('data.group.DisplayName');
  });

  it('deletes a managed group, whose memberships the store removes with it', async () => {
    const h = harness();
    await withGroups(h, 'Temp');
    await h.deliver(events.userUpserted(ada(), { groups: ['Temp'], at: at(1) }));
    const result = await h.deliver(events.groupDeleted('Temp', { at: at(2) }));
    expect(h.audit.writes.filter((w) => w.eventId === result.eventId).map((w) => w.action)).toEqual(['DeleteGroup']);
    expect(h.identityStore.groups.size).toBe(0);
    expect(h.identityStore.snapshot()).toEqual({ ada: [] });
  });
});

describe('memberships', () => {
  it('waits for a user that does not exist yet instead of rejecting', async () => {
    const h = harness();
    await withGroups(h, 'Eng');
    const result = await h.deliver(events.membership('membership.added', 'nobody', 'Eng'));
    expect(result.record).toMatchObject({ outcome: 'RETRYING', errorCode: 'USER_NOT_FOUND' });
  });

  it('adds once and then reports NOOP', async () => {
    const h = harness();
    await withGroups(h, 'Eng');
    await h.deliver(events.userUpserted(ada()));
    expect((await h.deliver(events.membership('membership.added', 'ada', 'Eng', { at: at(1) }))).record.outcome).toBe('APPLIED');
    expect((await h.deliver(events.membership('membership.added', 'ada', 'Eng', { at: at(2) }))).record.outcome).toBe('NOOP');
  });
});

describe('bad input and the audit trail', () => {
  it('rejects malformed JSON, naming the problem, and records it under the message id', async () => {
    const h = harness();
    const result = await h.deliver('{"id": "x",');
    expect(result.disposition.kind).toBe('deadLetter');
    expect(result.record.errorCode).toBe('MALFORMED_JSON');
    expect(result.eventId).toMatch(/^message:/);
    expect(h.audit.outcomes).toHaveLength(1);
  });

  it('names every invalid field and its rule', async () => {
    const h = harness();
    const result = await h.deliver(
      events.userUpserted({ UserName: 'has space', Name: { GivenName: 'A' }, Emails: [] }, { groups: ['Administrator'] }),
    );
    expect(result.failure?.message).toBe(
      'data.user.UserName: must be letters, digits or punctuation, without spaces; ' +
        'data.user.DisplayName: is required; ' +
        'data.user.Name.FamilyName: is required; ' +
        'data.user.Emails: Too small: expected array to have exactly 1 items; ' +
        'data.groups[0]: is reserved by IAM Identity Center (Administrator, AWSAdministrators)',
    );
    expect(h.identityStore.calls).toEqual([]);
  });

  it('accepts the document as the detail of an EventBridge event and checks detail-type', async () => {
    const h = harness();
    const detail = events.groupUpserted('Eng');
    const envelope = {
      version: '0', id: 'eb-1', source: 'identity-provisioner.hr', account: '111122223333',
      time: '2026-11-22T09:00:00Z', region: 'us-east-1', resources: [], 'detail-type': 'group.upserted', detail,
    };
    const ok = await h.deliver(envelope, 1, BUS_ORIGIN);
    expect(ok.record).toMatchObject({ outcome: 'APPLIED', source: 'identity-provisioner.hr', producer: 'hr', via: 'bus' });
    const mismatch = await h.deliver({ ...envelope, 'detail-type': 'group.deleted' }, 1, BUS_ORIGIN);
    expect(mismatch.disposition.kind).toBe('deadLetter');
    expect(mismatch.record.errorCode).toBe('DETAIL_TYPE_MISMATCH');
  });

  it('rejects an event for another identity store', async () => {
    const h = harness();
    const result = await h.deliver({ ...events.groupUpserted('Eng'), identityStoreId: 'd-9999999999' });
    expect(result.record.errorCode).toBe('WRONG_IDENTITY_STORE');
  });

  it('makes no write whose intent cannot be recorded: retryable, and the retry applies it', async () => {
    const h = harness();
    const event = events.groupUpserted('Eng');
    h.audit.failNext = 1;
    const first = await h.deliver(event);
    expect(first.disposition.kind).toBe('retryAfter');
    expect(first.record).toMatchObject({ outcome: 'RETRYING', errorCode: 'AUDIT_UNAVAILABLE', writes: 0 });
    expect(first.record.errorMessage).toMatch(/CreateGroup was not made: its intent could not be recorded/);
    expect(h.identityStore.groups.size).toBe(0);
    expect(h.audit.intents).toEqual([]);
    const second = await h.deliver(event, 2);
    expect(second.record.outcome).toBe('APPLIED');
    expect(h.identityStore.groups.size).toBe(1);
  });

  it('keeps the intent of a write whose own record was lost; the retry converges without writing again', async () => {
    const h = harness();
    const event = events.groupUpserted('Eng');
    h.audit.failNextWriteRecord = 1;
    const first = await h.deliver(event);
    expect(first.record).toMatchObject({ outcome: 'RETRYING', errorCode: 'AUDIT_UNAVAILABLE' });
    expect(h.identityStore.groups.size).toBe(1);
    // The write happened and the trail says so: its intent, under attempt 1, sequence 0.
    expect(h.audit.intents).toEqual([expect.objectContaining({ eventId: event.id, attempt: 1, sequence: 0, action: 'CreateGroup', groupDisplayName: 'Eng' })]);
    expect(h.audit.writes).toEqual([]);
    const second = await h.deliver(event, 2);
    expect(second.record.outcome).toBe('NOOP');
    expect(h.identityStore.groups.size).toBe(1);
  });

  it('makes no write once the subject lease has lapsed (the invocation deadline): LEASE_LAPSED, no intent, retried', async () => {
    const h = harness();
    const slowLookup = h.identityStore.findGroupIdByDisplayName.bind(h.identityStore);
    // The lookup takes the attempt past its deadline (60 s in the harness), as a stalled call would.
    h.identityStore.findGroupIdByDisplayName = async (name: string) => {
      h.clock.advance(60_000);
      return slowLookup(name);
    };
    const late = await h.deliver(events.groupUpserted('Eng'));
    expect(late.record).toMatchObject({ outcome: 'RETRYING', errorCode: 'LEASE_LAPSED', writes: 0 });
    expect(late.disposition.kind).toBe('retryAfter');
    expect(h.identityStore.groups.size).toBe(0);
    expect(h.audit.intents).toEqual([]);
  });

  it('records each write under the sequence of its intent', async () => {
    const h = harness();
    await withGroups(h, 'Engineering', 'Sales');
    await h.deliver(events.userUpserted(ada(), { groups: ['Engineering', 'Sales'] }));
    const ofEvent = (records: { eventId: string; action: string; sequence: number }[]) =>
      records.filter((r) => r.action === 'CreateUser' || r.action === 'CreateGroupMembership').map((r) => `${r.action}#${r.sequence}`);
    expect(ofEvent(h.audit.writes)).toEqual(ofEvent(h.audit.intents));
    expect(h.audit.intents.length).toBeGreaterThanOrEqual(3);
  });
});

describe('the two aspects of user.upserted', () => {
  it('applies a late joiner event\'s groups even though a newer title change already applied', async () => {
    const h = harness();
    await withGroups(h, 'Engineering');
    await h.deliver(events.userUpserted(ada({ Title: 'Senior' }), { at: at(10) }));
    const late = await h.deliver(events.userUpserted(ada({ Title: 'Junior' }), { groups: ['Engineering'], at: at(5) }));
    expect(late.record.outcome).toBe('APPLIED');
    expect(late.record.errorMessage).toMatch(/^attributes not applied: a newer change/);
    expect(h.identityStore.snapshot()).toEqual({ ada: ['Engineering'] });
    expect([...h.identityStore.users.values()][0].attributes.Title).toBe('Senior');
  });

  it('does not apply an older group list after a newer one', async () => {
    const h = harness();
    await withGroups(h, 'Engineering', 'Platform');
    await h.deliver(events.userUpserted(ada(), { groups: ['Platform'], at: at(10) }));
    const late = await h.deliver(events.userUpserted(ada(), { groups: ['Engineering'], at: at(5) }));
    expect(late.record.outcome).toBe('SUPERSEDED');
    expect(h.identityStore.snapshot()).toEqual({ ada: ['Platform'] });
  });
});

describe('one change per subject at a time', () => {
  // The harness gives each delivery an invocation deadline 60 s ahead; a delivery waits for a
  // busy subject in-process until the holder's lease ends or 15 s before its own deadline.
  it('waits in the invocation for a lease the holder gives up soon, spending no delivery', async () => {
    const h = harness();
    const start = h.clock.now().getTime();
    await h.state.tryLeaseSubjects(['user:name:ada'], 'someone-else', h.clock.now(), new Date(start + 20_000));
    const waited = await h.deliver(events.userUpserted(ada()));
    expect(waited.record).toMatchObject({ outcome: 'APPLIED', attempt: 1 });
    // It took over when the holder's lease ran out, not before.
    expect(h.clock.now().getTime() - start).toBeGreaterThanOrEqual(20_000);
    expect(h.clock.now().getTime() - start).toBeLessThan(21_000);
    expect(h.state.leases.size).toBe(0);
  });

  it('sends an event back when the holder keeps the subject past what this invocation can wait', async () => {
    const h = harness();
    const start = h.clock.now().getTime();
    await h.state.tryLeaseSubjects(['user:name:ada'], 'someone-else', h.clock.now(), new Date(start + 55_000));
    const busy = await h.deliver(events.userUpserted(ada()));
    // Waited until 15 s before its own deadline (45 s), then: look again in 1 s.
    expect(h.clock.now().getTime() - start).toBeGreaterThanOrEqual(44_500);
    expect(h.clock.now().getTime() - start).toBeLessThanOrEqual(45_000);
    expect(busy.record).toMatchObject({ outcome: 'RETRYING', errorCode: 'SUBJECT_BUSY' });
    expect(busy.failure?.owedWaitMs).toBe(1_000);
    expect(h.identityStore.calls).toEqual([]);
    // The second-to-last delivery hands back the wait until the holder's lease is over.
    await h.state.tryLeaseSubjects(['user:name:ada'], 'someone-else', h.clock.now(), new Date(h.clock.now().getTime() + 120_000));
    const patient = await h.deliver(events.userUpserted(ada()), 4);
    expect(patient.failure?.owedWaitMs).toBeGreaterThan(60_000);
    await h.state.releaseSubjects(['user:name:ada'], 'someone-else');
    expect((await h.deliver(events.userUpserted(ada()), 5)).record.outcome).toBe('APPLIED');
    expect(h.state.leases.size).toBe(0);
  });

  it('a lease released while waiting is taken at once', async () => {
    const h = harness();
    await h.state.tryLeaseSubjects(['user:name:ada'], 'someone-else', h.clock.now(), new Date(h.clock.now().getTime() + 50_000));
    const start = h.clock.now().getTime();
    const release = h.state.releaseSubjects.bind(h.state);
    // The holder finishes after about 2 s of this delivery's wait.
    const tryLease = h.state.tryLeaseSubjects.bind(h.state);
    h.state.tryLeaseSubjects = async (keys, owner, now, until) => {
      if (now.getTime() - start >= 2_000) await release(['user:name:ada'], 'someone-else');
      return tryLease(keys, owner, now, until);
    };
    const result = await h.deliver(events.userUpserted(ada()));
    expect(result.record.outcome).toBe('APPLIED');
    expect(h.clock.now().getTime() - start).toBeLessThanOrEqual(2_500);
  });
});

describe('reconciling groups against newer membership changes', () => {
  it('keeps a membership that a newer membership.added created, even when an older group list omits it', async () => {
    const h = harness();
    await withGroups(h, 'Engineering', 'Security');
    await h.deliver(events.userUpserted(ada(), { at: at(1) }));
    await h.deliver(events.membership('membership.added', 'ada', 'Security', { at: at(9) }));
    const late = await h.deliver(events.userUpserted(ada(), { groups: ['Engineering'], at: at(5) }));
    expect(late.record.outcome).toBe('APPLIED');
    expect(h.identityStore.snapshot()).toEqual({ ada: ['Engineering', 'Security'] });
  });

  it('makes no membership lookups for a user the same event creates', async () => {
    const h = harness();
    await withGroups(h, 'Engineering');
    h.identityStore.calls.length = 0;
    await h.deliver(events.userUpserted(ada(), { groups: ['Engineering'] }));
    expect(h.identityStore.calls).not.toContain('ListGroupMembershipsForMember');
    expect(h.identityStore.calls).not.toContain('DescribeGroup');
  });
});

describe('outcome records of failed attempts', () => {
  it('count the writes the attempt made before it failed', async () => {
    const h = harness();
    await withGroups(h, 'Engineering');
    // The user is created, then a group in the list does not exist yet.
    const result = await h.deliver(events.userUpserted(ada(), { groups: ['Engineering', 'Later'] }));
    expect(result.record).toMatchObject({ outcome: 'RETRYING', errorCode: 'GROUP_NOT_FOUND', writes: 1 });
    expect(h.audit.writes.filter((w) => w.eventId === result.eventId).map((w) => w.action)).toEqual(['CreateUser']);
  });
});

describe('a warm id cache that another instance made stale', () => {
  /** Another instance deletes the group and creates it again under the same name. */
  async function recreateBehindTheCache(h: ReturnType<typeof harness>, displayName: string): Promise<string> {
    const old = [...h.identityStore.groups.values()].find((g) => g.displayName === displayName)!;
    await h.identityStore.deleteGroup(old.groupId); // cascades its memberships, as the service does
    const groupId = h.identityStore.seedGroup(displayName);
    h.state.managed.set(groupId, displayName);
    return groupId;
  }

  it('deletes the group that exists now, not the incarnation the cache remembers', async () => {
    const h = harness({}, { idCacheMs: 60_000 });
    await h.deliver(events.groupUpserted('Temp', { at: at(1) }));
    await recreateBehindTheCache(h, 'Temp');
    const event = events.groupDeleted('Temp', { at: at(5) });
    const first = await h.deliver(event);
    expect(first.record).toMatchObject({ outcome: 'RETRYING', errorCode: 'STALE_REFERENCE' });
    expect((await h.deliver(event, 2)).record.outcome).toBe('APPLIED');
    expect(h.identityStore.groups.size).toBe(0);
  });

  it('does not call a membership removal done when the cached group id is stale', async () => {
    const h = harness({}, { idCacheMs: 60_000 });
    await h.deliver(events.groupUpserted('Temp', { at: at(1) }));
    await h.deliver(events.userUpserted(ada(), { at: at(1) }));
    await h.deliver(events.membership('membership.added', 'ada', 'Temp', { at: at(2) }));
    const newGroupId = await recreateBehindTheCache(h, 'Temp');
    const userId = [...h.identityStore.users.keys()][0];
    await h.identityStore.createMembership(newGroupId, userId);
    const event = events.membership('membership.removed', 'ada', 'Temp', { at: at(5) });
    expect((await h.deliver(event)).record.errorCode).toBe('STALE_REFERENCE');
    expect((await h.deliver(event, 2)).record.outcome).toBe('APPLIED');
    expect(h.identityStore.snapshot()).toEqual({ ada: [] });
  });
});

describe('ordering across a rename', () => {
  it('recognises a late group list under the old user name as stale (same ExternalId)', async () => {
    const h = harness();
    await withGroups(h, 'Engineering', 'Platform', 'Data');
    const ext = { Issuer: 'workday', Id: 'W-9' };
    await h.deliver(events.userUpserted(ada({ ExternalIds: [ext] }), { groups: ['Engineering'], at: at(1) }));
    await h.deliver(events.userUpserted(ada({ UserName: 'ada.king', ExternalIds: [ext] }), { groups: ['Platform'], at: at(3) }));
    const late = await h.deliver(events.userUpserted(ada({ ExternalIds: [ext] }), { groups: ['Data'], at: at(2) }));
    expect(late.record.outcome).toBe('SUPERSEDED');
    expect(h.identityStore.snapshot()).toEqual({ 'ada.king': ['Platform'] });
  });
});

describe('a group this service created but could not mark as managed', () => {
  it('is recognised as ours later, through the creation intent recorded before CreateGroup', async () => {
    const h = harness();
    const mark = h.state.markManagedGroup.bind(h.state);
    let failures = 1;
    h.state.markManagedGroup = async (groupId, displayName) => {
      if (failures-- > 0) throw new Error('state table away');
      return mark(groupId, displayName);
    };
    const first = await h.deliver(events.groupUpserted('Engineering', { at: at(1) }));
    expect(first.record.outcome).toBe('RETRYING');
    expect(h.identityStore.groups.size).toBe(1);
    const again = await h.deliver(events.groupUpserted('Engineering', { at: at(1), id: first.eventId }), 2);
    expect(again.record.outcome).toBe('NOOP');
    expect((await h.deliver(events.userUpserted(ada(), { groups: ['Engineering'], at: at(2) }))).record.outcome).toBe('APPLIED');
  });

  it('forgets the intent when it deletes the group, so a same-named group made later by someone else stays theirs', async () => {
    const h = harness();
    await h.deliver(events.groupUpserted('Temp', { at: at(1) }));
    await h.deliver(events.groupDeleted('Temp', { at: at(2) }));
    h.identityStore.seedGroup('Temp');
    const result = await h.deliver(events.userUpserted(ada(), { groups: ['Temp'], at: at(3) }));
    expect(result.record.errorCode).toBe('GROUP_NOT_MANAGED');
  });
});

describe('best-effort steps', () => {
  it('report a RETRYING record that could not be written, instead of dropping the failure', async () => {
    const h = harness();
    await withGroups(h, 'Eng');
    h.audit.failNext = 1;
    const result = await h.deliver(events.membership('membership.added', 'nobody', 'Eng'));
    expect(result.disposition.kind).toBe('retryAfter');
    expect(result.warnings).toEqual(['RETRYING outcome not recorded: audit store unavailable']);
    expect(h.audit.outcomes.filter((o) => o.eventId === result.eventId)).toEqual([]);
  });

  it('report nothing when every step landed', async () => {
    const h = harness();
    expect((await h.deliver(events.groupUpserted('Eng'))).warnings).toEqual([]);
  });
});

describe('occurredAt is bounded: a date from the future cannot freeze a person', () => {
  // The harness clock reads 2026-11-22T10:00:00Z; the bounds are the deployment's defaults.
  const NOW = '2026-11-22T10:00:00.000Z';

  it('rejects a user.deleted dated far ahead, leaving no tombstone: the real joiner after it is applied', async () => {
    const h = harness();
    const poison = await h.deliver(events.userDeleted({ userName: 'ada' }, { at: '2099-01-01T00:00:00Z' }));
    expect(poison.disposition.kind).toBe('deadLetter');
    expect(poison.record).toMatchObject({ outcome: 'REJECTED', errorCode: 'OCCURRED_AT_OUT_OF_RANGE', writes: 0 });
    expect(poison.record.errorMessage).toBe(
      'occurredAt: must not be later than 300 s after the event is received (2026-11-22T10:05:00.000Z); got 2099-01-01T00:00:00Z',
    );
    expect(await h.state.getWatermarks(['user:name:ada'])).toEqual(new Map());

    const joiner = await h.deliver(events.userUpserted(ada(), { at: at(30) }));
    expect(joiner.record.outcome).toBe('APPLIED');
  });

  it('rejects a user.upserted dated far ahead, so a later real change is applied, not superseded', async () => {
    const h = harness();
    await h.deliver(events.userUpserted(ada(), { at: at(1) }));
    const poison = await h.deliver(events.userUpserted(ada({ Title: 'Owner of everything' }), { at: '2030-06-01T00:00:00Z' }));
    expect(poison.record).toMatchObject({ outcome: 'REJECTED', errorCode: 'OCCURRED_AT_OUT_OF_RANGE' });
    const real = await h.deliver(events.userUpserted(ada({ Title: 'Engineer' }), { at: at(2) }));
    expect(real.record.outcome).toBe('APPLIED');
  });

  it.each([
    ['the year 10000 written as 9999 with a negative offset (sorts before 2026 as text)', '9999-12-31T23:59:59-23:59'],
    ['one second past the skew', '2026-11-22T10:05:01Z'],
    ['the skew crossed through an offset', '2026-11-22T11:05:01+01:00'],
  ])('rejects %s', async (_name, occurredAt) => {
    const h = harness();
    const result = await h.deliver(events.groupUpserted('Engineering', { at: occurredAt }));
    expect(result.record).toMatchObject({ outcome: 'REJECTED', errorCode: 'OCCURRED_AT_OUT_OF_RANGE' });
    expect(h.identityStore.writeCalls).toEqual([]);
  });

  it.each([
    ['exactly the skew ahead (a sender clock running 5 minutes fast)', '2026-11-22T10:05:00Z'],
    ['the same instant in another offset', '2026-11-22T05:05:00-05:00'],
    ['now', NOW],
  ])('accepts %s', async (_name, occurredAt) => {
    const h = harness();
    const result = await h.deliver(events.groupUpserted('Engineering', { at: occurredAt }));
    expect(result.record.outcome).toBe('APPLIED');
  });

  it('rejects a date before the floor', async () => {
    const h = harness();
    const result = await h.deliver(events.groupUpserted('Engineering', { at: '1999-12-31T23:59:59Z' }));
    expect(result.record).toMatchObject({ outcome: 'REJECTED', errorCode: 'OCCURRED_AT_OUT_OF_RANGE' });
    expect(result.record.errorMessage).toBe('occurredAt: must not be earlier than 2000-01-01T00:00:00.000Z; got 1999-12-31T23:59:59Z');
  });

  it('a rejection is not final: the same event delivered once its time has come is applied', async () => {
    const h = harness();
    const early = events.groupUpserted('Engineering', { at: '2026-11-22T10:10:00Z' });
    expect((await h.deliver(early)).record.errorCode).toBe('OCCURRED_AT_OUT_OF_RANGE');
    h.clock.advance(10 * 60_000);
    expect((await h.deliver(early, 2)).record.outcome).toBe('APPLIED');
  });
});

describe('record first, announce after: a publisher that fails cannot fail a change', () => {
  it('an applied change stays APPLIED, recorded once, when its outcome event cannot be published', async () => {
    const h = harness({}, { publisherDown: true });
    await withGroups(h, 'Engineering');
    const result = await h.deliver(events.userUpserted(ada(), { groups: ['Engineering'] }));
    expect(result).toMatchObject({ disposition: { kind: 'ack' }, announcementFailed: true });
    expect(result.record.outcome).toBe('APPLIED');
    expect(result.warnings).toEqual(['outcome event not published: EventBridge unavailable']);
    expect(h.audit.outcomes.filter((o) => o.eventId === result.eventId).map((o) => o.outcome)).toEqual(['APPLIED']);
    expect(h.identityStore.snapshot()).toEqual({ ada: ['Engineering'] });
  });

  it('a rejection is still recorded and dead-lettered when it cannot be announced', async () => {
    const h = harness({}, { publisherDown: true });
    const result = await h.deliver('{"not": "an event"}');
    expect(result).toMatchObject({ disposition: { kind: 'deadLetter' }, announcementFailed: true });
    expect(h.audit.outcomes.map((o) => o.outcome)).toEqual(['REJECTED']);
  });

  it('nothing is announced before it is recorded: when the outcome cannot be recorded, no outcome event leaves', async () => {
    const h = harness();
    await withGroups(h, 'Engineering');
    // A change that needs no write, so the one audit call that fails is the outcome's own.
    h.audit.failNext = 1;
    const result = await h.deliver(events.groupUpserted('Engineering'));
    expect(result).toMatchObject({ disposition: { kind: 'retryAfter' }, failure: { code: 'AUDIT_UNAVAILABLE' } });
    expect(h.published.filter((o) => o.eventId === result.eventId)).toEqual([]);
  });

  it('when it is published, the outcome event says what the record says', async () => {
    const h = harness();
    const result = await h.deliver(events.groupUpserted('Engineering'));
    expect(result.announcementFailed).toBe(false);
    expect(h.published.at(-1)).toEqual(result.record);
  });
});

describe('the contract refuses what the API would', () => {
  it('more than one primary photo, before any call, naming the field and the rule', async () => {
    const h = harness();
    const photo = (i: number) => ({ Value: `https://example.com/${i}.png`, Primary: true });
    const result = await h.deliver(events.userUpserted(ada({ Photos: [photo(1), photo(2)] })));
    expect(result.record).toMatchObject({ outcome: 'REJECTED', errorCode: 'INVALID_EVENT' });
    expect(result.record.errorMessage).toBe('data.user.Photos: at most one photo can be primary');
    expect(h.identityStore.writeCalls).toEqual([]);
  });
});
