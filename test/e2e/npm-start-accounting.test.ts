/**
 * `npm start` accounts for every event of its file by id, and its exit code says whether each
 * reached a final outcome: run as a user runs it, as a child process without a terminal, on small
 * files in a temporary directory (embedded emulator and dynalite, 127.0.0.1 only).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');
const FUNCTION_ROLE = 'arn:aws:iam::000000000000:role/identity-provisioner-consumer-role';

let workDir: string;
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'npm-start-accounting-'));
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  summary: Record<string, unknown> & { ids: Record<string, unknown> };
}

function start(name: string, lines: unknown[], args: string[] = []): Promise<Run> {
  const eventsFile = join(workDir, `${name}.jsonl`);
  writeFileSync(eventsFile, lines.map((line) => JSON.stringify(line)).join('\n'));
  return new Promise((resolve) => {
    execFile(
      'npx',
      ['tsx', 'local/cli/start.ts', '--events', eventsFile, '--state-dir', join(workDir, name), '--neighbour-tps', '0', '--timeout', '60', ...args],
      { cwd: ROOT, timeout: 100_000 },
      (error, stdout, stderr) => {
        const last = stdout.trim().split('\n').at(-1) ?? '';
        let summary = { ids: {} } as Run['summary'];
        try {
          summary = JSON.parse(last) as Run['summary'];
        } catch {
          // No summary (a usage error): the test looks at stderr.
        }
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr, summary });
      },
    );
  });
}

const group = (id: string, name: string, occurredAt = '2026-11-02T09:01:00.000Z') => ({
  id,
  type: 'group.upserted',
  occurredAt,
  actor: 'hr-system',
  data: { group: { DisplayName: name, Description: name } },
});

it('counts a real duplicate by id, reports an envelope the rule does not accept with the reason, and exits 1', async () => {
  const run = await start('mixed', [
    { producer: 'hr', event: group('acc-0001', 'Everyone') },
    // The same event again: answered from the idempotency store.
    { producer: 'hr', event: group('acc-0001', 'Everyone') },
    // Allowed onto the bus by its policy (the function's role may use the outcome source), but not
    // a source the rule accepts: EventBridge drops it.
    {
      producer: 'hr',
      principal: FUNCTION_ROLE,
      event: { source: 'identity-provisioner', 'detail-type': 'group.upserted', detail: group('acc-0002', 'Data') },
    },
    { producer: 'onboarding', event: group('acc-0003', 'Engineering') },
  ]);
  expect(run.code).toBe(1);
  expect(run.summary).toMatchObject({ events: 4, applied: 2, duplicates: 1, notMatched: 1, pending: 0, failed: 0, rejected: 0, refusedByPolicy: 0 });
  expect(run.summary.ids.duplicates).toEqual(['acc-0001']);
  expect(run.summary.ids.notMatched).toEqual([{ id: 'acc-0002', reason: expect.stringContaining('source "identity-provisioner" not accepted') }]);
  expect(run.stdout).toContain('Not matched by the bus rule');
  // No terminal: the progress line's final state is printed once, and every progress line fits 80 columns.
  const progressLines = run.stderr.split('\n').filter((line) => / events {2}\d+ throttled/.test(line));
  expect(progressLines.length).toBeGreaterThan(0);
  for (const line of progressLines) expect(line.length).toBeLessThanOrEqual(80);
  expect(progressLines.filter((line) => line.includes(' 4/4 events'))).toHaveLength(1);
}, 120_000);

it('exits 0 with a rejection, and 1 with --fail-on-reject; the rejected id is named', async () => {
  const lines = [
    { producer: 'onboarding', event: group('rej-0001', 'Finance') },
    { producer: 'onboarding', event: group('rej-0002', 'Administrator') },
  ];
  const lenient = await start('reject', lines, ['--quiet']);
  expect(lenient.code).toBe(0);
  expect(lenient.summary).toMatchObject({ events: 2, applied: 1, rejected: 1, pending: 0 });
  expect(lenient.summary.ids.rejected).toEqual(['rej-0002']);
  // Same state: rej-0001 comes back as a duplicate, rej-0002 is rejected again (never cached).
  const strict = await start('reject', lines, ['--quiet', '--fail-on-reject']);
  expect(strict.code).toBe(1);
  expect(strict.summary).toMatchObject({ events: 2, duplicates: 1, rejected: 1 });
  expect(strict.summary.ids.duplicates).toEqual(['rej-0001']);
}, 120_000);

it('refuses an unreachable endpoint given by option before sending anything: exit 2, naming the option', async () => {
  const run = await start('unreachable', [{ producer: 'hr', event: group('unr-0001', 'Everyone') }], ['--identitystore-endpoint', 'http://127.0.0.1:9']);
  expect(run.code).toBe(2);
  expect(run.stderr).toContain('--identitystore-endpoint http://127.0.0.1:9 is not reachable');
  expect(run.stdout).toBe('');
}, 60_000);
