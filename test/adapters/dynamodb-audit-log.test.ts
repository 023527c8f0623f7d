import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  auditContentHash,
  AuditRecordConflictError,
  DynamoDbAuditLog,
  fromAuditItem,
  toAuditItem,
  toLinkItems,
  type AuditRecord,
} from '../../lambdas/adapters/dynamodb-audit-log';
import type { OutcomeRecord, WriteRecord } from '../../lambdas/domain/ports';
import { AUDIT_TABLE, type AuditIndexName } from '../../lambdas/shared/tables';
import { useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const STORE = 'd-1234567890';

function auditLog(retentionDays = 0): DynamoDbAuditLog {
  return new DynamoDbAuditLog({ client: dynamo.current.client, tableName: dynamo.current.tables.audit, retentionDays });
}

function outcome(overrides: Partial<OutcomeRecord> = {}): OutcomeRecord {
  return {
    eventId: 'evt-1',
    attempt: 1,
    at: '2024-05-01T09:00:02.000Z',
    receivedAt: '2024-05-01T09:00:00.000Z',
    occurredAt: '2024-05-01T08:59:00.000Z',
    source: 'hr.workday',
    producer: 'hr',
    senderId: 'AIDAEVENTBRIDGERULE',
    via: 'bus',
    actor: 'workday-sync',
    type: 'user.upserted',
    identityStoreId: STORE,
    userName: 'jdoe',
    userId: 'u-1',
    outcome: 'APPLIED',
    waitedMs: 0,
    writes: 1,
    ...overrides,
  };
}

function write(overrides: Partial<WriteRecord> = {}): WriteRecord {
  return {
    eventId: 'evt-1',
    sequence: 0,
    attempt: 1,
    at: '2024-05-01T09:00:01.000Z',
    action: 'CreateGroupMembership',
    producer: 'hr',
    senderId: 'AIDAEVENTBRIDGERULE',
    via: 'bus',
    actor: 'workday-sync',
    identityStoreId: STORE,
    userId: 'u-1',
    userName: 'jdoe',
    groupId: 'g-1',
    groupDisplayName: 'Engineering',
    membershipId: 'm-1',
    requestId: 'req-1',
    attempts: 2,
    waitedMs: 1000,
    ...overrides,
  };
}

async function storedItem(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo.current.documentClient.send(
    new GetCommand({ TableName: dynamo.current.tables.audit, Key: { pk, sk } }),
  );
  return Item;
}

async function queryIndex(index: AuditIndexName, value: string): Promise<AuditRecord[]> {
  const key = AUDIT_TABLE.indexes[index].partitionKey;
  const { Items } = await dynamo.current.documentClient.send(
    new QueryCommand({
      TableName: dynamo.current.tables.audit,
      IndexName: index,
      KeyConditionExpression: '#key = :value',
      ExpressionAttributeNames: { '#key': key },
      ExpressionAttributeValues: { ':value': value },
    }),
  );
  return (Items ?? []).map(fromAuditItem);
}

describe('DynamoDbAuditLog keys and index attributes', () => {
  it('keys an outcome by event and time, and indexes it by user, day, actor and problem', async () => {
    const record = outcome({ eventId: 'evt-keys-1', outcome: 'FAILED', errorCode: 'IDENTITY_STORE_THROTTLED', errorMessage: 'Rate exceeded' });
    await auditLog().recordOutcome(record);

    const item = await storedItem('EVENT#evt-keys-1', '2024-05-01T09:00:02.000Z#OUTCOME#0001');
    expect(item).toMatchObject({
      kind: 'OUTCOME',
      userKey: 'USER#jdoe',
      day: '2024-05-01',
      actorDay: 'workday-sync#2024-05-01',
      problemDay: 'FAILED#2024-05-01',
      errorCode: 'IDENTITY_STORE_THROTTLED',
      producer: 'hr',
      senderId: 'AIDAEVENTBRIDGERULE',
      via: 'bus',
    });
    expect(item).not.toHaveProperty('groupKey');
    expect(item).not.toHaveProperty('expiresAt');
  });

  it('keys a write by attempt and sequence, and indexes a membership write under both user and group', async () => {
    await auditLog().recordWrite(write({ eventId: 'evt-keys-2', attempt: 3, sequence: 12 }));

    const item = await storedItem('EVENT#evt-keys-2', '2024-05-01T09:00:01.000Z#WRITE#0003#0012');
    expect(item).toMatchObject({
      kind: 'WRITE',
      userKey: 'USER#jdoe',
      groupKey: 'GROUP#engineering',
      day: '2024-05-01',
      actorDay: 'workday-sync#2024-05-01',
      producer: 'hr',
      senderId: 'AIDAEVENTBRIDGERULE',
      via: 'bus',
    });
    expect(item).not.toHaveProperty('problemDay');
  });

  it.each(['APPLIED', 'NOOP', 'SUPERSEDED', 'RETRYING'] as const)('leaves a %s outcome out of byProblem', (result) => {
    expect(toAuditItem({ kind: 'OUTCOME', ...outcome({ outcome: result }) })).not.toHaveProperty('problemDay');
  });

  it('omits actorDay when the outcome has no actor (an event too broken to name one)', () => {
    const item = toAuditItem({ kind: 'OUTCOME', ...outcome({ actor: undefined, outcome: 'REJECTED' }) });
    expect(item).not.toHaveProperty('actorDay');
    expect(item.problemDay).toBe('REJECTED#2024-05-01');
  });

  it('keys a time with an offset by its UTC instant and UTC day', () => {
    const item = toAuditItem({ kind: 'OUTCOME', ...outcome({ at: '2024-05-01T01:30:00+02:00' }) });
    expect(item.sk).toBe('2024-04-30T23:30:00.000Z#OUTCOME#0001');
    expect(item.day).toBe('2024-04-30');
    expect(item.at).toBe('2024-05-01T01:30:00+02:00');
  });
});

describe('DynamoDbAuditLog round trip', () => {
  it('reads back exactly the record it stored, changes included', async () => {
    const record = write({
      eventId: 'evt-round-trip',
      action: 'UpdateUser',
      groupId: undefined,
      groupDisplayName: undefined,
      membershipId: undefined,
      changes: [
        { path: 'displayName', before: 'Jane Doe', after: 'Jane Smith' },
        { path: 'title', before: '', after: 'Engineer' },
        { path: 'name', before: { givenName: 'Jane', middle: null }, after: { givenName: 'Jane', nested: [1, { a: '' }] } },
        { path: 'nickName', after: 'JJ' },
        { path: 'timezone', before: 'Europe/Paris' },
      ],
    });
    await auditLog().recordWrite(record);

    const item = await storedItem('EVENT#evt-round-trip', '2024-05-01T09:00:01.000Z#WRITE#0001#0000');
    expect(item).toBeDefined();
    expect(fromAuditItem(item!)).toEqual({ kind: 'WRITE', ...record });
    expect(Object.keys(fromAuditItem(item!))).not.toContain('groupId');
  });

  it('reads back an outcome record with every optional field', async () => {
    const record = outcome({ eventId: 'evt-round-trip-2', outcome: 'RETRYING', owedWaitMs: 2000, errorCode: 'IDENTITY_STORE_THROTTLED', errorMessage: '' });
    await auditLog().recordOutcome(record);
    const item = await storedItem('EVENT#evt-round-trip-2', '2024-05-01T09:00:02.000Z#OUTCOME#0001');
    expect(fromAuditItem(item!)).toEqual({ kind: 'OUTCOME', ...record });
  });

  it('refuses an item of unknown kind', () => {
    expect(() => fromAuditItem({ pk: 'EVENT#x', sk: 'y', kind: 'OTHER' })).toThrow(/unknown kind/);
  });
});

describe('DynamoDbAuditLog is append-only', () => {
  it('accepts the same record again (a retry whose first response was lost)', async () => {
    const record = outcome({ eventId: 'evt-append-1' });
    await auditLog().recordOutcome(record);
    await expect(auditLog().recordOutcome({ ...record })).resolves.toBeUndefined();
  });

  it('accepts the same record again after the retention setting changed', async () => {
    const record = write({ eventId: 'evt-append-2' });
    await auditLog(30).recordWrite(record);
    await expect(auditLog(0).recordWrite(record)).resolves.toBeUndefined();
  });

  it('refuses a different record with the same key and keeps the first', async () => {
    const first = outcome({ eventId: 'evt-append-3', outcome: 'APPLIED' });
    await auditLog().recordOutcome(first);

    await expect(auditLog().recordOutcome({ ...first, outcome: 'FAILED' })).rejects.toBeInstanceOf(
      AuditRecordConflictError,
    );
    const item = await storedItem('EVENT#evt-append-3', '2024-05-01T09:00:02.000Z#OUTCOME#0001');
    expect(item?.outcome).toBe('APPLIED');
  });

  it('lets any other error through (here: a table that does not exist)', async () => {
    const missing = new DynamoDbAuditLog({ client: dynamo.current.client, tableName: 'no-such-table', retentionDays: 0 });
    await expect(missing.recordOutcome(outcome())).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('DynamoDbAuditLog retention', () => {
  it('sets expiresAt to the record time plus the retention days, in epoch seconds', async () => {
    await auditLog(90).recordOutcome(outcome({ eventId: 'evt-ttl' }));
    const item = await storedItem('EVENT#evt-ttl', '2024-05-01T09:00:02.000Z#OUTCOME#0001');
    expect(item?.expiresAt).toBe(Date.parse('2024-05-01T09:00:02.000Z') / 1000 + 90 * 86_400);
  });

  it('refuses a negative or fractional retention', () => {
    expect(() => auditLog(-1)).toThrow(/retentionDays/);
    expect(() => auditLog(1.5)).toThrow(/retentionDays/);
  });
});

describe('DynamoDbAuditLog indexes return records in time order', () => {
  const day = '2031-02-03';
  const at = (time: string) => `${day}T${time}Z`;
  const records: AuditRecord[] = [
    { kind: 'OUTCOME', ...outcome({ eventId: 'ord-2', at: at('10:00:05.000'), actor: 'okta', userName: 'ann', type: 'membership.added', groupDisplayName: 'Ops', outcome: 'REJECTED', errorCode: 'GROUP_NOT_MANAGED' }) },
    { kind: 'WRITE', ...write({ eventId: 'ord-1', at: at('10:00:01.000'), actor: 'okta', userName: 'ann', groupDisplayName: 'Ops' }) },
    { kind: 'OUTCOME', ...outcome({ eventId: 'ord-3', at: at('10:00:09.000'), actor: 'okta', userName: 'ann', groupDisplayName: 'Ops', type: 'membership.removed', outcome: 'FAILED', errorCode: 'IDENTITY_STORE_THROTTLED' }) },
    { kind: 'OUTCOME', ...outcome({ eventId: 'ord-1', at: at('10:00:02.000'), actor: 'okta', userName: 'ann', groupDisplayName: 'Ops', type: 'membership.added' }) },
    { kind: 'OUTCOME', ...outcome({ eventId: 'ord-0', at: at('09:59:59.000'), actor: 'okta', userName: 'ann', groupDisplayName: 'Ops', outcome: 'FAILED' }) },
  ];
  const inTimeOrder = [...records].sort((a, b) => a.at.localeCompare(b.at)).map((r) => `${r.eventId}/${r.kind}`);
  const ids = (found: AuditRecord[]) => found.map((r) => `${r.eventId}/${r.kind}`);

  beforeAll(async () => {
    const log = auditLog();
    for (const record of records) {
      await log.append(record);
    }
  });

  it('byUser', async () => expect(ids(await queryIndex('byUser', 'USER#ann'))).toEqual(inTimeOrder));
  it('byGroup', async () => expect(ids(await queryIndex('byGroup', 'GROUP#ops'))).toEqual(inTimeOrder));
  it('byDay', async () => expect(ids(await queryIndex('byDay', day))).toEqual(inTimeOrder));
  it('byActor', async () => expect(ids(await queryIndex('byActor', `okta#${day}`))).toEqual(inTimeOrder));
  it('byProblem (FAILED only)', async () =>
    expect(ids(await queryIndex('byProblem', `FAILED#${day}`))).toEqual(['ord-0/OUTCOME', 'ord-3/OUTCOME']));
  it('byProblem (REJECTED only)', async () =>
    expect(ids(await queryIndex('byProblem', `REJECTED#${day}`))).toEqual(['ord-2/OUTCOME']));
});

describe('DynamoDbAuditLog: a person, and each record sealed with its content hash', () => {
  const table = () => dynamo.current.tables.audit;
  const get = async (pk: string, sk: string) =>
    (await dynamo.current.documentClient.send(new GetCommand({ TableName: table(), Key: { pk, sk } }))).Item!;

  it('puts every record that names a UserId in byPerson, an intent too, and every record in byDay', () => {
    const intent = toAuditItem({ kind: 'INTENT', ...write({ userId: 'u-7' }) });
    expect(intent).toMatchObject({ personKey: 'USERID#u-7', day: '2024-05-01' });
    expect(intent).not.toHaveProperty('userKey');
    expect(toAuditItem({ kind: 'OUTCOME', ...outcome({ userId: 'u-7' }) })).toMatchObject({ personKey: 'USERID#u-7' });
    expect(toAuditItem({ kind: 'OUTCOME', ...outcome({ userId: undefined }) })).not.toHaveProperty('personKey');
  });

  it("links each of a user event's ExternalIds to its UserId, before the outcome; a retry puts the same links", async () => {
    const record = outcome({ eventId: 'evt-links', userId: 'u-8', externalIds: [{ Issuer: 'https://hr.example.com/', Id: 'E 1' }, { Issuer: 'workday', Id: 'W-8' }] });
    await auditLog().recordOutcome(record);
    await auditLog().recordOutcome(record);
    const links = toLinkItems(record);
    expect(links.map((link) => link.personKey)).toEqual([`EXTID#${encodeURIComponent('https://hr.example.com/')}:E%201`, 'EXTID#workday:W-8']);
    for (const link of links) {
      expect(await get(String(link.pk), String(link.sk))).toEqual(link);
      expect(String(link.sk) < String(toAuditItem({ kind: 'OUTCOME', ...record }).sk)).toBe(true);
    }
    expect(toLinkItems({ ...record, userId: undefined })).toEqual([]);
  });

  it('seals every item with the SHA-256 of its content: any change of a field shows, expiresAt aside', async () => {
    await auditLog(30).recordWrite(write({ eventId: 'evt-sealed' }));
    const item = toAuditItem({ kind: 'WRITE', ...write({ eventId: 'evt-sealed' }) }, { retentionDays: 30 });
    const stored = await get(String(item.pk), String(item.sk));
    expect(stored.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(auditContentHash(stored)).toBe(stored.contentHash);
    expect(auditContentHash({ ...stored, expiresAt: 1 })).toBe(stored.contentHash);
    expect(auditContentHash({ ...stored, actor: 'someone-else' })).not.toBe(stored.contentHash);
    expect(auditContentHash({ ...stored, actor: `${String(stored.actor)} ` })).not.toBe(stored.contentHash);
    // Attribute order does not matter; the content does.
    expect(auditContentHash(Object.fromEntries(Object.entries(stored).reverse()))).toBe(stored.contentHash);
    expect(fromAuditItem(stored)).not.toHaveProperty('contentHash');
    // A DynamoDB set (none is written today) is hashed by its members, in any order.
    expect(auditContentHash({ ...stored, tags: new Set(['a', 'b']) })).not.toBe(auditContentHash({ ...stored, tags: new Set(['a', 'c']) }));
    expect(auditContentHash({ ...stored, tags: new Set(['a', 'b']) })).toBe(auditContentHash({ ...stored, tags: new Set(['b', 'a']) }));
    expect(auditContentHash({ ...stored, tags: new Set(['a']) })).not.toBe(auditContentHash({ ...stored, tags: ['a'] }));
  });
});
