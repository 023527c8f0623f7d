/**
 * DynamoDB's key limits are bytes of UTF-8 (partition key 2,048, sort key 1,024, GSI keys alike);
 * dynalite counts UTF-16 code units and lets longer keys through. These tests write the longest
 * inputs events may carry through the real adapters and SDK clients into dynalite, read them back,
 * then read the raw items and measure every key in bytes.
 */
import { makeIdempotent, IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { DynamoDbAuditLog, auditKeys, type AuditItem } from '../../lambdas/adapters/dynamodb-audit-log';
import { DynamoDbAuditQuery } from '../../lambdas/adapters/dynamodb-audit-query';
import {
  DIGEST_PREFIX,
  PARTITION_KEY_MAX_BYTES,
  PARTITION_KEY_READABLE_PART_MAX_BYTES,
  SORT_KEY_MAX_BYTES,
  SORT_KEY_READABLE_PART_MAX_BYTES,
  keyPart,
  partitionKey,
  sortKey,
} from '../../lambdas/adapters/dynamodb-keys';
import { DynamoDbProcessingState, stateKeys } from '../../lambdas/adapters/dynamodb-processing-state';
import { membershipSetKeys, personKeys, subjectKey } from '../../lambdas/domain/ordering';
import type { OutcomeRecord, WriteRecord } from '../../lambdas/domain/ports';
import { AUDIT_TABLE } from '../../lambdas/shared/tables';
import { useDynalite } from '../support/dynalite';

const bytes = (value: string) => Buffer.byteLength(value, 'utf8');

// The longest parts an event can carry, in the characters that cost the most bytes.
/** A group DisplayName of 1,024 CJK characters: 3,072 bytes. */
const LONG_GROUP = '漢'.repeat(1_023) + '字';
/** The same but for its last character. */
const LONG_GROUP_TWIN = '漢'.repeat(1_023) + '子';
/** A UserName of 128 astral-plane capitals (Deseret, which has case): 512 bytes. */
const LONG_USER = '\u{10400}'.repeat(127) + '\u{10401}';
/** The same name in small letters, as another producer may spell it. */
const LONG_USER_LOWER = '\u{10428}'.repeat(127) + '\u{10429}';
/** An ExternalId with a 100-character Issuer and a 256-character Id, CJK: 9 bytes each once URI-encoded. */
const LONG_EXTERNAL_ID = { Issuer: '発'.repeat(100), Id: '番'.repeat(256) };
/** An event id of 128 astral characters: 512 bytes. */
const LONG_EVENT_ID = '\u{1F600}'.repeat(128);
/** An actor of 256 astral characters: 1,024 bytes. */
const LONG_ACTOR = '\u{1D4D0}'.repeat(256);

describe('keyPart and the key builders', () => {
  it('keeps a part that fits comfortably as it is', () => {
    expect(keyPart('Engineering')).toBe('Engineering');
    expect(partitionKey('GROUP#', 'engineering')).toBe('GROUP#engineering');
    const atThreshold = 'a'.repeat(PARTITION_KEY_READABLE_PART_MAX_BYTES);
    expect(keyPart(atThreshold)).toBe(atThreshold);
  });

  it('replaces a longer part by the sha256 of its UTF-8, the same every time', () => {
    const part = keyPart(LONG_GROUP);
    expect(part).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(keyPart(LONG_GROUP)).toBe(part);
    expect(keyPart('a'.repeat(PARTITION_KEY_READABLE_PART_MAX_BYTES + 1))).toMatch(/^sha256:/);
  });

  it('measures in bytes, not characters: 342 CJK characters are over 1,024 bytes', () => {
    expect(keyPart('漢'.repeat(341))).toBe('漢'.repeat(341));
    expect(keyPart('漢'.repeat(342))).toMatch(/^sha256:/);
  });

  it('never truncates: two long parts differing only at the end get different keys', () => {
    expect(keyPart(LONG_GROUP)).not.toBe(keyPart(LONG_GROUP_TWIN));
  });

  it('digests a part that looks like a digest, so it cannot pass for another part', () => {
    const digest = keyPart(LONG_GROUP);
    expect(keyPart(digest)).not.toBe(digest);
    expect(keyPart(digest)).toMatch(/^sha256:/);
  });

  it('bounds sort keys at half their own limit', () => {
    expect(sortKey('', 'b'.repeat(SORT_KEY_READABLE_PART_MAX_BYTES))).toHaveLength(SORT_KEY_READABLE_PART_MAX_BYTES);
    expect(sortKey('', 'b'.repeat(SORT_KEY_READABLE_PART_MAX_BYTES + 1)).startsWith(DIGEST_PREFIX)).toBe(true);
  });

  it('refuses to build a key over the limit (only an over-long fixed part could)', () => {
    expect(() => partitionKey('P'.repeat(PARTITION_KEY_MAX_BYTES), 'x')).toThrow(/2048 bytes/);
    expect(() => sortKey('S'.repeat(SORT_KEY_MAX_BYTES), 'x')).toThrow(/1024 bytes/);
  });
});

describe('every key built from the longest inputs fits DynamoDB, through the adapters and dynalite', () => {
  const dynamo = useDynalite();
  const at = '2024-05-01T09:00:02.000Z';

  const outcome = (overrides: Partial<OutcomeRecord>): OutcomeRecord => ({
    eventId: LONG_EVENT_ID,
    attempt: 1,
    at,
    receivedAt: '2024-05-01T09:00:00.000Z',
    occurredAt: '2024-05-01T08:59:00.000Z',
    source: 's'.repeat(256),
    producer: 'hr',
    senderId: 'AIDAEVENTBRIDGERULE',
    via: 'bus',
    actor: LONG_ACTOR,
    type: 'membership.added',
    identityStoreId: 'd-1234567890',
    userName: LONG_USER,
    groupDisplayName: LONG_GROUP,
    outcome: 'APPLIED',
    waitedMs: 0,
    writes: 1,
    ...overrides,
  });
  const write = (overrides: Partial<WriteRecord>): WriteRecord => ({
    eventId: LONG_EVENT_ID,
    sequence: 0,
    attempt: 1,
    at: '2024-05-01T09:00:01.000Z',
    action: 'CreateGroupMembership',
    producer: 'hr',
    senderId: 'AIDAEVENTBRIDGERULE',
    via: 'bus',
    actor: LONG_ACTOR,
    identityStoreId: 'd-1234567890',
    userId: 'u-1',
    userName: LONG_USER,
    groupId: 'g-1',
    groupDisplayName: LONG_GROUP,
    membershipId: 'm-1',
    requestId: 'req-1',
    attempts: 1,
    waitedMs: 0,
    ...overrides,
  });

  const scan = async (tableName: string): Promise<AuditItem[]> => {
    const items: AuditItem[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await dynamo.current.documentClient.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }));
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  };

  beforeAll(async () => {
    const log = new DynamoDbAuditLog({ client: dynamo.current.client, tableName: dynamo.current.tables.audit, retentionDays: 0 });
    await log.recordWrite(write({}));
    await log.recordOutcome(outcome({ outcome: 'FAILED', errorCode: 'IDENTITY_STORE_THROTTLED' }));
    await log.recordOutcome(outcome({ attempt: 2, at: '2024-05-01T09:00:03.000Z' }));
    await log.recordOutcome(outcome({ eventId: 'twin', groupDisplayName: LONG_GROUP_TWIN, at: '2024-05-01T09:00:04.000Z' }));

    const state = new DynamoDbProcessingState({ client: dynamo.current.client, tableName: dynamo.current.tables.state });
    const subjects = [
      subjectKey.membership(LONG_USER, LONG_GROUP),
      subjectKey.membership(LONG_USER, LONG_GROUP_TWIN),
      subjectKey.group(LONG_GROUP),
      ...membershipSetKeys(personKeys(LONG_USER, [LONG_EXTERNAL_ID])),
      ...personKeys(LONG_USER, [LONG_EXTERNAL_ID]),
    ];
    await state.advanceWatermarks(subjects, { occurredAt: '2024-05-01T08:59:00.000Z', eventId: LONG_EVENT_ID, kind: 'added' });
    await state.advanceWatermarks([subjectKey.membership(LONG_USER, LONG_GROUP_TWIN)], {
      occurredAt: '2024-05-01T09:30:00.000Z',
      eventId: 'twin',
      kind: 'removed',
    });
    expect(await state.tryLeaseSubjects(subjects, LONG_EVENT_ID, new Date(0), new Date(60_000))).toEqual({ leased: true });
    await state.recordGroupCreationIntent(LONG_GROUP, LONG_EVENT_ID);
    await state.putUserIdForExternalId(LONG_EXTERNAL_ID, 'u-1');
    await state.markManagedGroup('g-1', LONG_GROUP);
  });

  it('keeps every partition and GSI partition key within 2,048 bytes and every sort key within 1,024', async () => {
    const audit = await scan(dynamo.current.tables.audit);
    const state = await scan(dynamo.current.tables.state);
    expect(audit).toHaveLength(4);
    expect(state.length).toBeGreaterThanOrEqual(17);
    const partitionKeyNames = [AUDIT_TABLE.partitionKey, ...Object.values(AUDIT_TABLE.indexes).map((index) => index.partitionKey)];
    for (const item of audit) {
      for (const name of partitionKeyNames) {
        if (item[name] !== undefined) expect(bytes(String(item[name]))).toBeLessThanOrEqual(PARTITION_KEY_MAX_BYTES);
      }
      expect(bytes(String(item[AUDIT_TABLE.sortKey]))).toBeLessThanOrEqual(SORT_KEY_MAX_BYTES);
      // The long name is digested, the short event-derived parts stay readable.
      expect(String(item.groupKey)).toMatch(/^GROUP#sha256:[0-9a-f]{64}$/);
      expect(item.userKey).toBe(`USER#${LONG_USER_LOWER}`);
    }
    for (const item of state) expect(bytes(String(item.pk))).toBeLessThanOrEqual(PARTITION_KEY_MAX_BYTES);
    // Each of those inputs, kept whole, would have been refused by DynamoDB.
    expect(bytes(`GROUP#${LONG_GROUP}`)).toBeGreaterThan(PARTITION_KEY_MAX_BYTES);
    expect(bytes(`WM#${subjectKey.membership(LONG_USER, LONG_GROUP)}`)).toBeGreaterThan(PARTITION_KEY_MAX_BYTES);
    expect(bytes(`EXT#${encodeURIComponent(LONG_EXTERNAL_ID.Issuer)}#${encodeURIComponent(LONG_EXTERNAL_ID.Id)}`)).toBeGreaterThan(
      PARTITION_KEY_MAX_BYTES,
    );
  });

  it('finds a user by name in any case, and a group by its long name, through the query side', async () => {
    const query = new DynamoDbAuditQuery({ client: dynamo.current.client, tableName: dynamo.current.tables.audit });
    const byUpper = await query.userTimeline(LONG_USER);
    const byLower = await query.userTimeline(LONG_USER_LOWER);
    expect(byUpper.records).toHaveLength(4);
    expect(byLower.records).toEqual(byUpper.records);

    const group = await query.groupHistory(LONG_GROUP);
    expect(group.records.map((r) => `${r.kind}/${r.attempt}`)).toEqual(['WRITE/1', 'OUTCOME/1', 'OUTCOME/2']);
    expect(group.records.every((r) => r.eventId === LONG_EVENT_ID)).toBe(true);
    const twin = await query.groupHistory(LONG_GROUP_TWIN);
    expect(twin.records.map((r) => r.eventId)).toEqual(['twin']);

    const event = await query.eventHistory(LONG_EVENT_ID);
    expect(event.records).toHaveLength(3);
    const window = { since: new Date('2024-05-01T00:00:00.000Z'), until: new Date('2024-05-02T00:00:00.000Z') };
    expect((await query.byActor(LONG_ACTOR, window)).records).toHaveLength(4);
    expect((await query.failures(window)).records.map((r) => r.eventId)).toEqual([LONG_EVENT_ID]);
  });

  it('reads the watermarks, the intent and the ExternalId back under the keys it wrote them', async () => {
    const state = new DynamoDbProcessingState({ client: dynamo.current.client, tableName: dynamo.current.tables.state });
    const pair = subjectKey.membership(LONG_USER, LONG_GROUP);
    const twinPair = subjectKey.membership(LONG_USER, LONG_GROUP_TWIN);
    const person = personKeys(LONG_USER, [LONG_EXTERNAL_ID]);
    const marks = await state.getWatermarks([pair, twinPair, ...person, ...membershipSetKeys(person), 'user:name:nobody']);
    expect(marks.get(pair)).toMatchObject({ eventId: LONG_EVENT_ID, kind: 'added' });
    // The names differ only in their last character: two subjects, two marks.
    expect(marks.get(twinPair)).toMatchObject({ eventId: 'twin', kind: 'removed' });
    for (const key of [...person, ...membershipSetKeys(person)]) expect(marks.get(key)?.eventId).toBe(LONG_EVENT_ID);
    expect(marks.has('user:name:nobody')).toBe(false);
    expect(stateKeys.watermark(pair)).not.toBe(stateKeys.watermark(twinPair));

    // Held under the digested keys: another owner is refused, the holder releases them.
    const leased = await state.tryLeaseSubjects([pair], 'other', new Date(1_000), new Date(2_000));
    expect(leased).toEqual({ leased: false, heldUntil: new Date(60_000) });
    await state.releaseSubjects([pair], LONG_EVENT_ID);
    expect(await state.tryLeaseSubjects([pair], 'other', new Date(1_000), new Date(2_000))).toEqual({ leased: true });

    expect(await state.hasGroupCreationIntent(LONG_GROUP)).toBe(true);
    expect(await state.hasGroupCreationIntent(LONG_GROUP_TWIN)).toBe(false);
    expect(await state.getUserIdForExternalId(LONG_EXTERNAL_ID)).toBe('u-1');
    expect(await state.getUserIdForExternalId({ ...LONG_EXTERNAL_ID, Id: `${LONG_EXTERNAL_ID.Id.slice(0, -1)}x` })).toBeUndefined();
  });

  it('keys the group creation intent by the folded name', async () => {
    const state = new DynamoDbProcessingState({ client: dynamo.current.client, tableName: dynamo.current.tables.state });
    await state.recordGroupCreationIntent('\u{10400}-Platform', 'e-intent');
    expect(await state.hasGroupCreationIntent('\u{10428}-PLATFORM')).toBe(true);
    expect(stateKeys.groupCreationIntent('\u{10400}-Platform')).toBe('INTENT#group:\u{10428}-platform');
  });
});

describe('records written before names were folded are still found', () => {
  const dynamo = useDynalite();

  it('reads the old case-preserving user and group partitions along with the folded ones', async () => {
    const log = new DynamoDbAuditLog({ client: dynamo.current.client, tableName: dynamo.current.tables.audit, retentionDays: 0 });
    const base: OutcomeRecord = {
      eventId: 'new',
      attempt: 1,
      at: '2024-05-02T09:00:00.000Z',
      receivedAt: '2024-05-02T08:59:59.000Z',
      source: 'hr.workday',
      producer: 'hr',
      senderId: 'AIDAEVENTBRIDGERULE',
      via: 'bus',
      actor: 'hr',
      type: 'membership.added',
      identityStoreId: 'd-1234567890',
      userName: 'Ada',
      groupDisplayName: 'Platform',
      outcome: 'APPLIED',
      waitedMs: 0,
      writes: 1,
    };
    await log.recordOutcome(base);
    // As the trail wrote it before: userKey USER#<name as sent>.
    await dynamo.current.documentClient.send(
      new PutCommand({
        TableName: dynamo.current.tables.audit,
        Item: {
          pk: auditKeys.event('old'),
          sk: auditKeys.outcomeSk('2024-05-01T09:00:00.000Z', 1),
          kind: 'OUTCOME',
          day: '2024-05-01',
          userKey: 'USER#Ada',
          groupKey: 'GROUP#Platform',
          ...base,
          eventId: 'old',
          at: '2024-05-01T09:00:00.000Z',
        },
      }),
    );
    const query = new DynamoDbAuditQuery({ client: dynamo.current.client, tableName: dynamo.current.tables.audit });
    expect((await query.userTimeline('Ada')).records.map((r) => r.eventId)).toEqual(['old', 'new']);
    expect((await query.groupHistory('Platform')).records.map((r) => r.eventId)).toEqual(['old', 'new']);
    // Spelled another way, only the folded partition matches.
    expect((await query.userTimeline('ADA')).records.map((r) => r.eventId)).toEqual(['new']);
  });
});

describe('Powertools idempotency keys', () => {
  const dynamo = useDynalite();

  it('stores a digest of the key expression, whatever its length: <function name>#<md5, base64>', async () => {
    // The prefix is the function's name, at most 64 characters in Lambda: the longest.
    const functionName = 'f'.repeat(64);
    const saved = process.env.AWS_LAMBDA_FUNCTION_NAME;
    process.env.AWS_LAMBDA_FUNCTION_NAME = functionName;
    try {
      const config = new IdempotencyConfig({ eventKeyJmesPath: 'idempotencyKey' });
      config.registerLambdaContext({ getRemainingTimeInMillis: () => 60_000 } as Context);
      const handle = makeIdempotent(async (input: { idempotencyKey: string }) => ({ seen: input.idempotencyKey.length }), {
        persistenceStore: new DynamoDBPersistenceLayer({ tableName: dynamo.current.tables.idempotency, awsSdkV3Client: dynamo.current.client }),
        config,
      });
      const longKey = `${'q'.repeat(80)}|${'s'.repeat(256)}|${LONG_EVENT_ID}|${LONG_GROUP}`;
      await handle({ idempotencyKey: longKey });
    } finally {
      if (saved === undefined) delete process.env.AWS_LAMBDA_FUNCTION_NAME;
      else process.env.AWS_LAMBDA_FUNCTION_NAME = saved;
    }
    const { Items } = await dynamo.current.documentClient.send(new ScanCommand({ TableName: dynamo.current.tables.idempotency }));
    expect(Items).toHaveLength(1);
    const id = String(Items?.[0]?.id);
    expect(id).toMatch(new RegExp(`^${functionName}#[A-Za-z0-9+/]{22}==$`));
    expect(bytes(id)).toBe(64 + 1 + 24);
  });
});
