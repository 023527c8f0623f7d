/**
 * npm run drift's command line: its exit codes (0 no drift, 1 error, 2 drift found: a usage error
 * is 1 and says so, never 2), help, version, did-you-mean; and how it reports a delivery and
 * prints findings. The run itself is in test/e2e/drift.test.ts.
 */
import { DETAILED_EXIT } from '../../cli/conventions';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseDriftArgs, renderDrift, repairOutcome } from '../../cli/drift';
import type { DeliveryReport } from '../../cli/deliver';
import { countByKind, type DriftReport, type SeenFinding } from '../../lambdas/domain/drift';
import type { IdentityChange } from '../../lambdas/domain/identity-change';
import { UsageError } from '../../cli/conventions';

const run = promisify(execFile);
const ROOT = join(__dirname, '../..');

async function drift(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'cli/drift.ts', ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('npm run drift: the command line', () => {
  it('prints help with its own exit codes, and the version', async () => {
    const help = await drift(['-h']);
    expect(help.code).toBe(DETAILED_EXIT.none);
    expect(help.stdout).toContain('Exit codes (as terraform plan -detailed-exitcode');
    expect(help.stdout).toMatch(/2 {2}drift found/);
    const version = await drift(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
  });

  it('a misspelled option is a usage error: exit 1 (never 2, which means drift), said so on stderr, with what was meant', async () => {
    const result = await drift(['--repiar']);
    expect(result).toEqual({ code: DETAILED_EXIT.error, stdout: '', stderr: 'drift: usage error: unknown option --repiar (did you mean --repair?)\nRun with --help for usage.\n' });
  });

  it('no local pipeline and no store is a usage error, exit 1', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'drift-cli-'));
    try {
      const result = await drift(['--local-dir', empty]);
      expect(result.code).toBe(DETAILED_EXIT.error);
      expect(result.stderr).toMatch(/^drift: usage error: No local pipeline is running/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('parses the target options as the other live commands do', () => {
    expect(parseDriftArgs(['--stack', 'Prod', '--region', 'eu-west-1'], {})).toMatchObject({
      repair: false,
      format: 'table',
      choice: { kind: 'stack', stackName: 'Prod', region: 'eu-west-1' },
    });
    expect(parseDriftArgs(['--repair', '--local-dir', 'x'], {})).toMatchObject({ repair: true, choice: { kind: 'local' } });
    // In a deployed stack the drift function repairs (driftAction: repair), never the operator.
    expect(() => parseDriftArgs(['--repair', '--stack', 'Prod'], {})).toThrow(/--repair does not go with --stack.*driftAction: repair/);
    expect(() => parseDriftArgs(['--format', 'csv'], {})).toThrow(UsageError);
    expect(() => parseDriftArgs(['--stack', 'Prod', '--local-dir', 'x'], {})).toThrow(/does not go with --stack/);
  });
});

const event = (id: string): IdentityChange => ({ id, type: 'membership.added', occurredAt: '2026-11-22T10:00:00.000Z', actor: 'drift-detector', data: { userName: 'ada', groupDisplayName: 'Engineering' } });
const delivery = (overrides: Partial<DeliveryReport>): DeliveryReport => ({ delivered: true, via: 'npm-start', description: 'npm start', sent: 2, refused: [], failed: [], ...overrides });

describe('repairOutcome', () => {
  it('names each event not delivered by id, and counts the rest as sent', () => {
    const events = [event('drift-a'), event('drift-b'), event('drift-c')];
    expect(repairOutcome(events, delivery({ delivered: false, refused: [{ index: 1, code: 'AccessDenied', reason: 'no' }] }))).toEqual({
      sent: 2,
      failed: [{ id: 'drift-b', reason: 'AccessDenied: no' }],
    });
    expect(repairOutcome(events, delivery({ delivered: true }))).toEqual({ sent: 3, failed: [] });
  });

  it('a run that delivered nothing it could name fails every event, with npm start\'s exit code', () => {
    expect(repairOutcome([event('drift-a')], delivery({ delivered: false, exitCode: 2, sent: 0 }))).toEqual({ sent: 0, failed: [{ id: 'drift-a', reason: 'npm start exited 2' }] });
  });
});

describe('renderDrift', () => {
  const finding: SeenFinding = {
    key: 'attribute:u1:title',
    kind: 'attribute-differs',
    userId: 'u1',
    userName: 'ada',
    path: 'title',
    expected: 'Engineer',
    actual: 'Chief',
    departsFrom: { eventId: 'hr-7', occurredAt: '2026-11-22T09:00:00.000Z' },
    firstSeen: '2026-11-22T10:00:00.000Z',
  };
  const report = (findings: SeenFinding[], appliedFacts = 4): DriftReport => ({
    at: '2026-11-22T10:00:00.000Z',
    identityStoreId: 'd-1234567890',
    action: 'report',
    appliedFacts,
    groupsChecked: 1,
    usersChecked: 1,
    findings,
    counts: countByKind(findings),
    newFindings: findings.length,
    published: undefined,
  });
  const context = { description: 'the store', header: [], calls: 3 };

  it('a row per finding: kind, subject, first seen, the applied event, and what differs, wrapped and never cut', () => {
    const text = renderDrift(report([finding]), context, 90);
    expect(text).toContain('attribute differs  ada      2026-11-22T10:00:00Z  hr-7');
    expect(text.replace(/\s+/g, ' ')).toContain('title: "Engineer" applied, "Chief" found');
    expect(text.split('\n').every((line) => line.length <= 90)).toBe(true);
    expect(text).toContain('Run with --repair');
    // Too narrow for columns: blocks, every line within the width, nothing cut.
    const narrow = renderDrift(report([finding]), context, 40);
    expect(narrow).toContain('attribute differs: ada');
    expect(narrow.split('\n').every((line) => line.length <= 40)).toBe(true);
    expect(narrow.replace(/\s+/g, ' ')).toContain('title: "Engineer" applied, "Chief" found');
  });

  it('says when there is nothing to compare with, and when there is no drift', () => {
    expect(renderDrift(report([], 0), context, 100)).toContain('No applied facts');
    expect(renderDrift(report([]), context, 100)).toContain('No drift');
  });
});
