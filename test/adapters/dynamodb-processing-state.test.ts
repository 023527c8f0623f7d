import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbProcessingState } from '../../lambdas/adapters/dynamodb-processing-state';
import type { Watermark } from '../../lambdas/domain/ports';
import { useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const FIXED_NOW = new Date('2024-05-01T12:00:00.000Z');

function state(): DynamoDbProcessingState {
  return new DynamoDbProcessingState({
    client: dynamo.current.client,
    tableName: dynamo.current.tables.state,
    clock: { now: () => FIXED_NOW },
  });
}

async function stateItem(pk: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo.current.documentClient.send(
    new GetCommand({ TableName: dynamo.current.tables.state, Key: { pk } }),
  );
  return Item;
}

const mark = (occurredAt: string, eventId: string, kind = 'upserted'): Watermark => ({ occurredAt, eventId, kind });

describe('DynamoDbProcessingState watermarks', () => {
  it('returns only the keys that have a watermark', async () => {
    await state().advanceWatermarks(['user:wm-a'], mark('2024-05-01T10:00:00.000Z', 'e1'));
    const found = await state().getWatermarks(['user:wm-a', 'user:wm-missing']);
    expect([...found.entries()]).toEqual([['user:wm-a', mark('2024-05-01T10:00:00.000Z', 'e1')]]);
  });

  it('moves forward and never backward', async () => {
    const key = 'user:wm-b';
    await state().advanceWatermarks([key], mark('2024-05-01T10:00:00.000Z', 'e1'));
    await state().advanceWatermarks([key], mark('2024-05-01T11:00:00.000Z', 'e2', 'deleted'));
    await state().advanceWatermarks([key], mark('2024-05-01T10:30:00.000Z', 'e3'));
    await state().advanceWatermarks([key], mark('2024-05-01T11:00:00.000Z', 'e4'));

    expect((await state().getWatermarks([key])).get(key)).toEqual(mark('2024-05-01T11:00:00.000Z', 'e2', 'deleted'));
  });

  it('compares instants, not spellings, when occurredAt carries an offset', async () => {
    const key = 'user:wm-offset';
    await state().advanceWatermarks([key], mark('2024-05-01T10:00:00.000Z', 'e1'));
    // 11:30+02:00 is 09:30Z: older, although its text sorts after.
    await state().advanceWatermarks([key], mark('2024-05-01T11:30:00+02:00', 'e2'));
    expect((await state().getWatermarks([key])).get(key)?.eventId).toBe('e1');
  });

  it('advances several keys at once, each on its own', async () => {
    await state().advanceWatermarks(['user:wm-c'], mark('2024-05-01T12:00:00.000Z', 'newer'));
    await state().advanceWatermarks(['user:wm-c', 'user:wm-d', 'user:wm-d'], mark('2024-05-01T11:00:00.000Z', 'e5'));

    const found = await state().getWatermarks(['user:wm-c', 'user:wm-d']);
    expect(found.get('user:wm-c')?.eventId).toBe('newer');
    expect(found.get('user:wm-d')?.eventId).toBe('e5');
  });

  it('converges on the newest mark when many advances race', async () => {
    const key = 'user:wm-race';
    const marks = Array.from({ length: 30 }, (_, i) =>
      mark(new Date(Date.parse('2024-05-01T00:00:00.000Z') + ((i * 7) % 30) * 1000).toISOString(), `race-${(i * 7) % 30}`),
    );
    await Promise.all(marks.map((m) => state().advanceWatermarks([key], m)));
    expect((await state().getWatermarks([key])).get(key)).toEqual(mark('2024-05-01T00:00:29.000Z', 'race-29'));
  });

  it('reads more keys than one BatchGetItem takes (100), repeated keys included', async () => {
    const keys = Array.from({ length: 230 }, (_, i) => `user:bulk-${i}`);
    await state().advanceWatermarks(keys.slice(0, 150), mark('2024-05-01T10:00:00.000Z', 'bulk'));
    const found = await state().getWatermarks([...keys, ...keys.slice(0, 10)]);
    expect(found.size).toBe(150);
    expect(found.get('user:bulk-149')?.eventId).toBe('bulk');
    expect(found.has('user:bulk-150')).toBe(false);
  });

  it('returns an empty map for no keys', async () => {
    expect((await state().getWatermarks([])).size).toBe(0);
  });
});

describe('DynamoDbProcessingState managed groups', () => {
  it('knows only the groups it marked, keeps the first mark time and follows renames', async () => {
    expect(await state().isManagedGroup('g-managed')).toBe(false);
    await state().markManagedGroup('g-managed', 'Engineering');
    const later = new DynamoDbProcessingState({
      client: dynamo.current.client,
      tableName: dynamo.current.tables.state,
      clock: { now: () => new Date('2024-06-01T00:00:00.000Z') },
    });
    await later.markManagedGroup('g-managed', 'Engineering Team');

    expect(await state().isManagedGroup('g-managed')).toBe(true);
    expect(await state().isManagedGroup('g-other')).toBe(false);
    expect(await stateItem('MANAGED#g-managed')).toMatchObject({
      displayName: 'Engineering Team',
      markedAt: FIXED_NOW.toISOString(),
    });
  });
});

describe('DynamoDbProcessingState ExternalId mapping', () => {
  it('maps an ExternalId to a UserId and replaces it when the user is recreated', async () => {
    const externalId = { Issuer: 'workday', Id: 'W-100' };
    expect(await state().getUserIdForExternalId(externalId)).toBeUndefined();
    await state().putUserIdForExternalId(externalId, 'u-first');
    await state().putUserIdForExternalId(externalId, 'u-second');
    expect(await state().getUserIdForExternalId(externalId)).toBe('u-second');
  });

  it("keeps issuers and ids apart even when they contain '#'", async () => {
    await state().putUserIdForExternalId({ Issuer: 'a#b', Id: 'c' }, 'u-ab-c');
    await state().putUserIdForExternalId({ Issuer: 'a', Id: 'b#c' }, 'u-a-bc');
    expect(await state().getUserIdForExternalId({ Issuer: 'a#b', Id: 'c' })).toBe('u-ab-c');
    expect(await state().getUserIdForExternalId({ Issuer: 'a', Id: 'b#c' })).toBe('u-a-bc');
  });
});

describe('DynamoDbProcessingState deletion cap', () => {
  const windowSeconds = 3600;
  const inWindow = new Date('2024-05-01T10:15:00.000Z');
  const sameWindowLater = new Date('2024-05-01T10:59:59.999Z');
  const nextWindow = new Date('2024-05-01T11:00:00.000Z');

  it('grants up to the cap per window, and a retried token keeps its slot without taking another', async () => {
    const reserve = (now: Date, token: string) => state().tryReserveDeletion(now, windowSeconds, 2, token);

    expect(await reserve(inWindow, 'del-1')).toBe(true);
    expect(await reserve(inWindow, 'del-1')).toBe(true);
    expect(await reserve(sameWindowLater, 'del-2')).toBe(true);
    expect(await reserve(inWindow, 'del-3')).toBe(false);
    expect(await reserve(inWindow, 'del-2')).toBe(true);
    expect(await reserve(nextWindow, 'del-3')).toBe(true);

    const window = await stateItem('DELCAP#2024-05-01T10:00:00.000Z');
    expect(window).toMatchObject({ count: 2, tokens: new Set(['del-1', 'del-2']) });
    // A day after the window's end, in epoch seconds.
    expect(window?.expiresAt).toBe(Date.parse('2024-05-01T11:00:00.000Z') / 1000 + 86_400);
  });

  it('never grants more than the cap to concurrent callers', async () => {
    const now = new Date('2024-05-02T00:00:00.000Z');
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => state().tryReserveDeletion(now, windowSeconds, 5, `race-${i}`)),
    );
    expect(results.filter(Boolean)).toHaveLength(5);
    expect((await stateItem('DELCAP#2024-05-02T00:00:00.000Z'))?.count).toBe(5);
  });

  it('grants nothing with a cap of 0', async () => {
    expect(await state().tryReserveDeletion(new Date('2024-05-03T00:00:00.000Z'), windowSeconds, 0, 't')).toBe(false);
    expect(await stateItem('DELCAP#2024-05-03T00:00:00.000Z')).toBeUndefined();
  });

  it('refuses a window that is not a whole positive number of seconds', async () => {
    await expect(state().tryReserveDeletion(inWindow, 0, 1, 't')).rejects.toThrow(/windowSeconds/);
  });
});

describe('DynamoDbProcessingState subject leases', () => {
  const at = (ms: number) => new Date(FIXED_NOW.getTime() + ms);

  it('lets one owner hold a subject at a time, says until when, and lets the owner renew it', async () => {
    expect(await state().tryLeaseSubjects(['user:name:lease-a'], 'event-1', at(0), at(10_000))).toEqual({ leased: true });
    expect(await state().tryLeaseSubjects(['user:name:lease-a'], 'event-2', at(1_000), at(11_000))).toEqual({
      leased: false,
      heldUntil: at(10_000),
    });
    expect(await state().tryLeaseSubjects(['user:name:lease-a'], 'event-1', at(2_000), at(12_000))).toEqual({ leased: true });
  });

  it('takes nothing when any subject is held (all or nothing)', async () => {
    await state().tryLeaseSubjects(['user:ext:x:2'], 'holder', at(0), at(10_000));
    const result = await state().tryLeaseSubjects(['user:name:lease-b', 'user:ext:x:2'], 'other', at(0), at(10_000));
    expect(result.leased).toBe(false);
    expect(await stateItem('LEASE#user:name:lease-b')).toBeUndefined();
  });

  it('takes over a lease that has expired', async () => {
    await state().tryLeaseSubjects(['group:lease-c'], 'crashed', at(0), at(1_000));
    expect(await state().tryLeaseSubjects(['group:lease-c'], 'next', at(5_000), at(6_000))).toEqual({ leased: true });
    expect(await stateItem('LEASE#group:lease-c')).toMatchObject({ owner: 'next' });
  });

  it('releases only what the owner still holds', async () => {
    await state().tryLeaseSubjects(['group:lease-d'], 'first', at(0), at(1_000));
    await state().tryLeaseSubjects(['group:lease-d'], 'second', at(5_000), at(6_000));
    await state().releaseSubjects(['group:lease-d'], 'first');
    expect(await stateItem('LEASE#group:lease-d')).toMatchObject({ owner: 'second' });
    await state().releaseSubjects(['group:lease-d'], 'second');
    expect(await stateItem('LEASE#group:lease-d')).toBeUndefined();
  });

  it('grants a contested subject to exactly one of many concurrent owners', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => state().tryLeaseSubjects(['user:name:lease-e'], `owner-${i}`, at(0), at(10_000))),
    );
    expect(results.filter((r) => r.leased)).toHaveLength(1);
  });
});

describe('DynamoDbProcessingState group creation intents', () => {
  it('records, finds (whatever the case of the name) and clears an intent', async () => {
    expect(await state().hasGroupCreationIntent('Intent-A')).toBe(false);
    await state().recordGroupCreationIntent('Intent-A', 'event-1');
    expect(await state().hasGroupCreationIntent('intent-a')).toBe(true);
    expect(await stateItem('INTENT#group:intent-a')).toMatchObject({ displayName: 'Intent-A', eventId: 'event-1' });
    await state().clearGroupCreationIntent('Intent-A');
    expect(await state().hasGroupCreationIntent('Intent-A')).toBe(false);
  });
});
