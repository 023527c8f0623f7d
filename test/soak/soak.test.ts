/**
 * The short soak: a few hundred generated events through the whole local pipeline with the
 * emulator's faults on and a brief DynamoDB outage, checked against the reference model.
 * `npm run soak` is the long version (docs/reliability.md).
 */
import { runSoak, type SoakReport } from '../../bench/soak/run-soak';

// A backstop only: the soak fails on a stall (a receivable message with nothing running for 60 s),
// never because a loaded machine makes it slow.
jest.setTimeout(20 * 60_000);

describe('short soak: faults, duplicates, reordering, invalid events and a DynamoDB outage', () => {
  let report: SoakReport;

  beforeAll(async () => {
    report = await runSoak({
      events: 250,
      seed: 11,
      faults: 'throttle=0.02,server=0.01,conflict=0.02,drop=0.01,latency=0.05:10-80,retryAfter=1',
      tps: 100,
      outageMs: 2000,
      outageAfter: 0.3,
      // Records failed while DynamoDB is away come back after 6x this (the visibility timeout).
      // 4 s left a loaded 2-core machine timing invocations out (a receive and a visibility
      // timeout each; in one CI run two events ran out of receives): 8 s ran the soak in 54 s
      // instead of 172 s, alone on the same machine.
      functionTimeoutSeconds: 8,
      maxReceiveCount: 8,
      stallTimeoutMs: 60_000,
    });
  });

  it('exercised what it claims to: faults of every kind, duplicates, reordering, invalid events, an outage', () => {
    const { faults, workload } = report;
    expect(faults.throttle).toBeGreaterThan(0);
    expect(faults.server).toBeGreaterThan(0);
    expect(faults.drop).toBeGreaterThan(0);
    expect(faults.conflict).toBeGreaterThan(0);
    expect(workload.duplicates).toBeGreaterThan(0);
    expect(workload.reordered).toBeGreaterThan(0);
    expect(workload.invalid).toBeGreaterThan(0);
    expect(report.outageMs).toBeGreaterThanOrEqual(2000);
  });

  it.each([
    'identity store equals the reference model',
    'every event has exactly one final outcome',
    'the DLQ holds exactly the invalid messages, each with its reason',
    'no Identity Store write happened twice for one event',
  ])('%s', (name) => {
    const check = report.checks.find((c) => c.name === name);
    expect(check).toBeDefined();
    expect(check!.problems).toEqual([]);
    expect(check!.passed).toBe(true);
  });

  it('ended every valid event applied, unchanged or superseded, and rejected exactly the invalid ones', () => {
    const { byOutcome } = report.tally;
    expect(byOutcome.FAILED).toBeUndefined();
    expect(byOutcome.REJECTED).toBe(report.workload.invalid);
    expect((byOutcome.APPLIED ?? 0) + (byOutcome.NOOP ?? 0) + (byOutcome.SUPERSEDED ?? 0)).toBe(report.workload.valid);
  });
});
