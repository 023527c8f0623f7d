/**
 * npm start interrupted and resumed, through the real command (a child process with its own
 * embedded emulator and dynalite in a temporary state dir): Ctrl-C mid-run exits 130 and removes
 * endpoints.json; a second run on the same state dir meanwhile is refused (exit 2, naming the
 * first); the next run resumes and every event ends at a final outcome, with only the invalid
 * event in the DLQ. Also: --fresh refuses a folder it did not create, and the audit CLI says that
 * no pipeline runs when endpoints.json is stale. Nothing waits on the clock: each step waits for
 * a condition.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDbAuditQuery } from '../../lambdas/adapters/dynamodb-audit-query';
import { localDynamoDbClient, startDynalite } from '../../local/dynalite';
import { LOCAL_NAMES } from '../../local/pipeline/pipeline';
import { LOCK, MARKER } from '../../local/state-dir';

const ROOT = join(__dirname, '../..');
const FINAL = ['APPLIED', 'NOOP', 'SUPERSEDED', 'REJECTED', 'FAILED'];

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** The CLI as `npm start` runs it (node with tsx's loader, so the signal reaches it directly). */
function spawnCli(script: string, args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, run?: Run): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (run && run.child.exitCode !== null) throw new Error(`the run exited (${run.child.exitCode}) before ${what}:\n${run.stdout()}\n${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const lastJson = (text: string) => JSON.parse(text.trim().split('\n').at(-1)!) as Record<string, unknown>;

let workDir: string;
let eventsFile: string;
const eventIds: string[] = [];

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'npm-start-interrupt-'));
  // Two groups, a dozen joiners in both, one invalid event: all through onboarding's queue.
  let t = Date.parse('2026-11-20T09:00:00Z');
  const at = () => new Date((t += 1000)).toISOString();
  const events: Record<string, unknown>[] = [];
  for (const name of ['Everyone', 'Engineering']) events.push({ id: `grp-${name}`, type: 'group.upserted', occurredAt: at(), actor: 'test', data: { group: { DisplayName: name } } });
  for (let i = 1; i <= 12; i++) {
    events.push({
      id: `join-${i}`,
      type: 'user.upserted',
      occurredAt: at(),
      actor: 'test',
      data: { user: { UserName: `user.${i}`, DisplayName: `User ${i}`, Name: { GivenName: 'User', FamilyName: `N${i}` } }, groups: ['Everyone', 'Engineering'] },
    });
  }
  events.push({ id: 'bad-1', type: 'user.exploded', occurredAt: at(), actor: 'test', data: {} });
  eventIds.push(...events.map((e) => String(e.id)));
  eventsFile = join(workDir, 'events.jsonl');
  writeFileSync(eventsFile, events.map((e) => JSON.stringify(e)).join('\n'));
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

it('Ctrl-C stops cleanly (130), a second run is kept off meanwhile (2), the next run resumes with nothing lost', async () => {
  const stateDir = join(workDir, 'state');
  const common = ['--state-dir', stateDir, '--events', eventsFile, '--neighbour-tps', '0', '--tps', '40'];
  const endpointsFile = join(stateDir, 'endpoints.json');

  // Slow Identity Store calls so the interrupt finds work in flight; no grace, so invocations are
  // stopped unfinished: what they leave in progress is what the next run must clear.
  const first = spawnCli('local/cli/start.ts', [...common, '--faults', 'latency=1:200-400'], { IDENTITY_PROVISIONER_INTERRUPT_GRACE_MS: '0' });
  const endpoints = await waitFor('endpoints.json', () => (existsSync(endpointsFile) ? (JSON.parse(readFileSync(endpointsFile, 'utf8')) as { dynamodbEndpoint: string }) : undefined), first);

  // A second run on the same state dir while the first runs: refused, naming the first.
  const second = spawnCli('local/cli/start.ts', common);
  expect(await second.exited).toBe(2);
  expect(second.stderr()).toContain(`is in use by another run (pid ${first.child.pid}, since `);
  expect(second.stderr()).not.toMatch(/\n\s+at /); // no stack trace

  // Interrupt once a few events have their final outcome (read live, through endpoints.json).
  const client = localDynamoDbClient(endpoints.dynamodbEndpoint);
  const query = new DynamoDbAuditQuery({ client, tableName: LOCAL_NAMES.tables.audit });
  const finalCount = async () => {
    let count = 0;
    for (const id of eventIds) {
      const outcomes = (await query.eventHistory(id)).records.flatMap((r) => (r.kind === 'OUTCOME' ? [r.outcome] : []));
      if (outcomes.some((o) => FINAL.includes(o))) count++;
    }
    return count;
  };
  await waitFor('three final outcomes', async () => ((await finalCount()) >= 3 ? true : undefined), first);
  client.destroy();
  first.child.kill('SIGINT');
  expect(await first.exited).toBe(130);
  const interrupted = lastJson(first.stdout());
  expect(interrupted).toMatchObject({ interrupted: 'SIGINT', events: eventIds.length });
  expect(first.stdout()).toContain('Interrupted (SIGINT): stopped cleanly.');
  expect(existsSync(endpointsFile)).toBe(false);
  expect(existsSync(join(stateDir, LOCK))).toBe(false);
  expect(Number(interrupted.finalOutcomes)).toBeLessThan(eventIds.length);

  // The next run resumes: what the first left in progress is cleared, every event ends final,
  // and the DLQ holds only the invalid event.
  const resumed = spawnCli('local/cli/start.ts', [...common, '--quiet']);
  expect(await resumed.exited).toBe(0);
  if (Number(interrupted.unfinishedInvocations) > 0) expect(resumed.stderr()).toContain('cleared what an interrupted run left in progress');
  const summary = lastJson(resumed.stdout());
  expect(summary).toMatchObject({ events: eventIds.length, pending: 0, failed: 0, rejected: 1, dlq: 1 });
  expect(resumed.stdout()).toMatch(/bad-1\s+INVALID_EVENT/);
  expect(resumed.stdout()).not.toContain('MAX_RECEIVES');

  // Every event was applied exactly once over both runs: one CreateUser or CreateGroup (its INTENT is written
  // before the call, whatever happened after). The interrupt may land after an event's outcome
  // record and before the idempotency store marked it done (as a crash or a timeout can on
  // Lambda): the next run handles it again and finds nothing to change, so the only outcome
  // allowed after APPLIED is NOOP. It may also land between the event's writes and its outcome
  // record: then the first final outcome is the next run's NOOP, after the writes on record.
  const store = await startDynalite({ path: join(stateDir, 'dynamodb') });
  const reader = localDynamoDbClient(store.endpoint);
  try {
    const audit = new DynamoDbAuditQuery({ client: reader, tableName: LOCAL_NAMES.tables.audit });
    for (const id of eventIds) {
      const history = (await audit.eventHistory(id)).records;
      const finals = history.flatMap((r) => (r.kind === 'OUTCOME' && FINAL.includes(r.outcome) ? [r.outcome] : []));
      if (id === 'bad-1') {
        // A rejection is not cached as done: the invalid event is rejected again by each run that sends it.
        expect({ id, finals: [...new Set(finals)] }).toEqual({ id, finals: ['REJECTED'] });
        continue;
      }
      const creates = history.filter((r) => r.kind === 'INTENT' && (r.action === 'CreateUser' || r.action === 'CreateGroup'));
      const firstFinal = history.find((r) => r.kind === 'OUTCOME' && FINAL.includes(r.outcome));
      expect({ id, creates: creates.length, first: finals[0], later: finals.slice(1).filter((o) => o !== 'NOOP') }).toEqual({
        id,
        creates: 1,
        first: expect.stringMatching(/^(APPLIED|NOOP)$/),
        later: [],
      });
      if (finals[0] === 'NOOP') expect({ id, createdBeforeItsOutcome: creates[0]!.at < firstFinal!.at }).toEqual({ id, createdBeforeItsOutcome: true });
    }
  } finally {
    reader.destroy();
    await store.stop();
  }
}, 180_000);

it('--fresh refuses a folder it did not create, and deletes nothing in it', async () => {
  const foreign = join(workDir, 'someone-elses');
  mkdirSync(foreign);
  writeFileSync(join(foreign, 'thesis.tex'), 'precious');
  const run = spawnCli('local/cli/start.ts', ['--fresh', '--state-dir', foreign, '--events', eventsFile, '--neighbour-tps', '0']);
  expect(await run.exited).toBe(2);
  expect(run.stderr()).toContain(`--fresh refused: ${foreign} was not created by identity-provisioner (it has no ${MARKER} marker`);
  expect(readFileSync(join(foreign, 'thesis.tex'), 'utf8')).toBe('precious');
  expect(existsSync(join(foreign, LOCK))).toBe(false);
});

describe('npm run audit with a stale endpoints.json', () => {
  const endpoints = { dynamodbEndpoint: 'http://127.0.0.1:9', auditTableName: LOCAL_NAMES.tables.audit };

  it('says no local pipeline is running when the run that wrote it is gone (its lock names a dead pid)', async () => {
    const dir = join(workDir, 'stale-lock');
    mkdirSync(dir);
    writeFileSync(join(dir, MARKER), '');
    writeFileSync(join(dir, 'endpoints.json'), JSON.stringify(endpoints));
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(dir, LOCK), JSON.stringify({ pid: deadPid, startedAt: '2026-12-01T00:00:00.000Z', command: 'npm start' }));
    const run = spawnCli('cli/audit.ts', ['event', 'join-1', '--local-dir', dir]);
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain('No local pipeline is running');
    expect(run.stderr()).toContain(`pid ${deadPid}`);
    expect(run.stderr()).toContain('npm start');
    expect(run.stderr()).not.toMatch(/\n\s+at /);
  });

  it('says the same when the endpoint it names does not answer', async () => {
    const dir = join(workDir, 'stale-port');
    mkdirSync(dir);
    writeFileSync(join(dir, 'endpoints.json'), JSON.stringify(endpoints));
    const run = spawnCli('cli/audit.ts', ['event', 'join-1', '--local-dir', dir]);
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain('No local pipeline is running');
    expect(run.stderr()).toContain('does not answer');
    expect(run.stderr()).not.toMatch(/\n\s+at /);
  });
});
