import { identityChangeSchema, type IdentityChange } from '../../lambdas/domain/identity-change';
import { callsCases } from '../../bench/calls/cases';
import { onboardingWave, waveCounts } from '../../bench/workload/wave';

const userNameOf = (event: IdentityChange) => (event.type === 'user.upserted' ? event.data.user.UserName : undefined);

describe('the bench workloads', () => {
  it('are valid v1 events with unique ids and increasing occurredAt', () => {
    const wave = onboardingWave(40);
    const all = [...wave.setup, ...wave.measured, ...callsCases().flatMap((c) => [...c.setupGroups, ...c.setupUsers, c.measured])];
    for (const event of all) expect(identityChangeSchema.safeParse(event)).toMatchObject({ success: true });
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    const times = [...wave.setup, ...wave.measured].map((e) => e.occurredAt);
    expect([...times].sort()).toEqual(times);
  });

  it('creates every group a joiner names in the setup', () => {
    const wave = onboardingWave(40);
    const created = new Set(wave.setup.map((e) => (e.type === 'group.upserted' ? e.data.group.DisplayName : '')));
    for (const event of wave.measured) {
      if (event.type === 'user.upserted') for (const group of event.data.groups ?? []) expect(created.has(group)).toBe(true);
    }
  });

  it('sends joiners first, then 10% title changes, 10% department moves and 5% leavers, each to a different joiner', () => {
    const wave = onboardingWave(100);
    expect(wave.counts).toEqual({ joiners: 100, titleChanges: 10, departmentMoves: 10, leavers: 5 });
    expect(wave.measured).toHaveLength(125);
    const joiners = wave.measured.slice(0, 100);
    expect(joiners.every((e) => e.type === 'user.upserted' && e.data.groups?.length === 2)).toBe(true);
    const followUps = wave.measured.slice(100);
    const titleChanges = followUps.filter((e) => e.type === 'user.upserted' && e.data.groups === undefined);
    const moves = followUps.filter((e) => e.type === 'user.upserted' && e.data.groups !== undefined);
    const leavers = followUps.filter((e) => e.type === 'user.deleted');
    expect([titleChanges.length, moves.length, leavers.length]).toEqual([10, 10, 5]);
    const touched = [...titleChanges, ...moves].map(userNameOf);
    expect(new Set(touched).size).toBe(20);
  });

  it('refuses a wave too small to have follow-ups', () => {
    expect(() => waveCounts(2)).toThrow(RangeError);
    expect(waveCounts(3)).toEqual({ joiners: 3, titleChanges: 1, departmentMoves: 1, leavers: 1 });
  });

  it('gives every calls case its own people and groups', () => {
    const subjects = callsCases().map((c) => JSON.stringify(c.measured.data));
    expect(new Set(subjects).size).toBe(subjects.length);
  });
});
