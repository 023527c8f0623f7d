/**
 * How audit records are printed: a table for people (fits 80 columns), JSON and CSV for export,
 * HTML as one page to attach to a ticket (cli/format-html.ts).
 * JSON and CSV carry every field, in one fixed order, with times in UTC ISO-8601.
 */
import type { AuditRecord, DriftAuditRecord } from '../lambdas/adapters/dynamodb-audit-log';
import type { DriftRecord } from '../lambdas/domain/drift';
import { driftHeadline, membershipGroup, outcomeHeadline, shortUtc, withoutConfirmedIntents } from './record-wording';
import type { IntentRecord, OutcomeRecord, WriteRecord } from '../lambdas/domain/ports';
import { recordsToHtml, type HtmlContext } from './format-html';

export const OUTPUT_FORMATS = ['table', 'json', 'csv', 'html'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Every field a record can have, in output order (the CSV columns). */
export const RECORD_FIELDS = [
  'kind', 'at', 'eventId', 'attempt', 'sequence', 'type', 'action', 'outcome', 'errorCode', 'errorMessage',
  'producer', 'via', 'senderId', 'actor', 'source', 'identityStoreId', 'userName', 'userId', 'externalIds', 'groupDisplayName', 'groupId', 'membershipId',
  'changes', 'writes', 'requestId', 'attempts', 'waitedMs', 'owedWaitMs', 'receivedAt', 'occurredAt',
  'drift', 'findingKey', 'summary', 'path', 'expected', 'actual', 'firstSeen', 'driftAction', 'repairEventId', 'notRepaired',
] as const;
type RecordField = 'kind' | keyof OutcomeRecord | keyof WriteRecord | keyof IntentRecord | keyof DriftRecord;
type UnlistedField = Exclude<RecordField, (typeof RECORD_FIELDS)[number]>;
/** Fails to compile when a record type gains a field that RECORD_FIELDS does not list. */
export const EVERY_FIELD_LISTED: [UnlistedField] extends [never] ? true : UnlistedField = true;

const TIME_FIELDS = new Set<string>(['at', 'receivedAt', 'occurredAt', 'firstSeen']);

/** `context` titles the html page and names what was read; the other formats ignore it. */
export function formatRecords(records: AuditRecord[], format: OutputFormat, width = 80, context?: HtmlContext): string {
  switch (format) {
    case 'html':
      return recordsToHtml(records, context ?? { title: 'Audit records', generatedAt: new Date(), source: 'the audit trail' });
    case 'json':
      return `${JSON.stringify(records.map(orderedRecord), null, 2)}\n`;
    case 'csv':
      return toCsv(records);
    case 'table':
      return toTable(records, width);
  }
}

/** The record with its fields in RECORD_FIELDS order and its times in UTC. */
export function orderedRecord(record: AuditRecord): Record<string, unknown> {
  const fields = record as unknown as Record<string, unknown>;
  const ordered: Record<string, unknown> = {};
  for (const name of RECORD_FIELDS) {
    const value = fields[name];
    if (value !== undefined) ordered[name] = TIME_FIELDS.has(name) ? utcIso(String(value)) : value;
  }
  return ordered;
}

function toCsv(records: AuditRecord[]): string {
  const rows = records.map((record) => {
    const fields = orderedRecord(record);
    return RECORD_FIELDS.map((name) => csvCell(fields[name]));
  });
  return [[...RECORD_FIELDS], ...rows].map((cells) => `${cells.join(',')}\n`).join('');
}

/** RFC 4180: quote cells holding a comma, quote or line break; nested values as JSON. */
function csvCell(value: unknown): string {
  if (value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

interface Column {
  title: string;
  /** The narrowest this column is squeezed to when the line is too long. */
  minWidth: number;
  /** Never squeezed: an operator copies it into the next command (`audit event`, `dlq show`). */
  whole?: boolean;
}

/** Time, event, subject, then what happened: the action or event type first, then its result. */
const TABLE_COLUMNS: Column[] = [
  { title: 'TIME (UTC)', minWidth: 20 },
  { title: 'EVENT', minWidth: 12, whole: true },
  { title: 'SUBJECT', minWidth: 12 },
  { title: 'WHAT HAPPENED', minWidth: 20 },
];
const LAST = TABLE_COLUMNS.length - 1;

function toTable(all: AuditRecord[], width: number): string {
  // An intent its WRITE confirms says nothing the WRITE does not: the table shows only the others.
  const records = withoutConfirmedIntents(all);
  if (records.length === 0) return '(no records)\n';
  const rows = records.map(tableRow);
  const widths = fitWidths(
    TABLE_COLUMNS.map((column, i) => Math.max(column.title.length, ...rows.map((row) => (i === LAST ? row.cells[i]!.length + row.tail.length : row.cells[i]!.length)))),
    width,
  );
  // The leading columns are short identifiers, clipped when they must be; what happened (the
  // reason above all) wraps onto continuation lines under its column and is never cut.
  const indent = ' '.repeat(widths.slice(0, LAST).reduce((sum, w) => sum + w + 1, 0));
  return [{ cells: TABLE_COLUMNS.map((c) => c.title), tail: '' }, ...rows]
    .map((row) => {
      const lead = row.cells.slice(0, LAST).map((cell, i) => clip(cell, widths[i]!).padEnd(widths[i]!));
      const [first = '', ...rest] = wrap(row.cells[LAST]! + row.tail, widths[LAST]!);
      return [`${[...lead, first].join(' ').trimEnd()}\n`, ...rest.map((line) => `${indent}${line}\n`)].join('');
    })
    .join('');
}

/** Greedy word wrap to `width`; a word longer than a line is split. Line breaks in values become spaces. */
export function wrap(text: string, width: number): string[] {
  const words = text.replace(/[\r\n\t]+/g, ' ').split(' ').filter((word) => word.length > 0);
  const lines: string[] = [];
  let line = '';
  for (let word of words) {
    while (word.length > width) {
      if (line) lines.push(line);
      lines.push(word.slice(0, width));
      word = word.slice(width);
      line = '';
    }
    if (!line) line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line || lines.length === 0) lines.push(line);
  return lines;
}

/** A table line: its cells, and a tail for the last cell shown only when it fits whole. */
interface TableRow {
  cells: string[];
  tail: string;
}

/** What the last column keeps before the leading columns give up any room. */
const LAST_COLUMN_COMFORT = 40;

/**
 * Narrows the line until it fits: first the last column down to a comfortable width, then the
 * widest of the leading columns down to their minimums, then the last column to its minimum.
 */
function fitWidths(natural: number[], width: number): number[] {
  const widths = [...natural];
  const tooLong = () => widths.reduce((sum, w) => sum + w, 0) + widths.length - 1 > width;
  while (tooLong() && widths[LAST]! > LAST_COLUMN_COMFORT) widths[LAST]!--;
  while (tooLong()) {
    let widest = -1;
    for (let i = 0; i < LAST; i++) {
      if (!TABLE_COLUMNS[i]!.whole && widths[i]! > TABLE_COLUMNS[i]!.minWidth && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    }
    if (widest < 0) break;
    widths[widest]!--;
  }
  while (tooLong() && widths[LAST]! > TABLE_COLUMNS[LAST]!.minWidth) widths[LAST]!--;
  return widths;
}

function tableRow(record: AuditRecord): TableRow {
  const time = shortUtc(record.at);
  if (record.kind === 'DRIFT') return driftRow(record, time);
  const what = record.kind === 'WRITE' ? writeSummary(record) : record.kind === 'INTENT' ? intentSummary(record) : outcomeSummary(record);
  // The verified producer of an outcome, where it fits (records from before producers were
  // declared have none); a write's producer is its event's, on the outcome line.
  const tail = record.kind === 'OUTCOME' && record.producer !== undefined ? ` (from ${record.producer})` : '';
  return { cells: [time, record.eventId, subjectOf(record), what], tail };
}

/**
 * A drift finding: the EVENT column holds the applied change it departs from (`audit event` shows
 * it), `-` when none decided it; what happened says what differs, since when, and the repair.
 */
function driftRow(record: DriftAuditRecord, time: string): TableRow {
  const group = record.groupDisplayName ?? record.groupId;
  const subject = record.userName ?? record.userId ?? group ?? '-';
  const what = driftHeadline(record, `DRIFT ${record.path ?? 'attribute'}: ${shortValue(record.expected)} applied, ${shortValue(record.actual)} found`);
  const firstSeen = record.firstSeen === undefined ? '' : ` (first seen ${shortUtc(record.firstSeen)})`;
  const repair = record.repairEventId ? `; repair sent: ${record.repairEventId}` : record.notRepaired ? `; not repaired: ${record.notRepaired}` : '';
  return { cells: [time, record.eventId ?? '-', subject, `${what}${firstSeen}${repair}`], tail: '' };
}

/** The user, else the group; a membership's group goes next to the action (see membershipGroup). */
function subjectOf(record: AuditRecord): string {
  return record.userName ?? record.userId ?? record.groupDisplayName ?? record.groupId ?? '-';
}

function outcomeSummary(record: OutcomeRecord): string {
  const reason = [record.errorCode, record.errorMessage].filter(Boolean).join(': ');
  return reason ? `${outcomeHeadline(record)} ${reason}` : outcomeHeadline(record);
}

/** Shown only when no WRITE confirms it (see toTable): the write was tried, and may have been made. */
function intentSummary(record: IntentRecord): string {
  return `${record.action} tried, unconfirmed (attempt ${record.attempt}): the write may have been made; its response or record was lost`;
}

function writeSummary(record: WriteRecord): string {
  const group = membershipGroup(record);
  if (group !== undefined) return `${record.action} ${group}`;
  const changes = record.changes ?? [];
  if (changes.length === 1) {
    const [change] = changes;
    return `${record.action} ${change!.path}: ${shortValue(change!.before)} -> ${shortValue(change!.after)}`;
  }
  if (changes.length > 1) return `${record.action} ${changes.map((change) => change.path).join(', ')}`;
  return record.action;
}

/** An attribute value in plan and drift output: JSON, or `(not set)`. */
export function shownValue(value: unknown): string {
  return value === undefined ? '(not set)' : JSON.stringify(value);
}

function shortValue(value: unknown): string {
  return value === undefined ? '(unset)' : (JSON.stringify(value) ?? String(value));
}

function clip(text: string, width: number): string {
  // One line per record: line breaks inside values would break the table.
  const flat = text.replace(/[\r\n\t]+/g, ' ');
  return flat.length <= width ? flat : `${flat.slice(0, Math.max(0, width - 1))}…`;
}

function utcIso(time: string): string {
  const parsed = Date.parse(time);
  return Number.isNaN(parsed) ? time : new Date(parsed).toISOString();
}
