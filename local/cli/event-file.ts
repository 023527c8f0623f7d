/**
 * The one reader of events files, for `npm start -- --events FILE` and `npm run send -- FILE`.
 *
 * The format is decided from the content, not the file name:
 * - the first non-whitespace character is `[`: a JSON array of events;
 * - the whole file parses as one JSON object (pretty-printed or not): one event;
 * - otherwise JSON Lines: one JSON value per non-blank line.
 * An event is an object: a bare v1 document, an EventBridge event ({source, detail-type, detail}),
 * or {"producer": NAME, "event": ...}. A JSON string stands for a raw message body (its value is
 * sent as it is, to a queue only): the way to show what the pipeline does with a body that is not
 * JSON. Anything else (CSV, a truncated object, a line that is not JSON) is refused before
 * anything is sent, as `file:line:column: message` lines (1-based), every bad line of a JSON
 * Lines file up to ten of them.
 *
 * A relative path is resolved against the directory the user ran npm in (npm runs scripts from
 * the package root and puts the user's directory in INIT_CWD), else the process's own.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EventsFileError, type ProducerEntry } from '../producer';

export type EventFileFormat = 'array' | 'lines' | 'object';

export interface EventFile {
  /** The path as resolved (absolute). */
  path: string;
  format: EventFileFormat;
  entries: ProducerEntry[];
}

/** The formats, for --help texts. */
export const EVENT_FILE_FORMATS = `a JSON array of events, JSON Lines (one event per line; blank lines are skipped), or a
single JSON object (one event, pretty-printed or not), told apart by the content: a file
whose first character is [ is an array, one that parses as one object is that event, any
other is JSON Lines. An event is a v1 event, an EventBridge event ({source, detail-type,
detail}) or {"producer": NAME, "event": ...}; a JSON string is sent as a raw body, its
value as it is (queues only). A file with anything else (CSV, a line that is not JSON, a
truncated object) is refused with file:line:column before anything is sent. A relative
path is taken from the directory you ran npm in.`;

/** Bad lines of a JSON Lines file listed in the refusal; the rest are counted. */
const MAX_REPORTED = 10;

const FORMATS_HINT =
  'expected a JSON array of events, JSON Lines (one JSON event per line) or a single JSON object. Nothing was sent.';

/** Where the user stands: npm runs scripts from the package root and says in INIT_CWD where it was started. */
export function userDirectory(): string {
  return process.env.INIT_CWD || process.cwd();
}

/** The path as the user meant it: relative to the directory they ran npm in. */
export function resolveUserPath(path: string): string {
  return resolve(userDirectory(), path);
}

/** A file the user named (relative to where they ran npm): its bytes, or why it cannot be read. */
export function readUserFile(path: string): { resolved: string; bytes: Buffer } | { resolved: string; why: string } {
  const resolved = resolveUserPath(path);
  try {
    return { resolved, bytes: readFileSync(resolved) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory, not a file'
          : code === 'EACCES'
            ? 'permission denied'
            : (error as Error).message;
    return { resolved, why };
  }
}

/** Reads and parses an events file; throws EventsFileError (the CLIs exit 2) with file:line:column lines. */
export function readEventFile(path: string): EventFile {
  const read = readUserFile(path);
  if ('why' in read) throw new EventsFileError(`cannot read events file ${read.resolved}: ${read.why}${path !== read.resolved ? ` (${path} from ${userDirectory()})` : ''}`);
  const { resolved, bytes } = read;
  const { format, entries } = parseEventFileText(decode(bytes, resolved), resolved);
  return { path: resolved, format, entries };
}

/** UTF-8 text, without a leading byte order mark. */
function decode(bytes: Buffer, file: string): string {
  const text = bytes.toString('utf8');
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = locate(text, Math.max(0, text.indexOf('\uFFFD')));
    throw new EventsFileError(`${file}:${at.line}:${at.column}: not UTF-8 text\n${file}: ${FORMATS_HINT}`);
  }
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

/** Parses the text of an events file (without a byte order mark); `file` names it in errors. */
export function parseEventFileText(text: string, file: string): { format: EventFileFormat; entries: ProducerEntry[] } {
  const firstAt = text.search(/\S/);
  if (firstAt < 0) throw refusal(file, [`${file}:1:1: the file is empty: no events`]);

  if (text[firstAt] === '[') return { format: 'array', entries: parseArray(text, file) };

  const whole = tryParse(text);
  if (whole.ok && isEvent(whole.value)) return { format: 'object', entries: [whole.value as ProducerEntry] };

  // A file that starts like a pretty-printed object (its first two lines are not JSON on their own)
  // is one object, broken: its error is the whole file's, not one line's.
  const lines = splitLines(text);
  const nonBlank = lines.filter((line) => line.text.trim().length > 0).slice(0, 2);
  if (text[firstAt] === '{' && !whole.ok && nonBlank.every((line) => !tryParse(line.text).ok)) {
    throw wholeFileError(text, file, whole.error);
  }
  return { format: 'lines', entries: parseLines(lines, file) };
}

/** A file that is one JSON value (an array, an object) and does not parse: one error, where it is. */
function wholeFileError(text: string, file: string, error: Error): EventsFileError {
  const end = text.trimEnd().length;
  const offset = errorOffset(text, error);
  const at = locate(text, Math.min(offset, end));
  const hint = /^Unexpected non-whitespace character after JSON/.test(error.message)
    ? ' (several values? put them in one JSON array, or one per line)'
    : offset >= end && !/end of (JSON )?input/i.test(error.message)
      ? ' (the file ends here: is it truncated?)'
      : '';
  return refusal(file, [`${file}:${at.line}:${at.column}: ${cleanMessage(error.message)}${hint}`]);
}

function parseArray(text: string, file: string): ProducerEntry[] {
  const parsed = tryParse(text);
  if (!parsed.ok) throw wholeFileError(text, file, parsed.error);
  if (!Array.isArray(parsed.value)) throw refusal(file, [`${file}:1:1: not a JSON array`]);
  const elements = parsed.value as unknown[];
  if (elements.length === 0) {
    const at = locate(text, text.indexOf('['));
    throw refusal(file, [`${file}:${at.line}:${at.column}: an empty array: no events`]);
  }
  const bad = elements.flatMap((element, index) => (isEntry(element) ? [] : [index]));
  if (bad.length > 0) {
    const starts = arrayElementOffsets(text);
    throw refusal(
      file,
      bad.slice(0, MAX_REPORTED).map((index) => {
        const at = locate(text, starts[index] ?? 0);
        return `${file}:${at.line}:${at.column}: element ${index + 1} ${notAnEvent(elements[index])}`;
      }),
      bad.length,
      'bad elements',
    );
  }
  return elements as ProducerEntry[];
}

function parseLines(lines: { text: string; number: number }[], file: string): ProducerEntry[] {
  const entries: ProducerEntry[] = [];
  const errors: string[] = [];
  let bad = 0;
  for (const line of lines) {
    if (line.text.trim().length === 0) continue;
    const parsed = tryParse(line.text);
    let error: string | undefined;
    if (!parsed.ok) {
      const offset = errorOffset(line.text, parsed.error);
      error = `${file}:${line.number}:${offset + 1}: ${cleanMessage(parsed.error.message)}`;
    } else if (!isEntry(parsed.value)) {
      error = `${file}:${line.number}:${line.text.search(/\S/) + 1}: ${notAnEvent(parsed.value)}`;
    } else entries.push(parsed.value as ProducerEntry);
    if (error !== undefined) {
      bad++;
      if (errors.length < MAX_REPORTED) errors.push(error);
    }
  }
  if (bad > 0) throw refusal(file, errors, bad, 'bad lines');
  return entries;
}

function refusal(file: string, errors: string[], total = errors.length, what = 'errors'): EventsFileError {
  const more = total > errors.length ? [`${file}: ... and ${total - errors.length} more ${what} (${total} in all)`] : [];
  return new EventsFileError([...errors, ...more, `${file}: ${FORMATS_HINT}`].join('\n'));
}

/** An event object, or a string (a raw body). */
function isEntry(value: unknown): boolean {
  return typeof value === 'string' || isEvent(value);
}

function isEvent(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function notAnEvent(value: unknown): string {
  const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
  return `is ${kind}, not an event: expected a JSON object (or a JSON string, sent as a raw body)`;
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: Error };

function tryParse(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

function splitLines(text: string): { text: string; number: number }[] {
  return text.split('\n').map((line, index) => ({ text: line.endsWith('\r') ? line.slice(0, -1) : line, number: index + 1 }));
}

/** 1-based line and column of a 0-based offset (columns in UTF-16 units, as editors count them). */
export function locate(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: before.length - lineStart + 1 };
}

/**
 * Where JSON.parse failed: its "at position N" when the message has one (V8's messages mostly
 * do), else the end of the text for "Unexpected end", else where a strict scan of the text
 * finds the first character that cannot continue JSON.
 */
export function errorOffset(text: string, error: Error): number {
  const position = /at position (\d+)/.exec(error.message);
  if (position) return Number(position[1]);
  if (/end of (JSON )?input/i.test(error.message)) return text.trimEnd().length;
  return firstInvalidOffset(text) ?? 0;
}

/** The message without V8's position and its echo of the input (the location says where). */
export function cleanMessage(message: string): string {
  return message
    .replace(/ at position \d+.*$/s, '')
    .replace(/ in JSON$/, '')
    .replace(/^(Unexpected token '.*?'), ".*" is not valid JSON$/s, '$1')
    .replace(/^(Unexpected token '.*?'), .*$/s, '$1');
}

/** Offsets of the elements of a JSON array that parses (the text's first value). */
function arrayElementOffsets(text: string): number[] {
  const offsets: number[] = [];
  let depth = 0;
  let inString = false;
  let expectElement = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (expectElement && !/\s/.test(c)) {
      expectElement = false;
      if (c !== ']') offsets.push(i);
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      depth++;
      if (depth === 1) expectElement = true;
    } else if (c === ']' || c === '}') {
      depth--;
      if (depth === 0) break;
    } else if (c === ',' && depth === 1) expectElement = true;
  }
  return offsets;
}

/** The offset of the first character that cannot continue strict JSON, or undefined if the text is JSON. */
export function firstInvalidOffset(s: string): number | undefined {
  let i = 0;
  class Invalid {}
  const fail = (): never => {
    throw new Invalid();
  };
  const space = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  };
  const digits = () => {
    const start = i;
    while (i < s.length && s[i] >= '0' && s[i] <= '9') i++;
    if (i === start) fail();
  };
  const string = () => {
    i++; // the opening quote
    for (;;) {
      if (i >= s.length) fail();
      const c = s[i];
      if (c === '"') {
        i++;
        return;
      }
      if (c < ' ') fail();
      if (c === '\\') {
        i++;
        if (i >= s.length) fail();
        if (s[i] === 'u') {
          i++;
          for (let k = 0; k < 4; k++, i++) if (!/[0-9a-fA-F]/.test(s[i] ?? '')) fail();
        } else if ('"\\/bfnrt'.includes(s[i])) i++;
        else fail();
      } else i++;
    }
  };
  const value = (): void => {
    space();
    const c = s[i];
    if (c === '{') {
      i++;
      space();
      if (s[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        space();
        if (s[i] !== '"') fail();
        string();
        space();
        if (s[i] !== ':') fail();
        i++;
        value();
        space();
        if (s[i] === ',') i++;
        else if (s[i] === '}') {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '[') {
      i++;
      space();
      if (s[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        space();
        if (s[i] === ',') i++;
        else if (s[i] === ']') {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') return string();
    if (c === '-' || (c >= '0' && c <= '9')) {
      if (s[i] === '-') i++;
      if (s[i] === '0') i++;
      else digits();
      if (s[i] === '.') {
        i++;
        digits();
      }
      if (s[i] === 'e' || s[i] === 'E') {
        i++;
        if (s[i] === '+' || s[i] === '-') i++;
        digits();
      }
      return;
    }
    for (const word of ['true', 'false', 'null']) {
      if (c === word[0]) {
        for (const expected of word) {
          if (s[i] !== expected) fail();
          i++;
        }
        return;
      }
    }
    fail();
  };
  try {
    value();
    space();
    if (i < s.length) fail();
    return undefined;
  } catch (error) {
    if (error instanceof Invalid) return Math.min(i, s.length);
    return 0; // nested too deep for this scan
  }
}
