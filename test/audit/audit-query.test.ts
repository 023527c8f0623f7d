import {
  DynamoDbAuditQuery,
  InvalidAuditQueryError,
  type AuditQueryResult,
} from '../../lambdas/adapters/dynamodb-audit-query';
import type { AuditRecord } from '../../lambdas/adapters/dynamodb-audit-log';
import { useDynalite } from '../support/dynalite';
import { BULK_EVENTS, recordTrail, select } from './fixtures';

const dynamo = useDynalite();
/** Every command the library sent, to prove it only ever Queries. */
const commandsSent: string[] = [];

beforeAll(async () => {
  dynamo.current.client.middlewareStack.add(
    (next, context) => (args) => {
      commandsSent.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'recordCommandNames' },
  );
  await recordTrail(dynamo.current.client, dynamo.current.tables.audit);
});

function audit(pageSize?: number): DynamoDbAuditQuery {
  return new DynamoDbAuditQuery({
    client: dynamo.current.client,
    tableName: dynamo.current.tables.audit,
    pageSize,
    clock: { now: () => new Date('2024-05-10T00:00:00.000Z') },
  });
}

const ids = (records: AuditRecord[]) => records.map((r) => `${r.eventId}/${r.kind}/${r.attempt}`);
const idsOf = (result: AuditQueryResult) => ids(result.records);

describe('userTimeline', () => {
  const annRecords = select((r) => r.userName === 'ann');

  it("returns every record about the user, oldest first, exactly as recorded", async () => {
    const result = await audit().userTimeline('ann');
    expect(result.records).toEqual(annRecords);
    expect(result.truncated).toBe(false);
  });

  it('keeps the newest records when limited, and says older ones exist', async () => {
    const result = await audit().userTimeline('ann', { limit: 3 });
    expect(idsOf(result)).toEqual(ids(annRecords.slice(-3)));
    expect(result.truncated).toBe(true);
  });

  it('is not truncated when the limit is exactly the number of records', async () => {
    const result = await audit(2).userTimeline('ann', { limit: annRecords.length });
    expect(result.records).toHaveLength(annRecords.length);
    expect(result.truncated).toBe(false);
  });

  it('returns nothing for an unknown user', async () => {
    expect(await audit().userTimeline('nobody')).toEqual({ records: [], truncated: false });
  });
});

describe('groupHistory', () => {
  it('returns the group and its memberships', async () => {
    const result = await audit().groupHistory('Engineering');
    expect(idsOf(result)).toEqual([
      'evt-group-eng/WRITE/1',
      'evt-group-eng/OUTCOME/1',
      'evt-join-ann/WRITE/1',
      'evt-move-ann/WRITE/1',
    ]);
  });

  it('pages through more than one DynamoDB page', async () => {
    const whole = await audit().groupHistory('Support');
    const paged = await audit(3).groupHistory('Support');
    expect(paged.records).toHaveLength(BULK_EVENTS * 2);
    expect(paged).toEqual(whole);
    expect(paged.records).toEqual(select((r) => r.groupDisplayName === 'Support'));
  });

  it('pages only as far as the limit needs', async () => {
    const result = await audit(3).groupHistory('Support', { limit: 7 });
    expect(idsOf(result)).toEqual(ids(select((r) => r.groupDisplayName === 'Support').slice(-7)));
    expect(result.truncated).toBe(true);
  });
});

describe('eventHistory', () => {
  it('shows each attempt and its writes in order', async () => {
    expect(idsOf(await audit().eventHistory('evt-join-bob'))).toEqual([
      'evt-join-bob/OUTCOME/1',
      'evt-join-bob/WRITE/2',
      'evt-join-bob/OUTCOME/2',
    ]);
  });

  it('keeps the retry reason and the round-tripped changes', async () => {
    const [retrying, created] = (await audit().eventHistory('evt-join-bob')).records;
    expect(retrying).toMatchObject({ outcome: 'RETRYING', errorCode: 'IDENTITY_STORE_THROTTLED', owedWaitMs: 2000 });
    expect(created).toMatchObject({ changes: [{ path: 'userName', after: 'bob' }, { path: 'nickName', after: '' }] });
  });
});

describe('changes', () => {
  it('returns the writes of a window, across days, oldest first', async () => {
    const result = await audit(2).changes({ since: new Date('2024-05-01T09:00:00Z'), until: new Date('2024-05-03T09:00:02Z') });
    const expected = select((r) => r.kind === 'WRITE' && r.at >= '2024-05-01T09:00:00' && r.at < '2024-05-03T09:00:02');
    expect(result.records).toEqual(expected);
    expect(result.records.every((r) => r.kind === 'WRITE')).toBe(true);
  });

  it('includes a record at `since` and excludes one at `until`', async () => {
    const result = await audit().changes({ since: new Date('2024-05-03T09:00:01Z'), until: new Date('2024-05-03T09:00:02Z') });
    expect(idsOf(result)).toEqual(['evt-leave-ann/WRITE/1']);
    expect(result.records[0]).toMatchObject({ action: 'DeleteGroupMembership' });
  });

  it('runs to now when no until is given', async () => {
    const result = await audit().changes({ since: new Date('2024-05-04T00:00:00Z') });
    expect(result.records).toHaveLength(BULK_EVENTS);
  });

  it('keeps the newest across day boundaries when limited', async () => {
    const result = await audit(4).changes({ since: new Date('2024-05-01T00:00:00Z'), until: new Date('2024-05-04T12:00:03Z'), limit: 4 });
    expect(idsOf(result)).toEqual([
      'evt-leave-ann/WRITE/1',
      'evt-leave-ann/WRITE/1',
      'evt-bulk-00/WRITE/1',
      'evt-bulk-01/WRITE/1',
    ]);
    expect(result.truncated).toBe(true);
  });
});

describe('failures', () => {
  it('returns FAILED and REJECTED outcomes with their reasons, merged in time order, never RETRYING', async () => {
    const result = await audit(1).failures({ since: new Date('2024-05-01T00:00:00Z'), until: new Date('2024-05-05T00:00:00Z') });
    expect(result.records).toEqual([
      expect.objectContaining({ eventId: 'evt-admins', outcome: 'REJECTED', errorCode: 'GROUP_NOT_MANAGED' }),
      expect.objectContaining({ eventId: 'evt-leave-carl', outcome: 'FAILED', errorCode: 'DELETION_CAP_REACHED', attempt: 5 }),
    ]);
  });

  it('returns nothing for a quiet window', async () => {
    expect((await audit().failures({ since: new Date('2024-05-01T00:00:00Z'), until: new Date('2024-05-03T00:00:00Z') })).records).toEqual([]);
  });
});

describe('byProducer', () => {
  it('returns what one verified producer caused in a window, whatever actor its events claim', async () => {
    const result = await audit().byProducer('okta-bridge', { since: new Date('2024-04-01T00:00:00Z') });
    expect(idsOf(result)).toEqual(['evt-admins/OUTCOME/1', 'evt-leave-carl/OUTCOME/5']);
    expect(result.records.every((r) => r.producer === 'okta-bridge')).toBe(true);
  });

  it('pages past records of other producers and limits within the window', async () => {
    const all = await audit().byProducer('hr', { since: new Date('2024-05-01T00:00:00Z'), until: new Date('2024-05-03T00:00:00Z') });
    expect(all.records.length).toBeGreaterThan(0);
    expect(all.records.every((r) => r.producer === 'hr')).toBe(true);
    const limited = await audit(1).byProducer('hr', { since: new Date('2024-05-01T00:00:00Z'), until: new Date('2024-05-04T00:00:00Z'), limit: 2 });
    expect(idsOf(limited)).toEqual(['evt-leave-ann/WRITE/1', 'evt-leave-ann/OUTCOME/1']);
    expect(limited.truncated).toBe(true);
  });

  it('returns nothing for a producer that caused nothing', async () => {
    expect((await audit().byProducer('nobody', { since: new Date('2024-04-01T00:00:00Z') })).records).toEqual([]);
  });
});

describe('byActor', () => {
  it('returns what events claiming one actor caused in a window', async () => {
    const result = await audit().byActor('okta-scim', { since: new Date('2024-04-01T00:00:00Z') });
    expect(idsOf(result)).toEqual(['evt-admins/OUTCOME/1', 'evt-leave-carl/OUTCOME/5']);
  });

  it('pages and limits within the window', async () => {
    const result = await audit(2).byActor('bulk-import', {
      since: new Date('2024-05-04T12:00:10Z'),
      until: new Date('2024-05-04T12:00:20Z'),
      limit: 3,
    });
    expect(idsOf(result)).toEqual(['evt-bulk-08/OUTCOME/1', 'evt-bulk-09/WRITE/1', 'evt-bulk-09/OUTCOME/1']);
    expect(result.truncated).toBe(true);
  });
});

describe('argument checks', () => {
  it('refuses an empty or reversed window, a window too long, and a bad limit or page size', async () => {
    const at = new Date('2024-05-01T00:00:00Z');
    expect(() => audit().changes({ since: at, until: at })).toThrow(InvalidAuditQueryError);
    expect(() => audit().failures({ since: new Date('2000-01-01T00:00:00Z'), until: at })).toThrow(/more than/);
    await expect(audit().userTimeline('ann', { limit: 0 })).rejects.toThrow(InvalidAuditQueryError);
    expect(() => audit(0)).toThrow(InvalidAuditQueryError);
  });
});

describe('access pattern', () => {
  it('only ever Queries (no Scan)', () => {
    const reads = commandsSent.filter((name) => name !== 'PutItemCommand');
    expect(reads.length).toBeGreaterThan(0);
    expect(new Set(reads)).toEqual(new Set(['QueryCommand']));
  });
});
