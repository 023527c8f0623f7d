/**
 * The state directory's marker and lock (local/state-dir.ts), and what an interrupted run left in
 * progress being cleared without touching anything else (local/pipeline/leftovers.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { clearLeftovers, findLeftovers, settleLeftovers } from '../../local/pipeline/leftovers';
import { claimStateDir, LOCK, MARKER, StateDirError } from '../../local/state-dir';
import { useDynalite } from '../support/dynalite';

/** A pid that was alive a moment ago and is not any more. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('state directory', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'state-dir-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('creates and marks a missing directory, takes the lock and gives it back', () => {
    const dir = join(root, 'a', 'state');
    const claimed = claimStateDir(dir, { fresh: false, command: 'npm start' });
    expect(existsSync(join(dir, MARKER))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, LOCK), 'utf8'))).toMatchObject({ pid: process.pid, command: 'npm start' });
    claimed.release();
    expect(existsSync(join(dir, LOCK))).toBe(false);
  });

  it('refuses a directory locked by a live process, naming it', () => {
    const dir = join(root, 'state');
    mkdirSync(dir);
    writeFileSync(join(dir, MARKER), '');
    // This test's parent (jest's own runner) is alive and not us.
    writeFileSync(join(dir, LOCK), JSON.stringify({ pid: process.ppid, startedAt: '2026-12-01T00:00:00.000Z', command: 'npm start --events x' }));
    expect(() => claimStateDir(dir, { fresh: false, command: 'npm start' })).toThrow(
      new StateDirError(`${dir} is in use by another run (pid ${process.ppid}, since 2026-12-01T00:00:00.000Z: npm start --events x). Wait for it to finish or stop it with Ctrl-C, or use another --state-dir.`),
    );
  });

  it('takes over a stale lock with a note', () => {
    const dir = join(root, 'state');
    mkdirSync(dir);
    writeFileSync(join(dir, MARKER), '');
    const pid = deadPid();
    writeFileSync(join(dir, LOCK), JSON.stringify({ pid, startedAt: '2026-12-01T00:00:00.000Z', command: 'npm start' }));
    const claimed = claimStateDir(dir, { fresh: false, command: 'npm start' });
    expect(claimed.tookOverFrom?.pid).toBe(pid);
    expect(claimed.notes.join('\n')).toContain(`no longer running (pid ${pid}`);
    claimed.release();
  });

  it('--fresh refuses a folder without the marker and deletes nothing', () => {
    writeFileSync(join(root, 'thesis.tex'), 'precious');
    expect(() => claimStateDir(root, { fresh: true, command: 'npm start --fresh' })).toThrow(/--fresh refused: .* was not created by identity-provisioner/);
    expect(readFileSync(join(root, 'thesis.tex'), 'utf8')).toBe('precious');
    expect(existsSync(join(root, LOCK))).toBe(false);
  });

  it('--fresh on a marked directory deletes only what npm start writes there', () => {
    const dir = join(root, 'state');
    claimStateDir(dir, { fresh: false, command: 'npm start' }).release();
    mkdirSync(join(dir, 'dynamodb'));
    writeFileSync(join(dir, 'identitystore.json'), '{}');
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const claimed = claimStateDir(dir, { fresh: true, command: 'npm start --fresh' });
    expect(existsSync(join(dir, 'dynamodb'))).toBe(false);
    expect(existsSync(join(dir, 'identitystore.json'))).toBe(false);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(existsSync(join(dir, MARKER))).toBe(true);
    claimed.release();
  });

  it('adopts a .local/ from before the marker (only what npm start writes)', () => {
    const dir = join(root, '.local');
    mkdirSync(join(dir, 'dynamodb'), { recursive: true });
    mkdirSync(join(dir, 'logs'));
    const claimed = claimStateDir(dir, { fresh: true, command: 'npm start --fresh' });
    expect(existsSync(join(dir, MARKER))).toBe(true);
    expect(existsSync(join(dir, 'dynamodb'))).toBe(false);
    claimed.release();
  });
});

describe('leftovers of an interrupted run', () => {
  const dynamo = useDynalite();
  const now = Date.now();

  async function seed() {
    const { documentClient: db, tables } = dynamo.current;
    const put = (TableName: string, Item: Record<string, unknown>) => db.send(new PutCommand({ TableName, Item }));
    await put(tables.idempotency, { id: 'fn#running', status: 'INPROGRESS', expiration: Math.floor(now / 1000) + 3600, in_progress_expiration: now + 60_000 });
    await put(tables.idempotency, { id: 'fn#done', status: 'COMPLETED', expiration: Math.floor(now / 1000) + 3600, data: { eventId: 'e1' } });
    await put(tables.state, { pk: 'LEASE#user:ada', owner: 'inv-1', expiresAtMs: now + 60_000 });
    await put(tables.state, { pk: 'WM#user:ada', occurredAt: '2026-11-22T09:00:00Z', eventId: 'e1' });
    await put(tables.audit, { pk: 'EVENT#e1', sk: '2026-11-22T09:00:00Z#OUTCOME#0001', outcome: 'APPLIED' });
  }
  const exists = async (TableName: string, Key: Record<string, unknown>) =>
    (await dynamo.current.documentClient.send(new GetCommand({ TableName, Key }))).Item !== undefined;

  it('finds in-progress records and leases, and clears only those when the store is ours', async () => {
    await seed();
    const { client, tables } = dynamo.current;
    const found = await findLeftovers(client, tables);
    expect(found.inProgress).toEqual([{ id: 'fn#running', expiresAtMs: now + 60_000 }]);
    expect(found.leases).toEqual([{ pk: 'LEASE#user:ada', owner: 'inv-1', expiresAtMs: now + 60_000 }]);

    const note = await settleLeftovers(client, tables, { ownsStore: true, maxWaitMs: 60_000 });
    expect(note).toMatch(/1 idempotency record\(s\) in progress, 1 subject lease\(s\)/);
    expect(await exists(tables.idempotency, { id: 'fn#running' })).toBe(false);
    expect(await exists(tables.state, { pk: 'LEASE#user:ada' })).toBe(false);
    // Never: completed records (duplicates are answered from them), watermarks, the audit trail.
    expect(await exists(tables.idempotency, { id: 'fn#done' })).toBe(true);
    expect(await exists(tables.state, { pk: 'WM#user:ada' })).toBe(true);
    expect(await exists(tables.audit, { pk: 'EVENT#e1', sk: '2026-11-22T09:00:00Z#OUTCOME#0001' })).toBe(true);
    expect(await settleLeftovers(client, tables, { ownsStore: true, maxWaitMs: 60_000 })).toBeUndefined();
  });

  it('does not delete a lease taken again since it was found', async () => {
    await seed();
    const { client, tables, documentClient } = dynamo.current;
    const found = await findLeftovers(client, tables);
    await documentClient.send(new PutCommand({ TableName: tables.state, Item: { pk: 'LEASE#user:ada', owner: 'inv-2', expiresAtMs: now + 60_000 } }));
    expect(await clearLeftovers(client, tables, found)).toEqual({ inProgress: 1, leases: 0 });
    expect(await exists(tables.state, { pk: 'LEASE#user:ada' })).toBe(true);
  });

  it('waits out, and does not delete, what it finds in a store it does not own', async () => {
    await seed();
    const { client, tables } = dynamo.current;
    const slept: number[] = [];
    const note = await settleLeftovers(client, tables, { ownsStore: false, maxWaitMs: 30_000, now: () => now, sleep: async (ms) => void slept.push(ms) });
    expect(slept).toEqual([30_000]);
    expect(note).toMatch(/waited 30.0 s for 1 idempotency record\(s\) in progress and 1 subject lease\(s\)/);
    expect(await exists(tables.idempotency, { id: 'fn#running' })).toBe(true);
  });
});
