/** Who sends each line of a file (npm start --events / npm run send): routeEntries. */
import { routeEntries, type DeclaredDoors } from '../../local/producer';

const doors: DeclaredDoors = {
  hr: { via: 'bus', source: 'identity-provisioner.hr', principals: ['arn:aws:iam::000000000000:role/hr-feed'] },
  manual: { via: 'queue', principals: ['arn:aws:iam::000000000000:role/identity-admin', 'arn:aws:iam::000000000000:role/second'] },
};
const v1 = { id: 'e', type: 'group.upserted', occurredAt: '2026-11-30T09:00:00Z', actor: 'a', data: { group: { DisplayName: 'G' } } };
const viaBus = { source: 'identity-provisioner.hr', 'detail-type': 'group.upserted', detail: v1 };

describe('routeEntries', () => {
  it("a line's own producer wins, then --producer, then the bus producer of an entry's source, then the fallback", () => {
    const { routed, unroutable } = routeEntries([{ producer: 'hr', event: v1 }, viaBus, v1, 'raw'], doors, { fallback: 'manual' });
    expect(unroutable).toEqual([]);
    expect(routed.map((r) => [r.index, r.producer, r.principal])).toEqual([
      [0, 'hr', 'arn:aws:iam::000000000000:role/hr-feed'],
      [1, 'hr', 'arn:aws:iam::000000000000:role/hr-feed'],
      [2, 'manual', 'arn:aws:iam::000000000000:role/identity-admin'],
      [3, 'manual', 'arn:aws:iam::000000000000:role/identity-admin'],
    ]);
    // The address is not sent: the door gets the event alone.
    expect(routed[0].entry).toEqual(v1);
    const forced = routeEntries([viaBus, v1, { producer: 'hr', event: v1 }], doors, { producer: 'manual', fallback: 'hr' });
    expect(forced.routed.map((r) => r.producer)).toEqual(['manual', 'manual', 'hr']);
  });

  it('signs as a line\'s own principal, refuses one that is no role or user ARN, and names undeclared producers', () => {
    const { routed, unroutable } = routeEntries(
      [
        { producer: 'manual', principal: 'arn:aws:iam::000000000000:role/developer', event: v1 },
        { producer: 'manual', principal: 'arn:aws:iam::000000000000:root', event: v1 },
        { producer: 'payroll', event: v1 },
        v1,
      ],
      doors,
      {},
    );
    expect(routed.map((r) => [r.index, r.principal])).toEqual([[0, 'arn:aws:iam::000000000000:role/developer']]);
    expect(unroutable).toEqual([
      { index: 1, reason: 'principal: "arn:aws:iam::000000000000:root" is not an IAM role or user ARN' },
      { index: 2, reason: 'producer "payroll" is not declared (declared: hr, manual)' },
      { index: 3, reason: expect.stringContaining('names no producer') },
    ]);
  });

  it('reads a line as an address only when it has exactly producer, event and maybe principal', () => {
    // A v1 document that happens to carry a "producer" field is a (bad) document, not an address.
    const odd = { ...v1, producer: 'hr' } as Record<string, unknown>;
    const { routed } = routeEntries([odd, { producer: 'hr', event: v1, extra: 1 }], doors, { fallback: 'manual' });
    expect(routed.map((r) => [r.producer, r.entry])).toEqual([
      ['manual', odd],
      ['manual', { producer: 'hr', event: v1, extra: 1 }],
    ]);
  });
});
