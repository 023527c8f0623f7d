/**
 * The answers about people and memberships (cli/audit-history.ts), printed: a person's history
 * as a header and the record table, memberships as a table of who, since when, by which event,
 * producer and actor. JSON and CSV carry the same facts for tools.
 */
import { findPersons, groupsOfAt, membersAt, nameAt, readOnce, type GroupAt, type HistoryReader, type MembershipAt, type Person, type PersonAnswer, type PersonQuery } from './audit-history';
import { formatRecords, wrap, type OutputFormat } from './format';
import { renderHtmlPage } from './format-html';

export interface Printed {
  text: string;
  /** Some answer was cut to the newest `limit` records. */
  truncated: boolean;
}

export interface AnswerContext {
  format: OutputFormat;
  width: number;
  limit: number;
  /** Where the answer came from (the table or local store read), for pages that travel. */
  source: string;
  generatedAt: Date;
}

/** `user`: the person or persons, each with their whole history. */
export async function personAnswer(store: HistoryReader, query: PersonQuery, context: AnswerContext): Promise<Printed> {
  const reader = readOnce(store);
  const answer = await findPersons(reader, query);
  const limited = answer.persons.map((person) => ({ ...person, records: person.records.slice(-context.limit) }));
  const truncated = answer.persons.some((person) => person.records.length > context.limit);
  const unattributed = answer.unattributed.slice(-context.limit);
  const records = [...limited.flatMap((person) => person.records), ...unattributed];
  switch (context.format) {
    case 'json':
    case 'csv':
      // A record stream, as every other command prints: each record carries its userId and the name then.
      return { text: formatRecords(records, context.format, context.width), truncated };
    case 'html':
      return {
        text: formatRecords(records, 'html', context.width, {
          title: `Audit history of ${describeQuery(query)}`,
          subtitle: personHeaders({ ...answer, persons: limited }).join(' · '),
          generatedAt: context.generatedAt,
          source: context.source,
        }),
        truncated,
      };
    case 'table': {
      if (limited.length === 0 && unattributed.length === 0) return { text: `No records about ${describeQuery(query)}.\n`, truncated };
      const blocks = limited.map((person) => `${wrap(personHeader(person), context.width).join('\n')}\n${formatRecords(person.records, 'table', context.width)}`);
      if (unattributed.length > 0) {
        blocks.push(`Filed under ${describeQuery(query)}, no UserId recorded (the events never reached an existing user):\n${formatRecords(unattributed, 'table', context.width)}`);
      }
      return { text: blocks.join('\n'), truncated };
    }
  }
}

/** `groups-of`: the groups each person the query names was in at `at`. */
export async function groupsOfAnswer(store: HistoryReader, query: PersonQuery, at: Date, context: AnswerContext): Promise<Printed> {
  const reader = readOnce(store);
  const { persons } = await findPersons(reader, query);
  const answers: { person: Person; groups: MembershipAt[] }[] = [];
  for (const person of persons) answers.push({ person, groups: await groupsOfAt(person, reader, at) });
  const when = utc(at);
  const sections = answers.map(({ person, groups }) => ({
    heading: `${nameAt(person.records, at) ?? person.names.at(-1) ?? person.userId} (UserId ${person.userId}) at ${when}: ${count(groups.length, 'group')}`,
    rows: groups.map((m) => [m.groupDisplayName ?? '-', m.groupId, utc(m.since), m.eventId, m.producer ?? '-', m.actor ?? '-', howShown(m)]),
    blocks: groups.map((m) => [`${m.groupDisplayName ?? '-'} (GroupId ${m.groupId})`, membershipLine(m)]),
  }));
  const columns = ['GROUP', 'GROUPID', 'SINCE (UTC)', 'EVENT', 'PRODUCER', 'ACTOR', 'HOW'];
  const json = answers.map(({ person, groups }) => ({ userId: person.userId, names: person.names, at: at.toISOString(), groups }));
  if (persons.length === 0) return { text: emptyAnswer(context, `No records about ${describeQuery(query)}.`, json), truncated: false };
  return { text: printTables(`Groups of ${describeQuery(query)} at ${when}`, columns, sections, json, context), truncated: false };
}

/** `members`: who was in the group (each group that had the name then) at `at`. */
export async function membersAnswer(store: HistoryReader, displayName: string, at: Date, context: AnswerContext): Promise<Printed> {
  const reader = readOnce(store);
  const groups: GroupAt[] = await membersAt(reader, displayName, at);
  const when = utc(at);
  const sections = groups.map((group) => ({
    heading: `${group.displayName} (GroupId ${group.groupId}) at ${when}: ${count(group.members.length, 'member')}`,
    rows: group.members.map((m) => [m.userName ?? '-', m.userId, utc(m.since), m.eventId, m.producer ?? '-', m.actor ?? '-', howShown(m)]),
    blocks: group.members.map((m) => [`${m.userName ?? '-'} (UserId ${m.userId})`, membershipLine(m)]),
  }));
  const columns = ['USER', 'USERID', 'SINCE (UTC)', 'EVENT', 'PRODUCER', 'ACTOR', 'HOW'];
  const json = groups.map((group) => ({ ...group, at: at.toISOString() }));
  if (groups.length === 0) return { text: emptyAnswer(context, `No group named ${displayName} existed at ${when}, as far as the audit trail knows.`, json), truncated: false };
  return { text: printTables(`Members of ${displayName} at ${when}`, columns, sections, json, context), truncated: false };
}

function emptyAnswer(context: AnswerContext, message: string, json: unknown[]): string {
  if (context.format === 'json') return `${JSON.stringify(json, null, 2)}\n`;
  if (context.format === 'csv') return '';
  if (context.format === 'html') return printTables(message, [], [], json, context);
  return `${message}\n`;
}

interface Section {
  heading: string;
  rows: string[][];
  /** The rows as text when the table is wider than the terminal: a title line, then a sentence. */
  blocks: string[][];
}

function printTables(title: string, columns: string[], sections: Section[], json: unknown[], context: AnswerContext): string {
  switch (context.format) {
    case 'json':
      return `${JSON.stringify(json, null, 2)}\n`;
    case 'csv': {
      const lines = [['SECTION', ...columns], ...sections.flatMap((section) => section.rows.map((row) => [section.heading, ...row]))];
      return lines.map((cells) => `${cells.map(csvCell).join(',')}\n`).join('');
    }
    case 'html':
      return renderPage(title, columns, sections, context);
    case 'table':
      return sections.map((section) => `${wrap(section.heading, context.width).join('\n')}\n${section.rows.length > 0 ? columnsTable(columns, section, context.width) : ''}`).join('\n');
  }
}

function renderPage(title: string, columns: string[], sections: Section[], context: AnswerContext): string {
  return renderHtmlPage({
    title,
    generatedAt: context.generatedAt,
    source: context.source,
    sections: sections.map((section) => ({ heading: section.heading, columns, rows: section.rows })),
  });
}

/**
 * Columns as wide as their widest cell when the line fits `width`; else each row as a block (its
 * title line, then a wrapped sentence). Values are identifiers an auditor copies: none is clipped.
 */
function columnsTable(columns: string[], section: Section, width: number): string {
  const flat = section.rows.map((row) => row.map((cell) => cell.replace(/[\r\n\t]+/g, ' ')));
  const widths = columns.map((title, i) => Math.max(title.length, ...flat.map((row) => row[i]!.length)));
  if (widths.reduce((sum, w) => sum + w + 2, -2) <= width) {
    return [columns, ...flat].map((cells) => `${cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()}\n`).join('');
  }
  return section.blocks
    .map(([title = '', sentence = '']) => [...wrap(title, width), ...wrap(sentence, width - 2).map((line) => `  ${line}`)].map((line) => `${line}\n`).join(''))
    .join('');
}

function membershipLine(m: MembershipAt): string {
  const how = m.how === 'added' ? 'added' : 'found already a member';
  return `${how} ${utc(m.since)} by event ${m.eventId}, producer ${m.producer ?? '-'}, actor ${m.actor ?? '-'}`;
}

function personHeaders(answer: PersonAnswer): string[] {
  return answer.persons.map(personHeader);
}

function personHeader(person: Person): string {
  const names = person.names.length > 0 ? person.names.join(' -> ') : '(no name recorded)';
  const ids = person.externalIds.length > 0 ? `; ExternalIds ${person.externalIds.join(', ')}` : '';
  return `Person ${person.userId}: ${names}${ids} (${count(person.records.length, 'record')})`;
}

function describeQuery(query: PersonQuery): string {
  return query.kind === 'external-id' ? `ExternalId ${query.text}` : query.text;
}

function howShown(membership: MembershipAt): string {
  return membership.how === 'added' ? 'added' : 'found (already a member)';
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function utc(time: string | Date): string {
  return new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
