/** The soak's report for people; the CLI prints the JSON form as its last line. */
import type { SoakReport } from './run-soak';

export function renderSoakReport(report: SoakReport): string {
  const rows = (pairs: [string, string | number][]) => {
    const width = Math.max(...pairs.map(([k]) => k.length));
    return pairs.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
  };
  const w = report.workload;
  const lines = [
    '',
    `Soak, seed ${report.seed}`,
    rows([
      ['messages sent', w.sent],
      ['distinct events', w.distinct],
      ['duplicates (same id re-sent)', w.duplicates],
      ['reordered (sent after a newer event)', w.reordered],
      ['through an EventBridge envelope', w.viaEventBridge],
      ['invalid (bad-input corpus)', w.invalid],
    ]),
    '',
    'Faults injected by the emulator',
    rows([
      ...(Object.entries(report.faults) as [string, number][]),
      ['throttled by quota', report.throttled.quota],
      ['throttled (injected)', report.throttled.injected],
      ['Identity Store calls', report.identityStoreCalls],
      ['dynalite outage (ms)', report.outageMs],
    ]),
    '',
    'Final outcomes (per distinct event)',
    rows([
      ...(Object.entries(report.tally.byOutcome).sort() as [string, number][]),
      ['RETRYING records on the way', report.tally.retrying],
      ['re-runs after a lost completion', report.tally.reRuns],
      ['DLQ messages', report.dlq],
      ['writes recorded by their intent only', report.writesByIntentOnly],
      ['writes without an audit record', report.unauditedWrites],
    ]),
    '',
    'Checks',
    ...report.checks.flatMap((c) => [`  ${c.passed ? 'PASS' : 'FAIL'}  ${c.name}`, `        ${c.summary}`, ...c.problems.map((p) => `        - ${p}`)]),
    '',
    `${report.checks.filter((c) => c.passed).length} of ${report.checks.length} checks passed in ${(report.elapsedMs / 1000).toFixed(1)} s`,
  ];
  return lines.join('\n');
}
