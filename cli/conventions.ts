/**
 * What every operator command shares: exit codes (0 ok, 1 the operation failed, 2 usage error),
 * -h/--help, --version from package.json, strict option parsing whose errors are rewritten (never
 * Node's raw text) with a "did you mean" for a misspelled option, NO_COLOR, and wrapping text to
 * the terminal's width without ever clipping it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * The exit codes as every command's --help states them: the same first line everywhere, then
 * what each code means for this command (wrapped to 96 columns). `extra` adds a command's own
 * codes (npm start: 130).
 */
export function exitCodesHelp(meaning: { ok?: string; failed: string; usage: string; extra?: [code: number, name: string, detail: string][] }): string {
  const extra = meaning.extra ?? [];
  const rows: [string, string][] = [
    ['0', meaning.ok ? `ok: ${meaning.ok}` : 'ok'],
    ['1', `the operation failed: ${meaning.failed}`],
    ['2', `usage error: ${meaning.usage}`],
    ...extra.map(([code, name, detail]): [string, string] => [String(code), `${name}: ${detail}`]),
  ];
  const width = Math.max(...rows.map(([code]) => code.length));
  const indent = ' '.repeat(2 + width + 2);
  return [
    `Exit codes: 0 ok, 1 the operation failed, 2 usage error${extra.map(([code, name]) => `, ${code} ${name}`).join('')}.`,
    ...rows.flatMap(([code, text]) => wrap(text, 96 - indent.length).map((line, i) => (i === 0 ? `  ${code.padEnd(width)}  ${line}` : `${indent}${line}`))),
  ].join('\n');
}

/**
 * The exit codes of the commands that answer whether something would change (npm run plan,
 * reconcile, drift), as `terraform plan -detailed-exitcode`: 2 means "changes", so a usage error
 * is an error (1), never 2: a script acting on "changes" must not act on a mistyped option.
 */
export const DETAILED_EXIT = { none: 0, error: 1, changes: 2 } as const;

/** The exit codes as plan, reconcile and drift state them: one first line, then what each means here. */
export function detailedExitCodesHelp(meaning: { none: [name: string, detail: string]; changes: [name: string, detail: string]; error: string }): string {
  const rows: [string, string][] = [
    ['0', `${meaning.none[0]}: ${meaning.none[1]}`],
    ['1', `error: a usage error (as in terraform, 1, never 2), ${meaning.error}`],
    ['2', `${meaning.changes[0]}: ${meaning.changes[1]}`],
  ];
  return [
    `Exit codes (as terraform plan -detailed-exitcode): 0 ${meaning.none[0]}, 1 error, 2 ${meaning.changes[0]}.`,
    ...rows.flatMap(([code, text]) => wrap(text, 90).map((line, i) => (i === 0 ? `  ${code}  ${line}` : `     ${line}`))),
  ].join('\n');
}

/** How plan, reconcile and drift report a usage error on stderr (exit DETAILED_EXIT.error). */
export function detailedUsageErrorText(command: string, message: string): string {
  return `${command}: usage error: ${message}\nRun with --help for usage.\n`;
}

/** runCommand for plan, reconcile and drift: every failure, a usage error included, is DETAILED_EXIT.error. */
export function runDetailedCommand(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(error instanceof UsageError ? detailedUsageErrorText(name, message) : `${name}: ${message}\n`);
      process.exitCode = DETAILED_EXIT.error;
    },
  );
}

/** A mistake in how the command was called: exit 2, with the message and a pointer to --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const ROOT = join(__dirname, '..');

/** The project's version, from package.json. */
export function projectVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0];
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j];
      previous[j] = Math.min(previous[j] + 1, previous[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return previous[b.length];
}

/** The candidate closest to `word`, if it is close enough to be what was meant. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * util.parseArgs with strict: true, its errors rewritten as UsageErrors: an unknown option names
 * the closest known one, a missing value says which option wants one.
 */
export function parseCommandLine<T extends Options>(args: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (error) {
    throw rewriteParseError(error, options);
  }
}

function rewriteParseError(error: unknown, options: Options): Error {
  const code = (error as { code?: string }).code;
  const text = error instanceof Error ? error.message : String(error);
  const quoted = /'([^']+)'/.exec(text)?.[1] ?? '';
  // Node quotes e.g. '--fromat', '-y, --yes' or '--format <value>': prefer the long form.
  const tokens = quoted.split(/[\s,]+/).filter((t) => t.startsWith('-'));
  const flag = tokens.find((t) => t.startsWith('--')) ?? tokens[0] ?? quoted;
  const known = Object.entries(options).flatMap(([name, option]) => [`--${name}`, ...(option.short ? [`-${option.short}`] : [])]);
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const guess = closest(flag, known.filter((k) => k.startsWith('--')));
      return new UsageError(`unknown option ${flag}${guess ? ` (did you mean ${guess}?)` : ''}`);
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const name = flag.replace(/^-+/, '');
      const long = Object.entries(options).find(([n, o]) => n === name || o.short === name);
      if (long && long[1].type === 'boolean') return new UsageError(`--${long[0]} takes no value`);
      return new UsageError(`${long ? `--${long[0]}` : flag} needs a value`);
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(`unexpected argument ${quoted || '(positional)'}`);
    default:
      return new UsageError('cannot read the command line');
  }
}

/** Whether to colour output: not when NO_COLOR is set (to anything non-empty) or the stream is no terminal. */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return !process.env.NO_COLOR && stream.isTTY === true;
}

export interface Paint {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

export function paint(enabled: boolean): Paint {
  const sgr = (open: number, close: number) => (text: string) => (enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text);
  return { bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39) };
}

/** The terminal's width: the stream's columns, else $COLUMNS, else 100. */
export function terminalWidth(stream: NodeJS.WriteStream = process.stdout): number {
  const columns = stream.columns ?? Number(process.env.COLUMNS);
  return Number.isInteger(columns) && columns > 0 ? columns : 100;
}

/**
 * `text` as lines of at most `width` characters (code points), broken at spaces where it can and
 * inside a word only when the word alone is longer than the line: nothing is ever cut off.
 */
export function wrap(text: string, width: number): string[] {
  const limit = Math.max(1, width);
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/ +/)) {
      let rest = [...word];
      if (line.length > 0 && [...line].length + 1 + rest.length <= limit) {
        line += ` ${word}`;
        continue;
      }
      if (line.length > 0) lines.push(line);
      line = '';
      while (rest.length > limit) {
        lines.push(rest.slice(0, limit).join(''));
        rest = rest.slice(limit);
      }
      line = rest.join('');
    }
    lines.push(line);
  }
  return lines;
}

/**
 * Run a command's main: its resolved value is the exit code; a UsageError exits 2 with
 * `name: message` and a pointer to --help; any other error exits 1 with its message.
 */
export function runCommand(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`${name}: ${error.message}\nRun with --help for usage.\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      process.stderr.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}

/** Times on the command line (--since, --until, --at). */
const RELATIVE_TIME = /^(\d+)([smhdw])$/;
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
/** A date, or a date-time with Z or an offset: a zone-less date-time would silently mean local time. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** `7d`, `24h`, `30m` (before now) or ISO-8601 (a bare date is midnight UTC). */
export function parseTime(text: string, now: Date, option: string): Date {
  const relative = RELATIVE_TIME.exec(text);
  if (relative) return new Date(now.getTime() - Number(relative[1]) * UNIT_MS[relative[2]!]!);
  const parsed = ISO_TIME.test(text) ? new Date(text) : undefined;
  if (!parsed || Number.isNaN(parsed.getTime())) {
    throw new UsageError(`${option} must be ISO-8601 with a zone (2024-05-01T09:00:00Z, 2024-05-01) or relative (30m, 24h, 7d), got "${text}"`);
  }
  return parsed;
}

