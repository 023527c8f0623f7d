/** cli/conventions.ts: wrapping that never clips, "did you mean", parse errors rewritten, NO_COLOR. */
import { closest, EXIT, exitCodesHelp, paint, parseCommandLine, projectVersion, UsageError, useColor, wrap } from '../../cli/conventions';

describe('wrap', () => {
  it('breaks at spaces within the width and keeps every word', () => {
    const text = 'data.user.UserName must not begin or end with whitespace (the API trims it)';
    const lines = wrap(text, 20);
    expect(lines.every((line) => line.length <= 20)).toBe(true);
    expect(lines.join(' ')).toBe(text);
  });

  it('cuts a word longer than the line into pieces instead of clipping it', () => {
    const word = 'x'.repeat(25);
    expect(wrap(word, 10)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
  });

  it('counts code points, keeps newlines, and survives a width below 1', () => {
    expect(wrap('ab😀cd', 3)).toEqual(['ab😀', 'cd']);
    expect(wrap('one\ntwo', 80)).toEqual(['one', 'two']);
    expect(wrap('abc', 0)).toEqual(['a', 'b', 'c']);
  });
});

describe('closest', () => {
  it('suggests a near candidate and nothing for a far one', () => {
    expect(closest('--fromat', ['--format', '--yes'])).toBe('--format');
    expect(closest('lsit', ['list', 'show', 'redrive'])).toBe('list');
    expect(closest('--bogus-thing', ['--format', '--yes'])).toBeUndefined();
  });
});

describe('parseCommandLine', () => {
  const options = { format: { type: 'string' }, yes: { type: 'boolean', short: 'y' } } as const;
  const messageOf = (args: string[]): string => {
    try {
      parseCommandLine(args, options);
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      return (error as Error).message;
    }
    throw new Error('no error');
  };

  it("rewrites Node's errors, never leaking their text", () => {
    expect(messageOf(['--fromat', 'json'])).toBe('unknown option --fromat (did you mean --format?)');
    expect(messageOf(['--format'])).toBe('--format needs a value');
    expect(messageOf(['--yes=1'])).toBe('--yes takes no value');
    expect(messageOf(['-z'])).toBe('unknown option -z');
  });

  it('parses what is right', () => {
    expect(parseCommandLine(['list', '--format', 'csv', '-y'], options)).toMatchObject({ values: { format: 'csv', yes: true }, positionals: ['list'] });
  });
});

describe('conventions', () => {
  it('states the exit codes in the same first line for every command, then what each means here, wrapped', () => {
    const help = exitCodesHelp({
      failed: 'some event failed, was not sent, or has no final outcome, and this detail is long enough to wrap onto a second line',
      usage: 'a bad option',
      extra: [[130, 'stopped by Ctrl-C', 'run it again to resume']],
    });
    const lines = help.split('\n');
    expect(lines[0]).toBe('Exit codes: 0 ok, 1 the operation failed, 2 usage error, 130 stopped by Ctrl-C.');
    expect(lines[1]).toBe('  0    ok');
    expect(lines[2]).toMatch(/^  1    the operation failed: some event failed/);
    expect(lines.every((line) => line.length <= 96)).toBe(true);
    expect(help).toContain('  130  stopped by Ctrl-C: run it again to resume');
    expect(exitCodesHelp({ failed: 'x', usage: 'y' }).split('\n')[0]).toBe('Exit codes: 0 ok, 1 the operation failed, 2 usage error.');
  });

  it('reads the version from package.json and names the exit codes', () => {
    expect(projectVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(EXIT).toEqual({ ok: 0, failed: 1, usage: 2 });
  });

  it('respects NO_COLOR', () => {
    const tty = { isTTY: true } as NodeJS.WriteStream;
    const saved = process.env.NO_COLOR;
    try {
      process.env.NO_COLOR = '1';
      expect(useColor(tty)).toBe(false);
      delete process.env.NO_COLOR;
      expect(useColor(tty)).toBe(true);
      expect(useColor({ isTTY: false } as NodeJS.WriteStream)).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    }
    expect(paint(false).red('x')).toBe('x');
    expect(paint(true).red('x')).toBe('\u001b[31mx\u001b[39m');
  });
});
