/**
 * `npm start -- --settings FILE` as a user runs it: the deployment's settings in effect locally
 * (a custom producer in another account, a managed scope), and a bad setting or a file naming an
 * undeclared producer refused before anything starts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '../..');

let workDir: string;
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'npm-start-settings-'));
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const TEAM_SETTINGS = {
  managedGroupScope: 'prefix:app-',
  deletionCap: 3,
  producers: { 'team-feed': { via: 'queue', principals: ['arn:aws:iam::444455556666:role/team-feed'], eventTypes: '*', groups: ['*'] } },
};

function start(args: string[]) {
  return run('npx', ['tsx', 'local/cli/start.ts', '--quiet', '--neighbour-tps', '0', ...args], { cwd: ROOT, timeout: 150_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

it('runs with the settings of --settings: its producer sends, and a group outside its managed scope is REJECTED GROUP_NOT_MANAGED', async () => {
  const settingsFile = join(workDir, 'team.json');
  writeFileSync(settingsFile, JSON.stringify(TEAM_SETTINGS));
  const eventsFile = join(workDir, 'events.jsonl');
  const group = (id: string, name: string) => ({ id, type: 'group.upserted', occurredAt: '2026-11-22T09:00:00Z', actor: 'team@example.com', data: { group: { DisplayName: name } } });
  // No producer named: sent as the only declared one, team-feed (another account), through its queue.
  writeFileSync(eventsFile, [group('set-1', 'app-wiki'), group('set-2', 'Engineering')].map((e) => JSON.stringify(e)).join('\n'));

  const result = await start(['--events', eventsFile, '--settings', settingsFile, '--state-dir', join(workDir, 'state')]);

  expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ code: 0, stderr: '' });
  const lines = result.stdout.trim().split('\n');
  expect(lines[0]).toBe('settings: --settings team.json (managedGroupScope, deletionCap, producers); the rest local defaults');
  const summary = JSON.parse(lines.at(-1)!);
  expect(summary).toMatchObject({ events: 2, applied: 1, rejected: 1, refusedByPolicy: 0, notSent: 0, pending: 0, failed: 0 });
  expect(summary.ids.rejected).toEqual(['set-2']);
  // With the default scope ("created") it would have been created; here it is outside prefix:app-.
  expect(result.stdout).toMatch(/set-2\s+GROUP_NOT_MANAGED/);
}, 180_000);

it('refuses an unknown setting before anything starts, with the did-you-mean cdk synth gives (exit 2)', async () => {
  const settingsFile = join(workDir, 'typo.json');
  writeFileSync(settingsFile, JSON.stringify({ deletionCapp: 3 }));
  const result = await start(['--settings', settingsFile, '--state-dir', join(workDir, 'typo-state')]);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('Invalid identity-provisioner configuration:\n  - deletionCapp: unknown setting, did you mean deletionCap?');
  expect(result.stdout).toBe('');
}, 60_000);

it('refuses the bundled scenario when its producers are not declared, naming them and the declared ones (exit 2)', async () => {
  const settingsFile = join(workDir, 'team-only.json');
  writeFileSync(settingsFile, JSON.stringify(TEAM_SETTINGS));
  const result = await start(['--settings', settingsFile, '--state-dir', join(workDir, 'scenario-state')]);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('cannot be sent with these settings (declared producers: team-feed); nothing was sent');
  expect(result.stderr).toContain('producer "hr" is not declared (declared: team-feed)');
  expect(result.stdout).toBe('');
}, 60_000);
