/**
 * The events-file reader of npm start --events and npm run send: the formats it accepts, decided
 * from the content, and the file:line:column refusals of anything else; then npm start itself,
 * refusing a CSV given by a path relative to the directory npm was run in.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cleanMessage, errorOffset, firstInvalidOffset, locate, parseEventFileText, readEventFile } from '../../local/cli/event-file';
import { EventsFileError } from '../../local/producer';

const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

const v1 = (id: string) => ({ id, type: 'group.upserted', occurredAt: '2026-11-02T09:00:00Z', actor: 'reader-test', data: { group: { DisplayName: `G ${id}` } } });
const envelope = (id: string) => ({ source: 'identity-provisioner.hr', 'detail-type': 'group.upserted', detail: v1(id) });

/** The refusal's message, or a failure if the text was accepted. */
function refusalOf(text: string, file = 'f.jsonl'): string {
  try {
    parseEventFileText(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(EventsFileError);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

let dir: string;
const savedInitCwd = process.env.INIT_CWD;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'event-file-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  if (savedInitCwd === undefined) delete process.env.INIT_CWD;
  else process.env.INIT_CWD = savedInitCwd;
});

describe('the formats', () => {
  it('reads a JSON array of bare v1 events and EventBridge envelopes', () => {
    const text = JSON.stringify([v1('a-1'), envelope('a-2'), { producer: 'hr', event: v1('a-3') }], null, 2);
    expect(parseEventFileText(text, 'f.json')).toEqual({ format: 'array', entries: [v1('a-1'), envelope('a-2'), { producer: 'hr', event: v1('a-3') }] });
  });

  it('reads JSON Lines, skipping blank lines, with LF or CRLF', () => {
    const lines = [JSON.stringify(v1('l-1')), '', '   ', JSON.stringify(envelope('l-2'))];
    for (const eol of ['\n', '\r\n']) {
      expect(parseEventFileText(`${lines.join(eol)}${eol}`, 'f.jsonl')).toEqual({ format: 'lines', entries: [v1('l-1'), envelope('l-2')] });
    }
  });

  it('reads a single pretty-printed object as one event, and a one-line object too', () => {
    expect(parseEventFileText(`${JSON.stringify(v1('o-1'), null, 2)}\n`, 'f.json')).toEqual({ format: 'object', entries: [v1('o-1')] });
    expect(parseEventFileText(JSON.stringify(envelope('o-2'), null, '\t'), 'f.json').entries).toEqual([envelope('o-2')]);
    expect(parseEventFileText(JSON.stringify(v1('o-3')), 'f.json').entries).toEqual([v1('o-3')]);
  });

  it('takes a JSON string as a raw body (its value), in lines and in an array', () => {
    expect(parseEventFileText(`${JSON.stringify(v1('r-1'))}\n"not json {"\n`, 'f.jsonl').entries).toEqual([v1('r-1'), 'not json {']);
    expect(parseEventFileText('["{\\"id\\":"]', 'f.json').entries).toEqual(['{"id":']);
  });

  it('reads a 5,000-event file', () => {
    const file = join(dir, 'many.jsonl');
    writeFileSync(file, `${Array.from({ length: 5000 }, (_, i) => JSON.stringify(v1(`m-${i}`))).join('\n')}\n`);
    const read = readEventFile(file);
    expect(read.format).toBe('lines');
    expect(read.entries).toHaveLength(5000);
    expect(read.entries[4999]).toEqual(v1('m-4999'));

    const array = join(dir, 'many.json');
    writeFileSync(array, JSON.stringify(Array.from({ length: 5000 }, (_, i) => envelope(`n-${i}`))));
    expect(readEventFile(array).entries).toHaveLength(5000);
  });

  it('drops a byte order mark, and counts columns after it', () => {
    const file = join(dir, 'bom.jsonl');
    writeFileSync(file, `\uFEFF${JSON.stringify(v1('b-1'))}\n${JSON.stringify(v1('b-2'))}\n`);
    expect(readEventFile(file).entries).toEqual([v1('b-1'), v1('b-2')]);

    const pretty = join(dir, 'bom.json');
    writeFileSync(pretty, `\uFEFF${JSON.stringify(v1('b-3'), null, 2)}`);
    expect(readEventFile(pretty)).toMatchObject({ format: 'object', entries: [v1('b-3')] });

    const broken = join(dir, 'bom-broken.jsonl');
    writeFileSync(broken, '\uFEFFid,type\n');
    expect(() => readEventFile(broken)).toThrow(`${broken}:1:1: Unexpected token 'i'`);
  });
});

describe('refusals, as file:line:column (1-based)', () => {
  it('refuses a CSV at 1:1, and says what it expected and that nothing was sent', () => {
    const message = refusalOf('id,type,occurredAt\nu-1,user.upserted,2026-11-02T09:00:00Z\n', 'people.csv');
    expect(message.split('\n')[0]).toBe("people.csv:1:1: Unexpected token 'i'");
    expect(message).toContain('people.csv: expected a JSON array of events, JSON Lines (one JSON event per line) or a single JSON object. Nothing was sent.');
  });

  it('reports a bad line by its number and column, and every bad line, not only the first', () => {
    const good = JSON.stringify(v1('g-1'));
    const message = refusalOf([good, '', good, '{"id": "x", "type": tru}', good, 'not json', `${good},`].join('\n'));
    expect(message.split('\n').slice(0, 3)).toEqual([
      "f.jsonl:4:24: Unexpected token '}'",
      "f.jsonl:6:2: Unexpected token 'o'",
      `f.jsonl:7:${good.length + 1}: Unexpected non-whitespace character after JSON`,
    ]);
  });

  it('lists ten bad lines and counts the rest', () => {
    const message = refusalOf(Array.from({ length: 25 }, (_, i) => (i % 2 === 0 ? JSON.stringify(v1(`c-${i}`)) : 'x')).join('\n'));
    const lines = message.split('\n');
    expect(lines.filter((line) => /^f\.jsonl:\d+:1: /.test(line))).toHaveLength(10);
    expect(lines[0]).toMatch(/^f\.jsonl:2:1: /);
    expect(message).toContain('f.jsonl: ... and 2 more bad lines (12 in all)');
  });

  it('refuses a line that is JSON but not an event', () => {
    expect(refusalOf(`${JSON.stringify(v1('n-1'))}\n  42\nnull\n`).split('\n').slice(0, 2)).toEqual([
      'f.jsonl:2:3: is a number, not an event: expected a JSON object (or a JSON string, sent as a raw body)',
      'f.jsonl:3:1: is null, not an event: expected a JSON object (or a JSON string, sent as a raw body)',
    ]);
  });

  it('refuses a truncated pretty-printed object at its end, as one error', () => {
    const text = JSON.stringify(v1('t-1'), null, 2).split('\n').slice(0, 4).join('\n'); // ends inside the object
    const message = refusalOf(`${text}\n`, 'one.json');
    const lastLine = text.split('\n')[3];
    expect(message.split('\n')[0]).toBe(`one.json:4:${lastLine.length + 1}: Expected double-quoted property name (the file ends here: is it truncated?)`);
    expect(message.split('\n')).toHaveLength(2);
  });

  it('refuses a pretty-printed object with a missing comma where the comma is missing', () => {
    expect(refusalOf('{\n  "id": "x"\n  "type": "group.upserted"\n}\n', 'one.json').split('\n')[0]).toBe(
      "one.json:3:3: Expected ',' or '}' after property value",
    );
  });

  it('refuses pretty-printed objects one after another, pointing at the second', () => {
    const text = `${JSON.stringify(v1('p-1'), null, 2)}\n${JSON.stringify(v1('p-2'), null, 2)}\n`;
    const secondAt = JSON.stringify(v1('p-1'), null, 2).split('\n').length + 1;
    expect(refusalOf(text, 'two.json').split('\n')[0]).toBe(
      `two.json:${secondAt}:1: Unexpected non-whitespace character after JSON (several values? put them in one JSON array, or one per line)`,
    );
  });

  it('refuses a broken array where it breaks, and an element that is not an event where it is', () => {
    expect(refusalOf('[\n  {"id": "a"},\n  {"id": "b"\n]\n', 'a.json').split('\n')[0]).toBe("a.json:4:1: Expected ',' or '}' after property value");
    expect(refusalOf('[\n  {"id": "a"},\n  7,\n  {"x": [1, 2]}, [3]\n]', 'a.json').split('\n').slice(0, 2)).toEqual([
      'a.json:3:3: element 2 is a number, not an event: expected a JSON object (or a JSON string, sent as a raw body)',
      'a.json:4:18: element 4 is an array, not an event: expected a JSON object (or a JSON string, sent as a raw body)',
    ]);
    expect(refusalOf(' [ ]', 'a.json').split('\n')[0]).toBe('a.json:1:2: an empty array: no events');
  });

  it('refuses an empty file, or one of blank lines only', () => {
    expect(refusalOf('', 'e.jsonl').split('\n')[0]).toBe('e.jsonl:1:1: the file is empty: no events');
    expect(refusalOf('\n  \n\t\n', 'e.jsonl').split('\n')[0]).toBe('e.jsonl:1:1: the file is empty: no events');
    const file = join(dir, 'empty-with-bom.jsonl');
    writeFileSync(file, '\uFEFF\n');
    expect(() => readEventFile(file)).toThrow(`${file}:1:1: the file is empty: no events`);
  });

  it('refuses a file that is not UTF-8', () => {
    const file = join(dir, 'latin1.jsonl');
    writeFileSync(file, Buffer.concat([Buffer.from('{"id": "caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]));
    expect(() => readEventFile(file)).toThrow(`${file}:1:12: not UTF-8 text`);
  });
});

describe('positions from JSON.parse errors', () => {
  it('turns an offset into a 1-based line and column', () => {
    expect(locate('ab\ncd\n', 0)).toEqual({ line: 1, column: 1 });
    expect(locate('ab\ncd\n', 4)).toEqual({ line: 2, column: 2 });
    expect(locate('ab\ncd\n', 6)).toEqual({ line: 3, column: 1 });
  });

  it('uses "at position N", the end for an unexpected end, else its own scan', () => {
    expect(errorOffset('{"a":1,', new SyntaxError('Expected double-quoted property name in JSON at position 7'))).toBe(7);
    // Newer V8 adds "(line L column C)": the position still wins.
    expect(errorOffset('x', new SyntaxError('Unexpected token in JSON at position 12 (line 2 column 3)'))).toBe(12);
    expect(errorOffset('{"a":  \n', new SyntaxError('Unexpected end of JSON input'))).toBe(5);
    expect(errorOffset('{"a": nul}', new SyntaxError('Unexpected token \'}\', "{"a": nul}" is not valid JSON'))).toBe(9);
    expect(errorOffset('{"a": 1}', new SyntaxError('something else entirely'))).toBe(0);
  });

  it('finds the first character that cannot continue JSON', () => {
    expect(firstInvalidOffset('{"a": [1, 2.5e3, true, null, "x\\u00e9"]}')).toBeUndefined();
    expect(firstInvalidOffset('id,type')).toBe(0);
    expect(firstInvalidOffset('nope')).toBe(1);
    expect(firstInvalidOffset('{"a": 01}')).toBe(7);
    expect(firstInvalidOffset('{"a": "\\q"}')).toBe(8);
    expect(firstInvalidOffset('[1,]')).toBe(3);
    expect(firstInvalidOffset('{"a": 1')).toBe(7);
  });

  it('keeps the message, without the position and the echo of the input', () => {
    expect(cleanMessage('Unexpected token \'i\', "id,type,oc"... is not valid JSON')).toBe("Unexpected token 'i'");
    expect(cleanMessage('Unexpected token \'i\', "id" is not valid JSON')).toBe("Unexpected token 'i'");
    expect(cleanMessage("Expected ',' or '}' after property value in JSON at position 13 (line 3 column 3)")).toBe("Expected ',' or '}' after property value");
    expect(cleanMessage('Unexpected non-whitespace character after JSON at position 7')).toBe('Unexpected non-whitespace character after JSON');
    expect(cleanMessage('Unexpected end of JSON input')).toBe('Unexpected end of JSON input');
  });
});

describe('paths', () => {
  it('resolves a relative path against INIT_CWD (where npm was run), and names a missing file as resolved', () => {
    const userDir = mkdtempSync(join(dir, 'user-'));
    writeFileSync(join(userDir, 'mine.jsonl'), `${JSON.stringify(v1('i-1'))}\n`);
    process.env.INIT_CWD = userDir;
    expect(readEventFile('mine.jsonl')).toEqual({ path: join(userDir, 'mine.jsonl'), format: 'object', entries: [v1('i-1')] });
    expect(() => readEventFile('missing.jsonl')).toThrow(`cannot read events file ${join(userDir, 'missing.jsonl')}: no such file (missing.jsonl from ${userDir})`);
    expect(() => readEventFile('.')).toThrow(`cannot read events file ${userDir}: is a directory, not a file`);
  });

  it('falls back to the process directory without INIT_CWD', () => {
    delete process.env.INIT_CWD;
    expect(() => readEventFile('no-such-events-file.jsonl')).toThrow(`cannot read events file ${join(process.cwd(), 'no-such-events-file.jsonl')}: no such file`);
  });
});

describe('npm start -- --events FILE', () => {
  /** start.ts as npm runs it: from the package root, with the user's directory in INIT_CWD. */
  function runStart(args: string[], initCwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, INIT_CWD: initCwd };
    return new Promise((done) => {
      execFile(TSX, [join(ROOT, 'local/cli/start.ts'), ...args], { cwd: ROOT, env, timeout: 30_000 }, (error, stdout, stderr) => {
        done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
  }

  it('refuses a CSV given relative to the user\'s directory: exit 2, file:line:column, no stack, nothing started', async () => {
    const userDir = mkdtempSync(join(dir, 'start-user-'));
    writeFileSync(join(userDir, 'people.csv'), 'userName,displayName\nada,Ada Lovelace\n');
    const stateDir = join(userDir, 'state');

    const result = await runStart(['--events', 'people.csv', '--state-dir', stateDir, '--quiet'], userDir);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(userDir, 'people.csv')}:1:1: Unexpected token 'u'`);
    expect(result.stderr).toContain(`${join(userDir, 'people.csv')}:2:1: Unexpected token 'a'`);
    expect(result.stderr).toContain('Nothing was sent.');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });

  it('names a missing file as resolved from the user\'s directory (exit 2)', async () => {
    const userDir = mkdtempSync(join(dir, 'start-user-'));
    const result = await runStart(['--events', 'nope.jsonl', '--quiet'], userDir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`cannot read events file ${join(userDir, 'nope.jsonl')}: no such file`);
  });
});
