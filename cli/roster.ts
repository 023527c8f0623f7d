/**
 * Reads a roster for `npm run reconcile`: the complete desired state of the people in the managed
 * scope, one person per JSON line or per CSV row, each becoming the `data` of a user.upserted (the
 * user in the contract's CreateUser shape, its ExternalId, and the complete `groups` list),
 * validated with the contract's own schema (lambdas/domain/identity-change.ts).
 *
 * - JSON Lines: one object per line, the field names below as keys (strings; `groups` an array
 *   of strings); blank lines skipped; duplicate keys refused (the strict parser of the record path).
 * - CSV (RFC 4180): a header row naming the fields, `,` between cells, `"` quoting (`""` inside),
 *   CRLF or LF, a quoted cell may span lines, a UTF-8 byte order mark is skipped; `groups` holds
 *   the group names separated by `;`; an empty cell leaves the attribute out. A cell beginning
 *   with = + - @ is text like any other: this tool never evaluates a cell and never writes CSV.
 * - Told apart by the name (.csv; .jsonl, .ndjson, .json), else by the content (a first `{` is
 *   JSON Lines).
 *
 * Refused, every problem at once (up to MAX_REPORTED) as `file:line: field (column N): rule`:
 * an unknown field or column (a typo must not drop an attribute silently: with the closest field
 * named), a missing userName or groups, what the contract refuses, two rows for one person (the
 * same userName, compared as the store compares names, or the same ExternalId).
 */
import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import { ENTERPRISE_EXTENSION, userUpsertedSchema, type ExternalId, type UserUpserted } from '../lambdas/domain/identity-change';
import { nameKey } from '../lambdas/domain/names';
import { describeJsonRefusal, parseStrictJson } from '../lambdas/domain/strict-json';
import { closest } from './conventions';
import { readUserFile } from '../local/cli/event-file';

/** One person of the roster: where they are in the file, and their user.upserted `data`. */
export interface RosterPerson {
  /** `file:line` (the line a CSV record starts on). */
  at: string;
  line: number;
  /** The user.upserted `data`: the user (CreateUser's shape, with ExternalIds) and the complete groups list. */
  data: RosterData;
}

export type RosterData = Omit<UserUpserted['data'], 'groups'> & { groups: string[] };

export interface Roster {
  /** The path as resolved. */
  path: string;
  format: RosterFormat;
  people: RosterPerson[];
  /** sha256 of the file's bytes: reconcile derives its event ids from it. */
  digest: string;
}

export type RosterFormat = 'csv' | 'jsonl';

/** A roster that cannot be read or breaks a rule: every problem, one per line. reconcile exits 1. */
export class RosterError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'RosterError';
  }
}

/** Problems listed; the rest are counted. */
const MAX_REPORTED = 20;

type Setter = (user: Record<string, unknown>, value: string) => void;

/** Sets `path` in the user to the value, or to what `shape` makes of it. */
const set =
  (path: string[], shape: (value: string) => unknown = (value) => value): Setter =>
  (user, value) => {
    let target = user;
    for (const key of path.slice(0, -1)) target = (target[key] ??= {}) as Record<string, unknown>;
    target[path.at(-1)!] = shape(value);
  };
const enterprise = (attribute: string, shape?: (value: string) => unknown) => set(['Extensions', ENTERPRISE_EXTENSION, attribute], shape);
/** The one work email or phone number a roster row carries, as CreateUser takes it. */
const primaryWork =
  (attribute: string): Setter =>
  (user, value) => {
    user[attribute] = [{ Value: value, Type: 'work', Primary: true }];
  };

/** The person's attributes a roster may carry, by field name, and where each goes in the contract's user. */
const ATTRIBUTE_FIELDS: Record<string, { path: string; set: Setter }> = {
  userName: { path: 'UserName', set: set(['UserName']) },
  displayName: { path: 'DisplayName', set: set(['DisplayName']) },
  givenName: { path: 'Name.GivenName', set: set(['Name', 'GivenName']) },
  familyName: { path: 'Name.FamilyName', set: set(['Name', 'FamilyName']) },
  middleName: { path: 'Name.MiddleName', set: set(['Name', 'MiddleName']) },
  honorificPrefix: { path: 'Name.HonorificPrefix', set: set(['Name', 'HonorificPrefix']) },
  honorificSuffix: { path: 'Name.HonorificSuffix', set: set(['Name', 'HonorificSuffix']) },
  nickName: { path: 'NickName', set: set(['NickName']) },
  email: { path: 'Emails', set: primaryWork('Emails') },
  phoneNumber: { path: 'PhoneNumbers', set: primaryWork('PhoneNumbers') },
  title: { path: 'Title', set: set(['Title']) },
  userType: { path: 'UserType', set: set(['UserType']) },
  preferredLanguage: { path: 'PreferredLanguage', set: set(['PreferredLanguage']) },
  locale: { path: 'Locale', set: set(['Locale']) },
  timezone: { path: 'Timezone', set: set(['Timezone']) },
  profileUrl: { path: 'ProfileUrl', set: set(['ProfileUrl']) },
  employeeNumber: { path: `Extensions.${ENTERPRISE_EXTENSION}.employeeNumber`, set: enterprise('employeeNumber') },
  costCenter: { path: `Extensions.${ENTERPRISE_EXTENSION}.costCenter`, set: enterprise('costCenter') },
  organization: { path: `Extensions.${ENTERPRISE_EXTENSION}.organization`, set: enterprise('organization') },
  division: { path: `Extensions.${ENTERPRISE_EXTENSION}.division`, set: enterprise('division') },
  department: { path: `Extensions.${ENTERPRISE_EXTENSION}.department`, set: enterprise('department') },
  manager: { path: `Extensions.${ENTERPRISE_EXTENSION}.manager`, set: enterprise('manager', (value) => ({ value })) },
};

const EXTERNAL_ID_FIELDS = ['externalId', 'externalIdIssuer', 'externalIdId'] as const;

/** Every field a roster may have, in the order --help lists them. */
export const ROSTER_FIELDS: readonly string[] = [...Object.keys(ATTRIBUTE_FIELDS), ...EXTERNAL_ID_FIELDS, 'groups'];

/** The fields, for --help texts. */
export const ROSTER_FIELDS_HELP = `userName (required), displayName, givenName, familyName (the three required to create
a user), middleName, honorificPrefix, honorificSuffix, nickName, email, phoneNumber
(each one work value), title, userType, preferredLanguage, locale, timezone, profileUrl,
employeeNumber, costCenter, organization, division, department, manager (the enterprise
extension), externalId (ISSUER/ID, split at the first /) or externalIdIssuer and
externalIdId, groups (required: the complete list; CSV: separated by ;)`;

/** One row before validation: each field's text (or, JSONL, its groups array), with where it is. */
interface RawRow {
  line: number;
  /** field -> value; CSV cells are strings, JSONL `groups` an array. */
  values: Map<string, unknown>;
  /** field -> 1-based CSV column, for messages. */
  columns?: Map<string, number>;
}

/** Reads the roster at `path` (relative to where the user ran npm). Throws RosterError. */
export function readRoster(path: string): Roster {
  const read = readUserFile(path);
  if ('why' in read) throw new RosterError([`cannot read roster ${read.resolved}: ${read.why}`]);
  const { resolved, bytes } = read;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new RosterError([`${resolved}: not UTF-8 text (save the roster as UTF-8)`]);
  }
  const text = bytes.toString('utf8');
  const parsed = parseRosterText(text, resolved, formatOf(resolved, text));
  return { ...parsed, path: resolved, digest: createHash('sha256').update(bytes).digest('hex') };
}

/** CSV or JSON Lines: by the file's extension, else by its content. */
export function formatOf(path: string, text: string): RosterFormat {
  const extension = extname(path).toLowerCase();
  if (extension === '.csv') return 'csv';
  if (['.jsonl', '.ndjson', '.json'].includes(extension)) return 'jsonl';
  return text.trimStart().startsWith('{') ? 'jsonl' : 'csv';
}

/** Parses a roster's text (without a byte order mark); `file` names it in messages. Throws RosterError. */
export function parseRosterText(text: string, file: string, format: RosterFormat): { format: RosterFormat; people: RosterPerson[] } {
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const rows = format === 'csv' ? csvRows(text, file) : jsonLines(text, file);
  const problems: string[] = [];
  const people: RosterPerson[] = [];
  for (const row of rows) {
    const person = toPerson(row, file, problems);
    if (person) people.push(person);
  }
  problems.push(...duplicates(rows, file));
  if (problems.length > 0) throw refusal(problems);
  return { format, people };
}

function refusal(problems: string[]): RosterError {
  const shown = problems.slice(0, MAX_REPORTED);
  if (problems.length > shown.length) shown.push(`... and ${problems.length - shown.length} more problems (${problems.length} in all)`);
  return new RosterError(shown);
}

// ---------------------------------------------------------------------------------------------
// JSON Lines

function jsonLines(text: string, file: string): RawRow[] {
  const rows: RawRow[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim().length === 0) return;
    const at = `${file}:${index + 1}`;
    const parsed = parseStrictJson(line);
    if (!parsed.ok) {
      problems.push(`${at}: ${parsed.field === 'body' ? parsed.rule : describeJsonRefusal(parsed)}`);
      return;
    }
    if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
      problems.push(`${at}: expected a JSON object (one person per line), got ${parsed.value === null ? 'null' : Array.isArray(parsed.value) ? 'an array' : `a ${typeof parsed.value}`}`);
      return;
    }
    const values = new Map<string, unknown>();
    for (const [field, value] of Object.entries(parsed.value as Record<string, unknown>)) {
      if (!ROSTER_FIELDS.includes(field)) {
        problems.push(`${at}: ${field}: ${unknownField(field)}`);
        continue;
      }
      if (field === 'groups') {
        if (!Array.isArray(value) || value.some((group) => typeof group !== 'string')) {
          problems.push(`${at}: groups: must be an array of group names (strings), e.g. ["Everyone", "Engineering"]`);
          continue;
        }
      } else if (typeof value !== 'string') {
        problems.push(`${at}: ${field}: must be a string, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}`);
        continue;
      }
      values.set(field, value);
    }
    rows.push({ line: index + 1, values });
  });
  if (problems.length > 0) throw refusal(problems);
  return rows;
}

function unknownField(field: string): string {
  const guess = closest(field, ROSTER_FIELDS);
  return `is not a roster field${guess ? ` (did you mean ${guess}?)` : ''}; the fields: ${ROSTER_FIELDS.join(', ')}`;
}

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180)

interface CsvRecord {
  line: number;
  cells: string[];
}

/** The records of a CSV text: `,` separated, `"` quoted (`""` a quote), CRLF or LF, quoted cells may span lines. */
export function parseCsv(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const start = line;
    const cells: string[] = [];
    for (;;) {
      let cell = '';
      if (text[i] === '"') {
        const quoteLine = line;
        i++;
        for (;;) {
          if (i >= n) throw new RosterError([`${file}:${quoteLine}: a quoted cell is never closed (a " without its closing ")`]);
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] === '"') {
              cell += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          cell += c;
          i++;
        }
        if (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          throw new RosterError([`${file}:${line}: column ${cells.length + 1}: text after a closing quote (write "" for a quote inside a quoted cell)`]);
        }
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          if (text[i] === '"') throw new RosterError([`${file}:${line}: column ${cells.length + 1}: a " inside an unquoted cell (quote the whole cell and write "" for the quote)`]);
          cell += text[i];
          i++;
        }
      }
      cells.push(cell);
      if (i < n && text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    // The end of the record: CRLF, LF or the end of the text.
    if (text[i] === '\r') i++;
    if (text[i] === '\n') {
      i++;
      line++;
    }
    const blank = cells.length === 1 && cells[0] === '';
    if (!blank) records.push({ line: start, cells });
  }
  return records;
}

function csvRows(text: string, file: string): RawRow[] {
  const records = parseCsv(text, file);
  if (records.length === 0) return [];
  const [header, ...body] = records;
  const problems: string[] = [];
  const fields: (string | undefined)[] = header.cells.map((raw, index) => {
    const name = raw.trim();
    const field = ROSTER_FIELDS.find((known) => known.toLowerCase() === name.toLowerCase());
    if (field === undefined) problems.push(`${file}:${header.line}: column ${index + 1} "${raw}": ${unknownField(name)}`);
    return field;
  });
  const seen = new Map<string, number>();
  fields.forEach((field, index) => {
    if (field === undefined) return;
    if (seen.has(field)) problems.push(`${file}:${header.line}: column ${index + 1}: ${field} is already column ${seen.get(field)! + 1}`);
    else seen.set(field, index);
  });
  for (const required of ['userName', 'groups']) {
    if (!seen.has(required)) problems.push(`${file}:${header.line}: no ${required} column (the header must name it${required === 'groups' ? ': every person\'s complete list of groups, empty for none' : ''})`);
  }
  if (problems.length > 0) throw refusal(problems);
  const rows: RawRow[] = [];
  for (const record of body) {
    if (record.cells.length !== header.cells.length) {
      problems.push(`${file}:${record.line}: has ${record.cells.length} cells, the header has ${header.cells.length} (a , inside a cell needs the cell in quotes)`);
      continue;
    }
    const values = new Map<string, unknown>();
    const columns = new Map<string, number>();
    record.cells.forEach((cell, index) => {
      const field = fields[index]!;
      columns.set(field, index + 1);
      if (field === 'groups') {
        values.set(field, cell.split(';').map((group) => group.replace(/^ +| +$/g, '')).filter((group) => group.length > 0));
      } else if (cell !== '') values.set(field, cell);
    });
    rows.push({ line: record.line, values, columns });
  }
  if (problems.length > 0) throw refusal(problems);
  return rows;
}

// ---------------------------------------------------------------------------------------------
// A row as a person

function toPerson(row: RawRow, file: string, problems: string[]): RosterPerson | undefined {
  const at = `${file}:${row.line}`;
  const where = (field: string) => (row.columns?.has(field) ? `${field} (column ${row.columns.get(field)})` : field);
  const before = problems.length;
  if (!row.values.has('userName')) problems.push(`${at}: ${where('userName')}: is required`);
  if (!row.values.has('groups')) {
    problems.push(`${at}: groups: is required (the person's complete list of groups; [] for none)`);
  }
  const user: Record<string, unknown> = {};
  for (const [field, { set: setter }] of Object.entries(ATTRIBUTE_FIELDS)) {
    const value = row.values.get(field);
    if (typeof value === 'string') setter(user, value);
  }
  const externalId = externalIdOf(row, at, where, problems);
  if (externalId) user.ExternalIds = [externalId];
  if (problems.length > before) return undefined;

  const groups = dedupe(row.values.get('groups') as string[]);
  const parsed = userUpsertedSchema.shape.data.safeParse({ user, groups });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      // zod's words for a value that is not there at all.
      const message = /received undefined|expected nonoptional/.test(issue.message) ? 'is required' : issue.message;
      problems.push(`${at}: ${describeIssue(issue.path, message, row, where)}`);
    }
    return undefined;
  }
  return { at, line: row.line, data: { ...parsed.data, groups: parsed.data.groups ?? [] } };
}

function externalIdOf(row: RawRow, at: string, where: (field: string) => string, problems: string[]): ExternalId | undefined {
  const combined = row.values.get('externalId') as string | undefined;
  const issuer = row.values.get('externalIdIssuer') as string | undefined;
  const id = row.values.get('externalIdId') as string | undefined;
  if (combined !== undefined) {
    if (issuer !== undefined || id !== undefined) {
      problems.push(`${at}: ${where('externalId')}: give externalId (ISSUER/ID) or externalIdIssuer and externalIdId, not both`);
      return undefined;
    }
    const slash = combined.indexOf('/');
    if (slash <= 0 || slash === combined.length - 1) {
      problems.push(`${at}: ${where('externalId')}: must be ISSUER/ID (e.g. workday/W-1000), got "${combined}" (an issuer with a / needs externalIdIssuer and externalIdId)`);
      return undefined;
    }
    return { Issuer: combined.slice(0, slash), Id: combined.slice(slash + 1) };
  }
  if (issuer === undefined && id === undefined) return undefined;
  if (issuer === undefined || id === undefined) {
    problems.push(`${at}: ${where(issuer === undefined ? 'externalIdIssuer' : 'externalIdId')}: is required with ${issuer === undefined ? 'externalIdId' : 'externalIdIssuer'}`);
    return undefined;
  }
  return { Issuer: issuer, Id: id };
}

/** The same group twice (as the store compares names) is listed once. */
function dedupe(groups: string[]): string[] {
  const seen = new Set<string>();
  return groups.filter((group) => {
    const key = nameKey(group);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A contract issue (its path in the user.upserted data) as the roster field it came from. */
function describeIssue(path: readonly PropertyKey[], message: string, row: RawRow, where: (field: string) => string): string {
  const [top, ...rest] = path.map(String);
  if (top === 'groups') {
    const index = rest[0] === undefined ? undefined : Number(rest[0]);
    const groups = row.values.get('groups') as string[];
    return index === undefined ? `${where('groups')}: ${message}` : `${where('groups')}: ${shown(dedupe(groups)[index])} (entry ${index + 1}): ${message}`;
  }
  const contractPath = rest.filter((part) => !/^\d+$/.test(part));
  if (contractPath[0] === 'ExternalIds') {
    const part = contractPath[1];
    const field = row.values.has('externalId') ? 'externalId' : part === 'Issuer' ? 'externalIdIssuer' : 'externalIdId';
    return `${where(field)}: ${part ? `${part === 'Issuer' ? 'the issuer' : 'the id'} ` : ''}${message}`;
  }
  const joined = contractPath.join('.');
  // The longest field path the issue's path begins with: Name.GivenName before Name.
  const match = Object.entries(ATTRIBUTE_FIELDS)
    .filter(([, { path: fieldPath }]) => joined === fieldPath || joined.startsWith(`${fieldPath}.`))
    .sort(([, a], [, b]) => b.path.length - a.path.length)[0];
  if (match) return `${where(match[0])}: ${message}`;
  // A required part missing as a whole (Name without given and family names): the fields it needs.
  if (joined === 'Name') return `givenName and familyName: ${message}`;
  if (joined === '') return message;
  return `${joined}: ${message}`;
}

/**
 * A name in quotes, its invisible characters (controls, format characters, spaces other than the
 * plain one) shown escaped, so "Everyone\u00a0" shows why it is not "Everyone".
 */
export function shown(text: string): string {
  return `"${text.replace(/[\p{C}\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f\u3000\ufeff]/gu, (char) => `\\u${char.codePointAt(0)!.toString(16).padStart(4, '0')}`)}"`;
}

/** The same person twice, judged on the rows as written (a row that breaks another rule still counts). */
function duplicates(rows: RawRow[], file: string): string[] {
  const problems: string[] = [];
  const byName = new Map<string, { line: number; userName: string }>();
  const byExternalId = new Map<string, { line: number; userName: string }>();
  for (const row of rows) {
    const userName = row.values.get('userName');
    if (typeof userName !== 'string') continue;
    const first = byName.get(nameKey(userName));
    if (first) problems.push(`${file}:${row.line}: userName ${shown(userName)} is already line ${first.line} (${shown(first.userName)}): one row per person (names compare without regard to case)`);
    else byName.set(nameKey(userName), { line: row.line, userName });
    const combined = row.values.get('externalId');
    const issuer = row.values.get('externalIdIssuer');
    const id = row.values.get('externalIdId');
    const externalId = typeof combined === 'string' ? combined : typeof issuer === 'string' && typeof id === 'string' ? `${issuer}/${id}` : undefined;
    if (externalId === undefined) continue;
    const key = typeof combined === 'string' ? JSON.stringify([combined.slice(0, combined.indexOf('/')), combined.slice(combined.indexOf('/') + 1)]) : JSON.stringify([issuer, id]);
    const earlier = byExternalId.get(key);
    if (earlier) problems.push(`${file}:${row.line}: externalId ${externalId} is already line ${earlier.line} (${shown(earlier.userName)}): one row per person`);
    else byExternalId.set(key, { line: row.line, userName });
  }
  return problems;
}
