/**
 * IdentityStoreAdapter against the local Identity Store emulator, through the real client with
 * RetryAfterStrategy and the rate limiter: every port method round-trips, errors map to the
 * port's errors, and throttling and injected faults are absorbed.
 */
import { startEmulator, type RunningEmulator } from '../../local/emulator';
import { RetryableError } from '../../lambdas/domain/errors';
import type { UserAttributes } from '../../lambdas/domain/identity-change';
import { AlreadyExistsError, InvalidRequestError, NotFoundError } from '../../lambdas/domain/ports';
import { createIdentityStoreClient, type IdentityStoreClientOptions } from '../../lambdas/adapters/identity-store-client';
import { IdentityStoreAdapter, type IdentityStoreCall } from '../../lambdas/adapters/identity-store';

const IDENTITY_STORE_ID = 'd-1234567890';
const UNKNOWN_ID = 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6';
const CREDENTIALS = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };

interface Setup {
  emulator: RunningEmulator;
  adapter: IdentityStoreAdapter;
  calls: IdentityStoreCall[];
}

const running: RunningEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((emulator) => emulator.stop()));
});

async function setUp(
  emulatorOptions: Parameters<typeof startEmulator>[0] = {},
  clientOptions: Partial<IdentityStoreClientOptions> = {},
  identityStoreId = IDENTITY_STORE_ID,
): Promise<Setup> {
  const emulator = await startEmulator({ port: 0, identityStoreIds: [IDENTITY_STORE_ID], tps: 0, ...emulatorOptions });
  running.push(emulator);
  const { client } = createIdentityStoreClient({
    region: 'eu-west-1',
    credentials: CREDENTIALS,
    endpoint: emulator.endpoint,
    requestsPerSecond: 1000,
    ...clientOptions,
  });
  const calls: IdentityStoreCall[] = [];
  const adapter = new IdentityStoreAdapter({ client, identityStoreId, onCall: (call) => calls.push(call) });
  return { emulator, adapter, calls };
}

let sequence = 0;
const uniqueName = (prefix: string) => `${prefix}-${process.pid}-${++sequence}`;

function fullUser(userName: string): UserAttributes {
  return {
    UserName: userName,
    DisplayName: 'Ada Lovelace',
    Name: { GivenName: 'Ada', FamilyName: 'Lovelace', Formatted: 'Ada Lovelace' },
    NickName: 'ada',
    Emails: [{ Value: `${userName}@example.com`, Type: 'work', Primary: true }],
    PhoneNumbers: [{ Value: '+44 20 7946 0000', Type: 'work', Primary: true }],
    Addresses: [{ Locality: 'London', Country: 'GB', Type: 'work', Primary: true }],
    Title: 'Analyst',
    PreferredLanguage: 'en-GB',
    Locale: 'en_GB',
    Timezone: 'Europe/London',
    Extensions: { 'aws:identitystore:enterprise': { employeeNumber: '1815', costCenter: 'R&D' } },
  };
}

/** The emulator, like IAM Identity Center, requires DisplayName and Name besides UserName. */
function minimalUser(userName: string, displayName = 'Test User'): UserAttributes {
  return { UserName: userName, DisplayName: displayName, Name: { GivenName: 'Test', FamilyName: 'User' } };
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

describe('IdentityStoreAdapter: users', () => {
  it('creates, finds and describes a user in the contract shape', async () => {
    const { adapter } = await setUp();
    const userName = uniqueName('ada');
    const attributes = fullUser(userName);
    const { userId, receipt } = await adapter.createUser(attributes);
    expect(receipt).toEqual({ requestId: expect.any(String), attempts: 1, waitedMs: 0 });

    expect(await adapter.findUserIdByUserName(userName)).toBe(userId);
    expect(await adapter.describeUser(userId)).toEqual({ userId, attributes, externalIds: [] });
  });

  it('does not send ExternalIds to CreateUser, which does not take them', async () => {
    const { adapter } = await setUp();
    const userName = uniqueName('ext');
    const withExternalIds = { ...minimalUser(userName), ExternalIds: [{ Issuer: 'hr', Id: '42' }] };
    const { userId } = await adapter.createUser(withExternalIds as UserAttributes);
    expect(await adapter.describeUser(userId)).toEqual({ userId, attributes: minimalUser(userName), externalIds: [] });
  });

  it('finds a SCIM-provisioned user by ExternalId and reports its ExternalIds', async () => {
    const { emulator, adapter } = await setUp();
    const externalId = { Issuer: 'https://hr.example.com', Id: 'E-1001' };
    const userId = emulator.seedUser(IDENTITY_STORE_ID, { ...minimalUser(uniqueName('scim')), ExternalIds: [externalId] });
    expect(await adapter.findUserIdByExternalId(externalId)).toBe(userId);
    expect((await adapter.describeUser(userId))?.externalIds).toEqual([externalId]);
  });

  it('updates attributes and removes one given without a value', async () => {
    const { adapter } = await setUp();
    const { userId } = await adapter.createUser(fullUser(uniqueName('upd')));
    const receipt = await adapter.updateUser(userId, [
      { attributePath: 'displayName', attributeValue: 'Countess of Lovelace' },
      { attributePath: 'nickName' },
    ]);
    expect(receipt.attempts).toBe(1);
    const stored = await adapter.describeUser(userId);
    expect(stored?.attributes.DisplayName).toBe('Countess of Lovelace');
    expect(stored?.attributes).not.toHaveProperty('NickName');
  });

  it('deletes a user, after which it is not found', async () => {
    const { adapter } = await setUp();
    const userName = uniqueName('del');
    const { userId } = await adapter.createUser(minimalUser(userName, 'Gone Soon'));
    await adapter.deleteUser(userId);
    expect(await adapter.describeUser(userId)).toBeUndefined();
    expect(await adapter.findUserIdByUserName(userName)).toBeUndefined();
  });

  it('answers undefined for users that do not exist', async () => {
    const { adapter } = await setUp();
    expect(await adapter.findUserIdByUserName(uniqueName('nobody'))).toBeUndefined();
    expect(await adapter.findUserIdByExternalId({ Issuer: 'hr', Id: 'missing' })).toBeUndefined();
    expect(await adapter.describeUser(UNKNOWN_ID)).toBeUndefined();
  });
});

describe('IdentityStoreAdapter: groups', () => {
  it('creates, finds, describes, updates and deletes a group', async () => {
    const { adapter } = await setUp();
    const displayName = uniqueName('Engineering');
    const { groupId, receipt } = await adapter.createGroup({ displayName, description: 'Builders' });
    expect(receipt.requestId).toEqual(expect.any(String));
    expect(await adapter.findGroupIdByDisplayName(displayName)).toBe(groupId);
    expect(await adapter.describeGroup(groupId)).toEqual({ groupId, displayName, description: 'Builders' });

    await adapter.updateGroup(groupId, [{ attributePath: 'description', attributeValue: 'Makers' }]);
    expect((await adapter.describeGroup(groupId))?.description).toBe('Makers');

    await adapter.deleteGroup(groupId);
    expect(await adapter.describeGroup(groupId)).toBeUndefined();
    expect(await adapter.findGroupIdByDisplayName(displayName)).toBeUndefined();
  });

  it('describes a group without a description without inventing one', async () => {
    const { adapter } = await setUp();
    const displayName = uniqueName('Plain');
    const { groupId } = await adapter.createGroup({ displayName });
    expect(await adapter.describeGroup(groupId)).toEqual({ groupId, displayName });
  });
});

describe('IdentityStoreAdapter: memberships', () => {
  it('creates, finds, lists and deletes memberships', async () => {
    const { adapter } = await setUp();
    const { groupId } = await adapter.createGroup({ displayName: uniqueName('Team') });
    const { userId: first } = await adapter.createUser(minimalUser(uniqueName('m1')));
    const { userId: second } = await adapter.createUser(minimalUser(uniqueName('m2')));

    const { membershipId } = await adapter.createMembership(groupId, first);
    await adapter.createMembership(groupId, second);

    expect(await adapter.findMembershipId(groupId, first)).toBe(membershipId);
    expect(await adapter.listMembershipsForUser(first)).toEqual([{ membershipId, groupId, userId: first }]);
    expect((await adapter.listMembershipsInGroup(groupId)).map((m) => m.userId).sort()).toEqual([first, second].sort());

    await adapter.deleteMembership(membershipId);
    expect(await adapter.findMembershipId(groupId, first)).toBeUndefined();
    expect(await adapter.listMembershipsForUser(first)).toEqual([]);
  });

  it('reads every page of a long membership list', async () => {
    const { adapter, calls } = await setUp();
    const { userId } = await adapter.createUser(minimalUser(uniqueName('joiner')));
    const { groupId: bigGroup } = await adapter.createGroup({ displayName: uniqueName('Everyone') });
    const groupIds: string[] = [];
    const userIds: string[] = [];
    for (let i = 0; i < 105; i++) {
      const { groupId } = await adapter.createGroup({ displayName: uniqueName('G') });
      await adapter.createMembership(groupId, userId);
      groupIds.push(groupId);
      const { userId: member } = await adapter.createUser(minimalUser(uniqueName('u')));
      await adapter.createMembership(bigGroup, member);
      userIds.push(member);
    }
    calls.length = 0;
    expect((await adapter.listMembershipsForUser(userId)).map((m) => m.groupId).sort()).toEqual(groupIds.sort());
    expect((await adapter.listMembershipsInGroup(bigGroup)).map((m) => m.userId).sort()).toEqual(userIds.sort());
    // 105 items at the default page size of 100: two pages each.
    expect(calls.map((call) => call.action)).toEqual([
      'ListGroupMembershipsForMember',
      'ListGroupMembershipsForMember',
      'ListGroupMemberships',
      'ListGroupMemberships',
    ]);
  });

  it('answers undefined or empty for memberships that do not exist', async () => {
    const { adapter } = await setUp();
    const { groupId } = await adapter.createGroup({ displayName: uniqueName('Empty') });
    const { userId } = await adapter.createUser(minimalUser(uniqueName('loner')));
    expect(await adapter.findMembershipId(groupId, userId)).toBeUndefined();
    expect(await adapter.listMembershipsInGroup(groupId)).toEqual([]);
    expect(await adapter.listMembershipsForUser(userId)).toEqual([]);
  });
});

describe('IdentityStoreAdapter: error mapping', () => {
  it('maps a duplicate user name to AlreadyExistsError', async () => {
    const { adapter } = await setUp();
    const userName = uniqueName('twin');
    await adapter.createUser(minimalUser(userName));
    const error = await rejectionOf(adapter.createUser(minimalUser(userName)));
    expect(error).toBeInstanceOf(AlreadyExistsError);
    expect(error.message).not.toContain(userName);
  });

  it('maps a duplicate group and a duplicate membership to AlreadyExistsError', async () => {
    const { adapter } = await setUp();
    const displayName = uniqueName('Dup');
    const { groupId } = await adapter.createGroup({ displayName });
    await expect(adapter.createGroup({ displayName })).rejects.toBeInstanceOf(AlreadyExistsError);
    const { userId } = await adapter.createUser(minimalUser(uniqueName('dm')));
    await adapter.createMembership(groupId, userId);
    await expect(adapter.createMembership(groupId, userId)).rejects.toBeInstanceOf(AlreadyExistsError);
  });

  it('maps a refused request to InvalidRequestError without the user name in the message', async () => {
    const { adapter } = await setUp();
    const userName = uniqueName('bad name with spaces');
    const error = await rejectionOf(adapter.createUser(minimalUser(userName)));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.message).toMatch(/^CreateUser: /);
    expect(error.message).not.toContain(userName);
  });

  it('maps a write to a missing resource to NotFoundError with its type', async () => {
    const { adapter } = await setUp();
    const { userId } = await adapter.createUser(minimalUser(uniqueName('nf')));
    const updateError = await rejectionOf(adapter.updateUser(UNKNOWN_ID, [{ attributePath: 'displayName', attributeValue: 'X' }]));
    expect(updateError).toBeInstanceOf(NotFoundError);
    expect((updateError as NotFoundError).resourceType).toBe('USER');
    const joinError = await rejectionOf(adapter.createMembership(UNKNOWN_ID, userId));
    expect(joinError).toBeInstanceOf(NotFoundError);
    expect((joinError as NotFoundError).resourceType).toBe('GROUP');
    await expect(adapter.deleteGroup(UNKNOWN_ID)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('treats a missing identity store as a deployment problem, not as "no such user"', async () => {
    const { adapter } = await setUp({}, {}, 'd-0000000000');
    const error = await rejectionOf(adapter.findUserIdByUserName(uniqueName('anyone')));
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).code).toBe('IDENTITY_STORE_NOT_FOUND');
  });

  it('hands back throttling the budget cannot absorb as RetryableError with the owed wait', async () => {
    const { adapter } = await setUp({ faults: 'throttle=1,retryAfter=1', seed: 7 }, { maxAttempts: 2, jitterMs: 0 });
    const error = await rejectionOf(adapter.createGroup({ displayName: uniqueName('Throttled') }));
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).code).toBe('IDENTITY_STORE_THROTTLED');
    expect((error as RetryableError).owedWaitMs).toBe(1000);
    expect((error as RetryableError).cause).toMatchObject({ name: 'ThrottlingException' });
  });
});

describe('IdentityStoreAdapter: throttling and faults', () => {
  it('gets a burst of calls through a 2 TPS quota, each retry waiting at least RetryAfterSeconds', async () => {
    // The client paces at 50/s, far above the quota, so the emulator has to throttle it.
    const { emulator, adapter, calls } = await setUp({ tps: 2, burst: 2 }, { requestsPerSecond: 50 });
    const names = Array.from({ length: 8 }, () => uniqueName('Burst'));
    const created = await Promise.all(names.map((displayName) => adapter.createGroup({ displayName })));

    expect(created).toHaveLength(8);
    expect(emulator.stats().throttled.quota).toBeGreaterThan(0);
    const retried = calls.filter((call) => call.attempts > 1);
    expect(retried.length).toBeGreaterThan(0);
    for (const call of calls) {
      expect(call.ok).toBe(true);
      // The emulator's quota throttles say RetryAfterSeconds >= 1.
      expect(call.waitedMs).toBeGreaterThanOrEqual(1000 * (call.attempts - 1));
    }
    for (const displayName of names) expect(await adapter.findGroupIdByDisplayName(displayName)).toBeDefined();
  });

  it('is never throttled when its pace matches the quota', async () => {
    const { emulator, adapter, calls } = await setUp({ tps: 2, burst: 2 }, { requestsPerSecond: 2 });
    await Promise.all(Array.from({ length: 6 }, () => adapter.createGroup({ displayName: uniqueName('Paced') })));
    expect(emulator.stats().throttled.quota).toBe(0);
    expect(calls.map((call) => call.attempts)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('gets a whole workload through seeded faults, and onCall accounts for every attempt', async () => {
    // retryAfter=0 keeps the run short: the waits themselves are proven above.
    const { emulator, adapter, calls } = await setUp(
      { faults: 'throttle=0.3,server=0.1,conflict=0.1,drop=0.05,retryAfter=0', seed: 20240611 },
      { jitterMs: 20 },
    );
    const { groupId } = await adapter.createGroup({ displayName: uniqueName('Chaos'), description: 'faults on' });
    const userIds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const userName = uniqueName('chaos');
      const { userId } = await adapter.createUser(minimalUser(userName, `Chaos ${i}`));
      expect(await adapter.findUserIdByUserName(userName)).toBe(userId);
      await adapter.updateUser(userId, [{ attributePath: 'title', attributeValue: 'Tester' }]);
      await adapter.createMembership(groupId, userId);
      userIds.push(userId);
    }
    await adapter.updateGroup(groupId, [{ attributePath: 'description', attributeValue: 'survived' }]);
    const members = await adapter.listMembershipsInGroup(groupId);
    expect(members.map((m) => m.userId).sort()).toEqual([...userIds].sort());
    for (const member of members) await adapter.deleteMembership(member.membershipId);
    for (const userId of userIds) await adapter.deleteUser(userId);
    expect(await adapter.describeGroup(groupId)).toMatchObject({ description: 'survived' });

    const stats = emulator.stats();
    const injected = stats.faults.throttle + stats.faults.server + stats.faults.conflict + stats.faults.drop;
    expect(injected).toBeGreaterThan(0);
    expect(calls.every((call) => call.ok)).toBe(true);
    // Every HTTP attempt the emulator saw is in some call's attempts, and nothing else is.
    expect(calls.reduce((total, call) => total + call.attempts, 0)).toBe(stats.totalCalls);
  });

  it('reports failed calls to onCall with their error name', async () => {
    const { adapter, calls } = await setUp();
    await adapter.findUserIdByUserName(uniqueName('ghost'));
    expect(calls).toEqual([
      { action: 'GetUserId', ok: false, errorName: 'ResourceNotFoundException', attempts: 1, waitedMs: 0, requestId: expect.any(String) },
    ]);
  });
});
