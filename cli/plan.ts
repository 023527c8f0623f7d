/**
 * npm run plan -- --events FILE: what applying FILE would do, written nowhere. Reads the live
 * Identity Store and state table (cli/live-target.ts), runs the function's record path over
 * what-if ports (cli/plan-inputs.ts, lambdas/domain/plan.ts) and prints, per event, the writes the
 * apply would make and the events it would reject or supersede, with why.
 * Exit codes as `terraform plan -detailed-exitcode`: 0 no changes, 2 changes planned, 1 error.
 */
import './quiet-sdk';
import { EventsFileError, type ProducerEntry } from '../local/producer';
import { readEventFile } from '../local/cli/event-file';
import type { WriteRecord } from '../lambdas/domain/ports';
import { DETAILED_EXIT, detailedExitCodesHelp, detailedUsageErrorText, parseCommandLine, projectVersion, terminalWidth, UsageError, wrap, runDetailedCommand } from './conventions';
import { shownValue } from './format';
import { LIVE_TARGET_HELP, LIVE_TARGET_OPTIONS, liveTargetChoiceOf, openLiveTarget, type LiveTarget, type LiveTargetChoice } from './live-target';
import { PlanInputError, runPlan, type PlanOutcome, type PlanReport, type PlanReportEntry } from './plan-inputs';


const FORMATS = ['table', 'json'] as const;
type Format = (typeof FORMATS)[number];

const HELP = `Usage: npm run plan -- --events FILE [options]

Shows what applying FILE would do, and writes nothing: not to the Identity Store, not to the
audit trail, not to the state table. It reads the Identity Store and the service's state, then
runs the function's own record path with ports that record instead of writing, so plan and apply
cannot disagree. Per event: what it would do (would apply, no change, superseded, rejected, would
fail, held by the deletion cap, duplicate, refused at the door, not matched by the bus rule) and
why, and each write it would make: the action, the user and group names, and each attribute
before -> after. The events are delivered as npm start delivers them: each through its
producer's door, redelivered as the queue would when it waits for an earlier one.

Options:
  --events FILE                 the events, in any format npm start --events takes (a JSON array,
                                JSON Lines or one JSON object; lines may name their producer).
                                A relative path is from the directory you ran npm in
  --producer NAME               send the lines that name no producer as NAME (as npm start)
  --format table|json           table (default) for people; json lists every entry with its
                                planned writes
  -h, --help                    this text
  --version                     the version

${LIVE_TARGET_HELP}

${detailedExitCodesHelp({
  none: ['no changes', 'no write would be made (every event is a no change, superseded, rejected, a duplicate or refused)'],
  error: 'an events file that is not events, an invalid setting, no local store, or the store or tables did not answer',
  changes: ['changes planned', 'at least one write would be made, or a deletion is held by the deletion cap (the apply makes it once the window allows)'],
})}

Personal data (names, attribute values) is printed on stdout, for you; nothing is logged.
`;

const OPTIONS = {
  events: { type: 'string' },
  producer: { type: 'string' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  ...LIVE_TARGET_OPTIONS,
} as const;

const LABEL: Record<PlanOutcome, string> = {
  APPLIED: 'would apply',
  NOOP: 'no change',
  SUPERSEDED: 'superseded',
  REJECTED: 'rejected',
  FAILED: 'would fail',
  RETRYING: 'would retry',
  HELD: 'held by the deletion cap',
  DUPLICATE: 'duplicate',
  REFUSED: 'refused at the door',
  NOT_MATCHED: 'not matched by the bus rule',
};

interface PlanRequest {
  eventsFile: string;
  producer?: string;
  format: Format;
  target: LiveTargetChoice;
}

export function parsePlanArgs(argv: string[]): PlanRequest | 'help' | 'version' {
  const { values } = parseCommandLine(argv, OPTIONS, false);
  if (values.help) return 'help';
  if (values.version) return 'version';
  if (values.events === undefined) throw new UsageError('--events FILE is required: the events to plan');
  const format = values.format ?? 'table';
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${format}"`);
  return { eventsFile: values.events, producer: values.producer, format: format as Format, target: liveTargetChoiceOf(values) };
}

/** Whether the plan changes anything: a write, or a deletion waiting for the cap's window. */
export function hasChanges(report: PlanReport): boolean {
  return report.writeCount > 0 || report.totals.HELD > 0;
}

export async function main(argv: string[], out: (text: string) => void = (text) => process.stdout.write(text)): Promise<number> {
  let target: LiveTarget | undefined;
  try {
    const request = parsePlanArgs(argv);
    if (request === 'help') {
      out(HELP);
      return 0;
    }
    if (request === 'version') {
      out(`${projectVersion()}\n`);
      return 0;
    }
    const { entries } = readEventFile(request.eventsFile);
    target = await openLiveTarget(request.target, 'plan');
    const report = await runPlan(target, entries as ProducerEntry[], { producer: request.producer });
    if (request.format === 'json') out(`${JSON.stringify(jsonReport(report), null, 2)}\n`);
    else out(renderPlan(report, target.settingsHeader, terminalWidth()));
    return hasChanges(report) ? DETAILED_EXIT.changes : DETAILED_EXIT.none;
  } catch (error) {
    const usage = error instanceof UsageError || error instanceof EventsFileError || error instanceof PlanInputError;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(usage ? detailedUsageErrorText('plan', message) : `plan: ${message}\n`);
    return DETAILED_EXIT.error;
  } finally {
    await target?.close();
  }
}

/** The JSON output: every entry with its planned writes (names and changes; ids the plan invents are left out). */
export function jsonReport(report: PlanReport) {
  return {
    target: report.target,
    changes: hasChanges(report),
    entries: report.entries.map((entry) => ({
      position: entry.position,
      ...(entry.eventId !== undefined && { eventId: entry.eventId }),
      ...(entry.type !== undefined && { type: entry.type }),
      ...(entry.producer !== undefined && { producer: entry.producer }),
      outcome: entry.outcome,
      ...(entry.errorCode !== undefined && { errorCode: entry.errorCode }),
      ...(entry.reason !== undefined && { reason: entry.reason }),
      ...(entry.orderNote !== undefined && { orderNote: entry.orderNote }),
      deliveries: entry.deliveries,
      writes: entry.writes.map(jsonWrite),
    })),
    totals: report.totals,
    writeCount: report.writeCount,
    writesByAction: report.writesByAction,
    identityStoreCalls: report.identityStoreCalls,
    elapsedMs: report.elapsedMs,
  };
}

function jsonWrite(write: WriteRecord) {
  return {
    action: write.action,
    ...(write.userName !== undefined && { userName: write.userName }),
    ...(write.groupDisplayName !== undefined && { groupDisplayName: write.groupDisplayName }),
    ...(write.changes !== undefined && { changes: write.changes }),
  };
}

/** The table: each entry, its writes and their changes, then the counted totals. Wrapped, never clipped. */
export function renderPlan(report: PlanReport, settingsHeader: readonly string[], width: number): string {
  const lines: string[] = [];
  const push = (text: string, indent: number) => {
    const pad = ' '.repeat(indent);
    for (const line of wrap(text, Math.max(20, width - indent))) lines.push(`${pad}${line}`);
  };
  push(`plan: ${report.target}`, 0);
  for (const line of settingsHeader) push(line, 0);
  lines.push('');
  for (const entry of report.entries) {
    push(entryHeading(entry), 0);
    if (entry.reason !== undefined) push(`${entry.errorCode ? `${entry.errorCode}: ` : ''}${entry.reason}`, 6);
    if (entry.orderNote !== undefined) push(`note: ${entry.orderNote}`, 6);
    for (const write of entry.writes) {
      push(`${write.action}${write.userName !== undefined ? ` user ${write.userName}` : ''}${write.groupDisplayName !== undefined ? ` group ${write.groupDisplayName}` : ''}`, 6);
      for (const change of write.changes ?? []) push(`${change.path}: ${shownValue(change.before)} → ${shownValue(change.after)}`, 10);
    }
  }
  lines.push('');
  push(summaryLine(report), 0);
  const noted = report.entries.filter((entry) => entry.orderNote !== undefined).length;
  if (noted > 0) {
    push(`${noted} entr${noted === 1 ? 'y' : 'ies'} may be applied in another order than planned: the same person or group through two doors (see the notes).`, 0);
  }
  push(`${report.identityStoreCalls} Identity Store read${report.identityStoreCalls === 1 ? '' : 's'} in ${(report.elapsedMs / 1000).toFixed(1)} s. Nothing was written.`, 0);
  return `${lines.join('\n')}\n`;
}

function entryHeading(entry: PlanReportEntry): string {
  const parts = [`#${entry.position}`, entry.eventId ?? '(no id)', entry.type ?? '', entry.producer ? `from ${entry.producer}` : '', LABEL[entry.outcome]];
  // Redelivered, as the queue would, because it waits for an earlier change (its group, its user).
  if (entry.deliveries > 1) parts.push(`(on delivery ${entry.deliveries})`);
  if (entry.writes.length > 0) parts.push(`${entry.writes.length} write${entry.writes.length === 1 ? '' : 's'}`);
  return parts.filter(Boolean).join('  ');
}

/** Counted totals: every outcome that occurs, and the writes by action; the counts add up to the entries. */
export function summaryLine(report: PlanReport): string {
  const counted = (Object.entries(report.totals) as [PlanOutcome, number][]).filter(([, count]) => count > 0).map(([outcome, count]) => `${count} ${LABEL[outcome]}`);
  const actions = Object.entries(report.writesByAction).map(([action, count]) => `${count} ${action}`);
  return (
    `Plan: ${report.entries.length} entr${report.entries.length === 1 ? 'y' : 'ies'}: ${counted.join(', ') || 'none'}. ` +
    `${report.writeCount} write${report.writeCount === 1 ? '' : 's'}${actions.length > 0 ? ` (${actions.join(', ')})` : ''}.`
  );
}


if (require.main === module) runDetailedCommand('plan', () => main(process.argv.slice(2)));
