/** Admin endpoints, counters, the write journal, the wire envelope, persistence and the CLI. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateGroupCommand,
  CreateGroupMembershipCommand,
  CreateUserCommand,
  DescribeUserCommand,
  GetGroupMembershipIdCommand,
  GetUserIdCommand,
  ListUsersCommand,
} from '@aws-sdk/client-identitystore';
import { startEmulator } from '../../local/emulator';
import { STORE_ID, clientFor, failureOf, startQuiet, validUser } from './helpers';

let workDir: string;
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'emulator-test-'));
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const rawCall = (endpoint: string, target: string | undefined, body: string) =>
  fetch(endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-amz-json-1.1', ...(target ? { 'X-Amz-Target': target } : {}) },
    body,
  });

describe('admin endpoints and counters', () => {
  it('health, stats by action and by outcome, reset, and the write journal', async () => {
    const emulator = await startQuiet({ tps: 1, burst: 3, seed: 5 });
    const client = clientFor(emulator);
    try {
      const health = await fetch(`${emulator.endpoint}/_emulator/health`);
      expect(await health.json()).toEqual({ status: 'ok', identityStoreIds: [STORE_ID] });

      const { UserId } = await client.send(new CreateUserCommand(validUser('counted')));
      await client.send(new ListUsersCommand({ IdentityStoreId: STORE_ID }));
      await failureOf(client.send(new DescribeUserCommand({ IdentityStoreId: STORE_ID, UserId: 'bad' })));
      await failureOf(client.send(new ListUsersCommand({ IdentityStoreId: STORE_ID })));

      const stats = await (await fetch(`${emulator.endpoint}/_emulator/stats`)).json();
      expect(stats).toMatchObject({
        totalCalls: 4,
        callsByAction: { CreateUser: 1, ListUsers: 2, DescribeUser: 1 },
        throttled: { quota: 1, injected: 0 },
        throttledByAction: { ListUsers: 1 },
        errorsByType: { ValidationException: 1, ThrottlingException: 1 },
        successfulWrites: 1,
        faultSeed: 5,
      });
      expect(emulator.stats()).toEqual(stats);

      const writes = (await (await fetch(`${emulator.endpoint}/_emulator/writes`)).json()) as { writes: Record<string, unknown>[] };
      expect(writes.writes).toEqual([
        expect.objectContaining({ sequence: 1, action: 'CreateUser', identityStoreId: STORE_ID, userId: UserId, requestId: expect.any(String) }),
      ]);
      const later = await (await fetch(`${emulator.endpoint}/_emulator/writes?after=1`)).json();
      expect(later).toEqual({ writes: [] });

      const reset = await fetch(`${emulator.endpoint}/_emulator/reset-stats`, { method: 'POST' });
      expect(reset.status).toBe(200);
      expect(emulator.stats()).toMatchObject({ totalCalls: 0, callsByAction: {}, successfulWrites: 0 });
      emulator.resetStats();
      expect(emulator.stats().totalCalls).toBe(0);
      // Admin calls are outside the quota: many in a row, none throttled.
      for (let i = 0; i < 5; i++) expect((await fetch(`${emulator.endpoint}/_emulator/health`)).status).toBe(200);
    } finally {
      client.destroy();
      await emulator.stop();
    }
  });

  it('POST /_emulator/seed creates a SCIM-style user with ExternalIds, and refuses an invalid one', async () => {
    const emulator = await startQuiet();
    const client = clientFor(emulator);
    try {
      const response = await fetch(`${emulator.endpoint}/_emulator/seed`, {
        method: 'POST',
        body: JSON.stringify({ identityStoreId: STORE_ID, user: { ...validUser('seeded.http'), ExternalIds: [{ Issuer: 'okta', Id: '00u1' }] } }),
      });
      const { userId } = (await response.json()) as { userId: string };
      const found = await client.send(
        new GetUserIdCommand({ IdentityStoreId: STORE_ID, AlternateIdentifier: { ExternalId: { Issuer: 'okta', Id: '00u1' } } }),
      );
      expect(found.UserId).toBe(userId);
      const bad = await fetch(`${emulator.endpoint}/_emulator/seed`, {
        method: 'POST',
        body: JSON.stringify({ identityStoreId: STORE_ID, user: { UserName: 'no display name' } }),
      });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { Message: string }).Message).toContain("Value at 'userName'");
    } finally {
      client.destroy();
      await emulator.stop();
    }
  });

  it('answers an unknown target with UnknownOperationException and bad JSON with SerializationException, both with x-amzn-RequestId', async () => {
    const emulator = await startQuiet();
    try {
      const unknown = await rawCall(emulator.endpoint, 'AWSIdentityStore.CreateUniverse', '{}');
      expect(unknown.status).toBe(400);
      const body = (await unknown.json()) as Record<string, string>;
      expect(body.__type).toBe('UnknownOperationException');
      expect(body.RequestId).toBe(unknown.headers.get('x-amzn-requestid'));
      const missing = await rawCall(emulator.endpoint, undefined, '{}');
      expect(((await missing.json()) as Record<string, string>).__type).toBe('UnknownOperationException');
      const garbled = await rawCall(emulator.endpoint, 'AWSIdentityStore.ListUsers', '{nope');
      expect(garbled.status).toBe(400);
      expect(((await garbled.json()) as Record<string, string>).__type).toBe('SerializationException');
      const ok = await rawCall(emulator.endpoint, 'AWSIdentityStore.ListUsers', JSON.stringify({ IdentityStoreId: STORE_ID }));
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('application/x-amz-json-1.1');
      expect(ok.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
      const createWithExternalIds = await rawCall(
        emulator.endpoint,
        'AWSIdentityStore.CreateUser',
        JSON.stringify({ ...validUser('raw.user'), ExternalIds: [{ Issuer: 'a', Id: 'b' }] }),
      );
      expect(((await createWithExternalIds.json()) as Record<string, string>).Message).toMatch(/ExternalIds cannot be set through CreateUser/);
    } finally {
      await emulator.stop();
    }
  });

  it('refuses bad options clearly', async () => {
    await expect(startEmulator({ identityStoreIds: ['store-1'] })).rejects.toThrow('identity store id "store-1" must be d-<10 hex> or a UUID');
    await expect(startEmulator({ throttleStatus: 503 as never })).rejects.toThrow(/throttleStatus must be 400 or 429/);
    await expect(startEmulator({ perActionTps: { CreateUsers: 1 } })).rejects.toThrow(/unknown action "CreateUsers"/);
    await expect(startEmulator({ tps: -1 })).rejects.toThrow(/tps must be a number >= 0/);
  });
});

describe('persistence', () => {
  it('keeps users, groups and memberships across a restart, written atomically', async () => {
    const statePath = join(workDir, 'nested', 'identity-store.json');
    const first = await startQuiet({ statePath });
    const client = clientFor(first);
    const { UserId } = await client.send(new CreateUserCommand(validUser('persisted')));
    const { GroupId } = await client.send(new CreateGroupCommand({ IdentityStoreId: STORE_ID, DisplayName: 'Persisted' }));
    const { MembershipId } = await client.send(
      new CreateGroupMembershipCommand({ IdentityStoreId: STORE_ID, GroupId, MemberId: { UserId: UserId as string } }),
    );
    const seeded = first.seedUser(STORE_ID, { ...validUser('persisted.scim'), ExternalIds: [{ Issuer: 'hr', Id: '7' }] });
    client.destroy();
    await first.stop();
    expect(JSON.parse(readFileSync(statePath, 'utf8')).version).toBe(1);
    expect(readdirSync(join(workDir, 'nested')).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const second = await startQuiet({ statePath });
    const again = clientFor(second);
    try {
      const user = await again.send(new DescribeUserCommand({ IdentityStoreId: STORE_ID, UserId }));
      expect(user.UserName).toBe('persisted');
      const membership = await again.send(new GetGroupMembershipIdCommand({ IdentityStoreId: STORE_ID, GroupId, MemberId: { UserId: UserId as string } }));
      expect(membership.MembershipId).toBe(MembershipId);
      const byExternalId = await again.send(
        new GetUserIdCommand({ IdentityStoreId: STORE_ID, AlternateIdentifier: { ExternalId: { Issuer: 'hr', Id: '7' } } }),
      );
      expect(byExternalId.UserId).toBe(seeded);
      // Uniqueness survives the reload too.
      expect((await failureOf(again.send(new CreateUserCommand(validUser('PERSISTED'))))).name).toBe('ConflictException');
    } finally {
      again.destroy();
      await second.stop();
    }
  });

  it('saves shortly after a write, before stop', async () => {
    const statePath = join(workDir, 'debounced.json');
    const emulator = await startQuiet({ statePath });
    const client = clientFor(emulator);
    try {
      await client.send(new CreateUserCommand(validUser('debounced')));
      for (let i = 0; i < 50 && !existsSync(statePath); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      const saved = JSON.parse(readFileSync(statePath, 'utf8'));
      expect(saved.identityStores[STORE_ID].users[0].attributes.UserName).toBe('debounced');
    } finally {
      client.destroy();
      await emulator.stop();
    }
  });
});

describe('CLI', () => {
  const READY = /^identitystore emulator listening on (http:\/\/127\.0\.0\.1:\d+)\n$/;

  function runCli(args: string[]): ChildProcess {
    // Own process group, so SIGTERM reaches tsx's node process behind npx.
    return spawn('npx', ['tsx', 'local/cli/emulator.ts', ...args], { cwd: process.cwd(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  }
  const exitOf = (child: ChildProcess) =>
    new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const firstLine = (child: ChildProcess) =>
    new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out);
      });
      child.once('exit', (code) => reject(new Error(`CLI exited with ${code} before the ready line: ${out}`)));
    });

  it('prints exactly the ready line, serves, and on SIGTERM stops cleanly, persisting state', async () => {
    const statePath = join(workDir, 'cli-state.json');
    const child = runCli(['--port', '0', '--identity-store-id', STORE_ID, '--tps', '0', '--state', statePath]);
    const exited = exitOf(child);
    try {
      const line = await firstLine(child);
      const endpoint = READY.exec(line)![1];
      const seeded = await fetch(`${endpoint}/_emulator/seed`, {
        method: 'POST',
        body: JSON.stringify({ identityStoreId: STORE_ID, user: validUser('from.cli') }),
      });
      expect(seeded.status).toBe(200);
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
    }
    // npx itself may die of the group's SIGTERM; the emulator behind it exits 0 after saving.
    expect([0, 'SIGTERM']).toContain(await exited);
    for (let i = 0; i < 100 && !existsSync(statePath); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(readFileSync(statePath, 'utf8')).toContain('from.cli');
  });

  it('exits 2 with a clear message on a bad option', async () => {
    const child = runCli(['--faults', 'throttle=7']);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await exitOf(child)).toBe(2);
    expect(stderr).toContain('throttle must be a probability between 0 and 1');
  });
});
