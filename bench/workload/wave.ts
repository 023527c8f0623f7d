/**
 * The reference workload: an onboarding wave. Setup creates the groups (not measured); the
 * measured phase is N joiners with 2 groups each, then movers (a title change, a department
 * move) and leavers. Movers and leavers are taken from the front of the wave and sent after
 * every joiner, so each arrives long after its person was created, as in real life.
 */
import type { IdentityChange } from '../../lambdas/domain/identity-change';
import { EventFactory, person, type Person } from './people';

export const EVERYONE = 'Everyone';
export const DEPARTMENTS = ['Engineering', 'Platform', 'Data', 'Finance', 'Sales', 'Support'];

export interface WaveCounts {
  joiners: number;
  titleChanges: number;
  departmentMoves: number;
  leavers: number;
}

export interface Wave {
  /** group.upserted for every group, run (and drained) before the measured phase. */
  setup: IdentityChange[];
  measured: IdentityChange[];
  counts: WaveCounts;
}

/** 10% title changes, 10% department moves, 5% leavers (at least one of each). */
export function waveCounts(joiners: number): WaveCounts {
  if (!Number.isInteger(joiners) || joiners < 3) throw new RangeError(`joiners must be an integer >= 3, got ${joiners}`);
  const share = (fraction: number) => Math.max(1, Math.round(joiners * fraction));
  return { joiners, titleChanges: share(0.1), departmentMoves: share(0.1), leavers: share(0.05) };
}

export function onboardingWave(joiners: number): Wave {
  const counts = waveCounts(joiners);
  const events = new EventFactory('wave');
  const setup = [EVERYONE, ...DEPARTMENTS].map((name) => events.groupUpserted(name));

  const people: Person[] = [];
  for (let i = 0; i < joiners; i++) people.push(person(i, DEPARTMENTS[i % DEPARTMENTS.length]));
  const measured = people.map((p) => events.userUpserted(p, [EVERYONE, p.department]));

  // Disjoint slices, so each person gets at most one follow-up and every count is exact.
  const pick = (from: number, count: number) => people.slice(from, from + count);
  const titleChanged = pick(0, counts.titleChanges);
  const moved = pick(counts.titleChanges, counts.departmentMoves);
  const leaving = pick(counts.titleChanges + counts.departmentMoves, counts.leavers);

  for (const p of titleChanged) measured.push(events.userUpserted({ ...p, title: 'Senior Engineer' }));
  for (const p of moved) {
    const next = DEPARTMENTS[(DEPARTMENTS.indexOf(p.department) + 1) % DEPARTMENTS.length];
    measured.push(events.userUpserted({ ...p, department: next }, [EVERYONE, next]));
  }
  for (const p of leaving) measured.push(events.userDeletedByExternalId(p));
  return { setup, measured, counts };
}
