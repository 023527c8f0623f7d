/** The bench's figures as plain-text tables for people; results.json has the same for machines. */
import type { QuotaMatrixRow } from '../sections/quota-matrix';
import { perEvent } from './figures';
import type { BenchResults } from './results';

/** Left-aligned columns, two spaces apart, indented by two. */
export function renderTable(rows: (string | number)[][]): string {
  const cells = rows.map((row) => row.map(String));
  const widths = cells[0].map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return cells.map((row) => `  ${row.map((cell, i) => cell.padEnd(widths[i])).join('  ')}`.trimEnd()).join('\n');
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const percent = (share: number) => `${(share * 100).toFixed(1)}%`;

/** One line per matrix row: ours first, then the baseline's measured time, ratio, throttling and DLQ. */
export function renderQuotaMatrix(rows: QuotaMatrixRow[]): string {
  return renderTable([
    ['instances', 'neighbour', 'joiners', 'events', 'calls', 'throttled', 'bound', 'measured', 'ratio', 'DLQ', '|', 'baseline measured', 'ratio', 'throttled', 'DLQ', 'DynamoDB/event'],
    ...rows.map((r) => [
      r.maxConcurrency,
      `${r.neighbourRps} rps`,
      r.joiners,
      r.events,
      r.calls,
      percent(r.throttledShare),
      seconds(r.lowerBoundMs),
      seconds(r.elapsedMs),
      r.ratio ?? '-',
      r.failed,
      '|',
      seconds(r.baselineElapsedMs),
      r.baselineRatio ?? '-',
      percent(r.baselineThrottledShare),
      r.baselineFailed,
      r.dynamoDbRequestsPerEvent,
    ]),
  ]);
}

export function renderResults(results: BenchResults): string {
  const { quota, baseline, workload, machine, overhead } = results;
  const wave =
    `${workload.events} events: ${workload.joiners} joiners x 2 groups, ${workload.titleChanges} title changes, ` +
    `${workload.departmentMoves} department moves, ${workload.leavers} leavers (after ${workload.setupEvents} groups, not measured)`;
  const runRows = (name: string, pick: (r: typeof baseline) => string | number) => [name, pick(quota), pick(baseline)];
  const lines = [
    '',
    `Quota efficiency at ${quota.rps} requests/s: ${wave}`,
    renderTable([
      ['', 'ours (RetryAfterSeconds + limiter)', 'SDK default retry, no limiter'],
      runRows('events completed', (r) => `${r.completed}/${r.events}`),
      runRows('  of which superseded (arrived too late)', (r) => r.superseded),
      runRows('events failed (DLQ)', (r) => r.failed),
      runRows('still queued at timeout', (r) => r.pending),
      runRows('Identity Store calls', (r) => r.calls),
      runRows('throttled calls', (r) => `${r.throttled} (${percent(r.throttledShare)})`),
      runRows('lower bound ((admitted calls - burst) / rps)', (r) => seconds(r.lowerBoundMs)),
      runRows('measured', (r) => seconds(r.elapsedMs)),
      runRows('ratio measured / lower bound', (r) => r.ratio ?? '-'),
      runRows('redeliveries through the queue', (r) => r.retriedDeliveries),
      runRows('DynamoDB requests (per event)', (r) => `${r.dynamoDbRequests} (${perEvent(r.dynamoDbRequests, r.events)})`),
    ]),
    '',
    `DynamoDB requests of our quota wave by operation (${results.dynamoDbRequestsPerEvent} per event)`,
    renderTable([
      ['operation', 'requests', 'per event'],
      ...Object.entries(quota.dynamoDbRequestsByOperation).map(([operation, count]) => [operation, count, perEvent(count, quota.events)]),
    ]),
    '',
    `Quota matrix at ${quota.rps} requests/s (ours, then the SDK default baseline; bound = (admitted calls - burst) / (rps - neighbour))`,
    renderQuotaMatrix(results.quotaMatrix),
    '',
    'Identity Store calls per change (cold: id cache empty; warm: ids cached by this instance)',
    renderTable([
      ['change', 'made cold', 'min cold', 'made warm', 'min warm', 'outcome'],
      ...Object.values(results.callsPerChange).map((c) => [
        c.label,
        c.made,
        c.minimum,
        c.warm.made,
        c.warm.minimum,
        c.outcome === c.expectedOutcome && c.warm.outcome === c.expectedOutcome ? c.expectedOutcome : `${c.outcome} / ${c.warm.outcome}`,
      ]),
    ]),
    '',
    'Overhead (quota off: handler, engine, dynalite, local queue, all on this machine)',
    renderTable([
      ['events per second', `${results.eventsPerSecond} (${overhead.events} events in ${seconds(overhead.elapsedMs)})`],
      ['Identity Store calls per second', overhead.callsPerSecond],
      ['handler bundle', `${(results.bundleBytes / 1024).toFixed(0)} KiB (${results.bundleBytes} bytes)`],
      ['cold init (load the bundle), median', `${results.coldInitMs} ms (runs: ${results.coldInitRunsMs.join(', ')})`],
    ]),
    '',
    `Machine: ${machine.cpus} x ${machine.cpuModel}, Node ${machine.node}; load average ${machine.loadAverageAtStart} at start, ` +
      `${machine.loadAverageAtEnd} at end. Bench took ${seconds(results.durationMs)}.`,
  ];
  return lines.join('\n');
}
