/**
 * Audit output as one HTML page an auditor can attach to a ticket: self-contained (inline style
 * only, no script, no external resource), readable on screen and printed on A4 landscape, every
 * time in UTC. Records hold whatever events sent (names, reasons, actors), so every piece of text
 * is escaped, and a Content-Security-Policy forbids script even if an escape were ever missed.
 */
import { driftHeadline, membershipGroup, outcomeHeadline, shortUtc, withoutConfirmedIntents } from './record-wording';
import type { AuditRecord, DriftAuditRecord } from '../lambdas/adapters/dynamodb-audit-log';
import type { IntentRecord, OutcomeRecord, WriteRecord } from '../lambdas/domain/ports';
import { projectVersion } from './conventions';

export interface HtmlSection {
  heading: string;
  columns: string[];
  /** One string per column; a line break inside a cell starts a new line in it. */
  rows: string[][];
  /** Shown under the heading, before the table. */
  note?: string;
}

export interface HtmlPage {
  title: string;
  subtitle?: string;
  generatedAt: Date;
  /** What was read: the audit table, or the local directory. */
  source: string;
  sections: HtmlSection[];
}

export type HtmlContext = Omit<HtmlPage, 'sections'>;

/**
 * No script, image, font, frame or connection of any kind; only the inline style. base-uri and
 * form-action are not covered by default-src, so they are shut too.
 */
export const HTML_CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

const STYLE = `
@page { size: A4 landscape; margin: 12mm; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; font-size: 10pt; color: #111; background: #fff; }
body { margin: 1.5em; }
h1 { font-size: 1.6em; margin: 0 0 0.2em; }
h2 { font-size: 1.2em; margin: 1.4em 0 0.4em; break-after: avoid; page-break-after: avoid; }
p { margin: 0.3em 0; }
.subtitle { font-size: 1.1em; color: #333; }
.meta, .note, footer { color: #444; }
table { border-collapse: collapse; width: 100%; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td { border: 1px solid #999; padding: 0.25em 0.45em; text-align: left; vertical-align: top; white-space: pre-line; overflow-wrap: anywhere; }
th { background: #e8e8e8; font-weight: 600; }
tbody tr:nth-child(even) td { background: #f6f6f6; }
td { min-width: 4em; }
td.time { white-space: nowrap; font-variant-numeric: tabular-nums; }
.cc { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.85em; color: #a00; border: 1px dotted #a00; padding: 0 0.1em; }
footer { margin-top: 2em; border-top: 1px solid #999; padding-top: 0.4em; font-size: 0.9em; }
@media print {
  body { margin: 0; }
  html { font-size: 8.5pt; }
  th, tbody tr:nth-child(even) td { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
`;

/** One self-contained HTML5 document holding the sections in order. */
export function renderHtmlPage(page: HtmlPage): string {
  const generated = utcText(page.generatedAt);
  const title = page.subtitle ? `${page.title}: ${page.subtitle}` : page.title;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(HTML_CONTENT_SECURITY_POLICY)}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${text(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<header>',
    `<h1>${text(page.title)}</h1>`,
    ...(page.subtitle ? [`<p class="subtitle">${text(page.subtitle)}</p>`] : []),
    '<p class="meta">All times are UTC (ISO 8601).</p>',
    '</header>',
    '<main>',
    ...page.sections.map(renderSection),
    '</main>',
    `<footer>Generated ${text(generated)} (UTC) from ${text(page.source)} by identity-provisioner ${text(versionText())} (npm run audit).</footer>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function renderSection(section: HtmlSection): string {
  const parts = ['<section>', `<h2>${text(section.heading)}</h2>`];
  if (section.note) parts.push(`<p class="note">${text(section.note)}</p>`);
  if (section.rows.length === 0) {
    if (!section.note) parts.push('<p class="note">None.</p>');
  } else {
    const width = Math.max(section.columns.length, ...section.rows.map((row) => row.length));
    const cells = (row: string[]) => Array.from({ length: width }, (_, i) => row[i] ?? '');
    parts.push(
      '<table>',
      `<thead><tr>${cells(section.columns).map((column) => `<th scope="col">${text(column)}</th>`).join('')}</tr></thead>`,
      '<tbody>',
      ...section.rows.map((row) => `<tr>${cells(row).map((cell, i) => `<td${isTime(section.columns[i], cell) ? ' class="time"' : ''}>${text(cell)}</td>`).join('')}</tr>`),
      '</tbody>',
      '</table>',
    );
  }
  parts.push('</section>');
  return parts.join('\n');
}

/**
 * A time is kept on one line (a time split across lines is misread, and long values elsewhere
 * would squeeze it); anything longer than a time in that column wraps like any other value.
 */
function isTime(heading: string | undefined, cell: string): boolean {
  return heading !== undefined && /^time\b/i.test(heading) && cell.length <= 30;
}

/** The five characters that can start markup or end an attribute value. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Characters that print as nothing but change what a reader sees: control characters, zero-width
 * characters, and bidirectional overrides (which can make `evil` read as `live`). In an audit two
 * names that look alike must not pass for the same, so each is shown as its code point instead.
 */
const INVISIBLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00AD\u061C\u180E\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\uFFF9-\uFFFB]/g;

/** Text as element content: escaped, with invisible characters made visible. */
function text(value: string): string {
  return escapeHtml(value.replace(/\r\n?/g, '\n')).replace(INVISIBLE, (char) => {
    const code = `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    return `<span class="cc" title="invisible character ${code}">${code}</span>`;
  });
}

function versionText(): string {
  try {
    return projectVersion();
  } catch {
    // The page is still worth having without it.
    return '(version unknown)';
  }
}

/** The audit records as one page: the same facts the table format shows, with room for all of them. */
export function recordsToHtml(records: AuditRecord[], context: HtmlContext): string {
  return renderHtmlPage({ ...context, sections: [recordsSection(records)] });
}

export const RECORD_COLUMNS = ['Time (UTC)', 'Event', 'Record', 'Subject', 'What happened', 'Who', 'Reason, changes, details'];

/** The records as a section; an intent its WRITE confirms is left out, as in the table format. */
export function recordsSection(all: AuditRecord[], heading = 'Records'): HtmlSection {
  const records = withoutConfirmedIntents(all);
  if (records.length === 0) return { heading, columns: RECORD_COLUMNS, rows: [], note: 'No records were found.' };
  const hidden = all.length - records.length;
  const note = hidden === 0 ? undefined : `${hidden} write intent${hidden === 1 ? '' : 's'} not shown: each is confirmed by the WRITE record listed with it.`;
  return { heading: `${heading} (${records.length})`, columns: RECORD_COLUMNS, rows: records.map(recordRow), ...(note ? { note } : {}) };
}

function recordRow(record: AuditRecord): string[] {
  const time = shortUtc(record.at);
  switch (record.kind) {
    case 'OUTCOME':
      return [time, record.eventId, 'Outcome', subject(record), outcomeHeadline(record), who(record), outcomeDetails(record)];
    case 'WRITE':
      return [time, record.eventId, 'Write', subject(record), writeWhat(record), who(record), writeDetails(record)];
    case 'INTENT':
      return [time, record.eventId, 'Unconfirmed write', subject(record), `${record.action} tried, unconfirmed (attempt ${record.attempt})`, who(record), 'The write may have been made; its response or record was lost.'];
    case 'DRIFT':
      return [time, record.eventId ?? '-', 'Drift finding', subject(record), driftWhat(record), `drift run (${record.driftAction})`, driftDetails(record)];
  }
}

/** The user, then the group: each with its id when both are known. */
function subject(record: AuditRecord): string {
  const user = named(record.userName, record.userId);
  const group = named(record.groupDisplayName, record.groupId);
  const lines = [user && `user ${user}`, group && `group ${group}`].filter(Boolean);
  return lines.length === 0 ? '-' : lines.join('\n');
}

function named(name: string | undefined, id: string | undefined): string {
  if (name !== undefined && id !== undefined) return `${name} (${id})`;
  return name ?? id ?? '';
}

/** The verified producer and its door, then what the event claims (actor is the sender's word). */
function who(record: OutcomeRecord | WriteRecord | IntentRecord): string {
  const lines: string[] = [];
  if (record.producer !== undefined) lines.push(`producer ${record.producer}${record.via ? ` (via ${record.via})` : ''}`);
  if (record.actor !== undefined) lines.push(`actor ${record.actor} (as the event says)`);
  return lines.length === 0 ? '-' : lines.join('\n');
}

function outcomeDetails(record: OutcomeRecord): string {
  const lines: string[] = [];
  const reason = [record.errorCode, record.errorMessage].filter(Boolean).join(': ');
  if (reason) lines.push(reason);
  if (record.waitedMs > 0) lines.push(`waited ${record.waitedMs} ms on throttling`);
  if (record.owedWaitMs !== undefined) lines.push(`next attempt after ${record.owedWaitMs} ms`);
  if (record.occurredAt !== undefined) lines.push(`event occurred ${shortUtc(record.occurredAt)}`);
  return lines.length === 0 ? '-' : lines.join('\n');
}

function writeWhat(record: WriteRecord): string {
  const group = membershipGroup(record);
  return group === undefined ? record.action : `${record.action} ${group}`;
}

/** One line per changed attribute: path: before → after. */
function writeDetails(record: WriteRecord): string {
  const lines = (record.changes ?? []).map((change) => `${change.path}: ${shownValue(change.before)} → ${shownValue(change.after)}`);
  if (record.membershipId !== undefined) lines.push(`membership ${record.membershipId}`);
  if (record.requestId !== undefined) lines.push(`request ${record.requestId}`);
  if (record.attempts > 1 || record.waitedMs > 0) lines.push(`${record.attempts} call attempt${record.attempts === 1 ? '' : 's'}, waited ${record.waitedMs} ms`);
  return lines.length === 0 ? '-' : lines.join('\n');
}

function driftWhat(record: DriftAuditRecord): string {
  return driftHeadline(record, `DRIFT ${record.path ?? 'attribute'} differs from what this service applied`);
}

function driftDetails(record: DriftAuditRecord): string {
  const lines = [record.summary];
  if (record.drift === 'attribute-differs' || record.drift === 'description-differs') {
    lines.push(`${record.path ?? 'attribute'}: ${shownValue(record.expected)} applied → ${shownValue(record.actual)} found`);
  }
  lines.push(`first seen ${shortUtc(record.firstSeen)}`);
  if (record.repairEventId) lines.push(`repair sent: ${record.repairEventId}`);
  else if (record.notRepaired) lines.push(`not repaired: ${record.notRepaired}`);
  lines.push(`finding ${record.findingKey}`);
  return lines.join('\n');
}

function shownValue(value: unknown): string {
  return value === undefined ? '(not set)' : (JSON.stringify(value) ?? String(value));
}

function utcText(date: Date): string {
  return Number.isNaN(date.getTime()) ? String(date) : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
