/**
 * The applied facts a watermark carries (what drift detection compares the store with) and the
 * read-only view of the deletion window (what a plan counts), in the real state table.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbProcessingState, stateKeys } from '../../lambdas/adapters/dynamodb-processing-state';
import type { AppliedFacts, Watermark } from '../../lambdas/domain/ports';
import { useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const state = () => new DynamoDbProcessingState({ client: dynamo.current.client, tableName: dynamo.current.tables.state });
const mark = (occurredAt: string, eventId: string, applied?: AppliedFacts): Watermark => ({ occurredAt, eventId, kind: 'upserted', ...(applied && { applied }) });

const adaFacts: AppliedFacts = {
  kind: 'user',
  userId: 'u-1',
  attributes: { UserName: 'ada', DisplayName: 'Ada “Countess” Lovelace', Name: { GivenName: 'Ada', FamilyName: 'Lovelace' }, Emails: [{ Value: 'ada@example.com', Primary: true }] },
};

describe('applied facts on watermarks', () => {
  it('travel with the mark, come back as written, and follow only a newer mark', async () => {
    await state().advanceWatermarks(['user:name:ada', 'user:ext:hr:1'], mark('2024-05-01T10:00:00.000Z', 'e1', adaFacts));
    const renamed: AppliedFacts = { ...adaFacts, attributes: { ...adaFacts.attributes, UserName: 'ada.lovelace' } } as AppliedFacts;
    await state().advanceWatermarks(['user:name:ada'], mark('2024-05-01T09:00:00.000Z', 'older', renamed));

    const found = await state().getWatermarks(['user:name:ada', 'user:ext:hr:1']);
    expect(found.get('user:name:ada')).toEqual(mark('2024-05-01T10:00:00.000Z', 'e1', adaFacts));
    expect(found.get('user:ext:hr:1')?.applied).toEqual(adaFacts);
  });

  it('a newer mark without facts clears the old ones: they no longer describe the subject', async () => {
    await state().advanceWatermarks(['group:ops'], mark('2024-05-01T10:00:00.000Z', 'g1', { kind: 'group', groupId: 'g-1', displayName: 'Ops' }));
    await state().advanceWatermarks(['group:ops'], mark('2024-05-01T11:00:00.000Z', 'g2'));
    const { Item } = await dynamo.current.documentClient.send(new GetCommand({ TableName: dynamo.current.tables.state, Key: { pk: stateKeys.watermark('group:ops') } }));
    expect(Item).toMatchObject({ eventId: 'g2' });
    expect(Item?.applied).toBeUndefined();
  });

  it('listApplied reads every mark with facts, under readable and digest keys alike, and nothing else', async () => {
    const longName = `user:name:${'名'.repeat(400)}`; // 1,200+ bytes: stored under its digest
    const facts = Array.from({ length: 150 }, (_, i): AppliedFacts => ({ kind: 'membership', userId: `u-${i}`, groupId: 'g-9', member: i % 2 === 0 }));
    await Promise.all(facts.map((applied, i) => state().advanceWatermarks([`membership:p${i}|g9`], mark('2024-05-02T10:00:00.000Z', `m${i}`, applied))));
    await state().advanceWatermarks([longName], mark('2024-05-02T10:00:00.000Z', 'long', { kind: 'user-deleted', userId: 'u-long' }));
    await state().advanceWatermarks(['user:name:nofacts'], mark('2024-05-02T10:00:00.000Z', 'plain'));
    await state().markManagedGroup('g-9', 'Nine');

    const listed = await state().listApplied();
    const ids = new Set(listed.map((m) => m.eventId));
    for (let i = 0; i < 150; i++) expect(ids.has(`m${i}`)).toBe(true);
    expect(listed.find((m) => m.eventId === 'long')?.applied).toEqual({ kind: 'user-deleted', userId: 'u-long' });
    expect(ids.has('plain')).toBe(false);
    expect(listed.every((m) => m.applied !== undefined)).toBe(true);
  });
});

describe('reservedDeletions', () => {
  it('lists the window’s tokens without taking a slot', async () => {
    const now = new Date('2024-06-01T10:15:00.000Z');
    expect(await state().reservedDeletions(now, 3600)).toEqual([]);
    await state().tryReserveDeletion(now, 3600, 5, 'd1');
    await state().tryReserveDeletion(new Date('2024-06-01T10:59:00.000Z'), 3600, 5, 'd2');
    await state().tryReserveDeletion(new Date('2024-06-01T11:00:00.000Z'), 3600, 5, 'next-window');
    expect((await state().reservedDeletions(now, 3600)).sort()).toEqual(['d1', 'd2']);
    expect((await state().reservedDeletions(now, 3600)).sort()).toEqual(['d1', 'd2']);
  });
});
