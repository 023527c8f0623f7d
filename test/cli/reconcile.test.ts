/**
 * `npm run reconcile` as a user runs it, for what needs no store: help, version, the conventions'
 * did-you-mean, usage errors (exit 1, as npm run plan and terraform: 2 means changes planned), a
 * roster refused by file:line before anything is read, an empty roster with --offboard-missing,
 * and no local store to read. Against a store: test/e2e/reconcile.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

function reconcile(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(TSX, [join(ROOT, 'cli/reconcile.ts'), ...args], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reconcile-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

it('prints its usage, with the roster fields, the safety rules and the exit codes, and its version', async () => {
  const help = await reconcile(['--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('Usage: npm run reconcile -- --roster FILE [options]');
  expect(help.stdout).toContain('--offboard-missing');
  expect(help.stdout).toContain('externalId (ISSUER/ID, split at the first /)');
  expect(help.stdout).toContain('never from an empty roster');
  expect(help.stdout).toContain('2  changes planned: without --apply');
  const version = await reconcile(['--version']);
  expect(version).toMatchObject({ code: 0, stdout: `${require('../../package.json').version}\n` });
});

it('answers a misspelled option with what was meant, and other usage errors, with exit 1', async () => {
  const misspelled = await reconcile(['--rooster', 'x.csv']);
  expect(misspelled).toMatchObject({ code: 1, stdout: '' });
  expect(misspelled.stderr).toBe('reconcile: usage error: unknown option --rooster (did you mean --roster?)\nRun with --help for usage.\n');
  expect((await reconcile([])).stderr).toContain('reconcile: usage error: --roster FILE is required');
  const format = await reconcile(['--roster', 'x.csv', '--format', 'jsn']);
  expect(format).toMatchObject({ code: 1 });
  expect(format.stderr).toContain('--format must be one of table, json, got "jsn" (did you mean json?)');
  expect((await reconcile(['--roster', 'x.csv', '--stack', 'S', '--local-dir', dir])).stderr).toContain('--local-dir does not go with --stack');
});

it('refuses a roster that breaks a rule, every problem by file:line, before reading any store (exit 1)', async () => {
  const roster = file('bad.csv', 'userName,displayName,givenName,familyName,departmnet,groups\nada,Ada,Ada,L,R&D,Eng\n');
  const result = await reconcile(['--roster', roster, '--local-dir', join(dir, 'no-store')]);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('reconcile: the roster is refused, nothing was sent:');
  expect(result.stderr).toContain(`${roster}:1: column 5 "departmnet": is not a roster field (did you mean department?)`);
  const twice = file('twice.jsonl', [1, 2].map(() => JSON.stringify({ userName: 'ada', displayName: 'A', givenName: 'A', familyName: 'L', groups: [] })).join('\n'));
  expect((await reconcile(['--roster', twice, '--local-dir', join(dir, 'no-store')])).stderr).toContain(`${twice}:2: userName "ada" is already line 1`);
});

it('refuses an empty roster with --offboard-missing: it would offboard everyone', async () => {
  const empty = file('empty.csv', 'userName,displayName,givenName,familyName,groups\r\n');
  const result = await reconcile(['--roster', empty, '--offboard-missing', '--local-dir', join(dir, 'no-store')]);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('the roster names no one: with --offboard-missing that would offboard everyone in the scope. Refused');
});

it('says there is no local store to read, and how to point it at one (exit 1)', async () => {
  const roster = file('one.csv', 'userName,displayName,givenName,familyName,groups\nada,Ada,Ada,L,Eng\n');
  const result = await reconcile(['--roster', roster, '--local-dir', join(dir, 'no-store')]);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('No local pipeline is running');
  expect(result.stdout).toBe('');
});
