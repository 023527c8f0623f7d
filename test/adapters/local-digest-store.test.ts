/**
 * LocalDigestStore: one JSON file per digest in a directory, named by its end, never overwritten;
 * a damaged or renamed file is reported as a problem, not a crash.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DigestExistsError, LocalDigestStore } from '../../lambdas/adapters/local-digest-store';
import { buildDigest, digestObjectKey, verifyTrail, type AuditDigest } from '../../lambdas/domain/audit-digest';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'local-digest-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const at = (hour: number) => new Date(Date.UTC(2026, 11, 2, hour));
const item = { pk: 'EVENT#e-1', sk: '2026-12-02T01:30:00.000Z#OUTCOME#0001', kind: 'OUTCOME', eventId: 'e-1', contentHash: 'a'.repeat(64) };

/** Three chained hourly digests, 00:00 to 03:00. */
function chain(): AuditDigest[] {
  const digests: AuditDigest[] = [];
  for (let hour = 0; hour < 3; hour++) digests.push(buildDigest([item], { from: at(hour), to: at(hour + 1) }, digests.at(-1), at(4)));
  return digests;
}

it('writes each digest as <to with dashes>.json and reads them back oldest first; latest is the one ending last', async () => {
  const store = new LocalDigestStore(join(dir, 'audit-digests'));
  expect(await store.latest()).toBeUndefined();
  expect(await store.list()).toEqual([]);
  const digests = chain();
  for (const digest of [digests[2]!, digests[0]!, digests[1]!]) await store.put(digest);

  expect(readdirSync(join(dir, 'audit-digests')).sort()).toEqual(['2026-12-02T01-00-00.000Z.json', '2026-12-02T02-00-00.000Z.json', '2026-12-02T03-00-00.000Z.json']);
  expect(await store.list()).toEqual(digests.map((digest) => ({ digest, location: join(dir, 'audit-digests', basename(digestObjectKey(digest))), problems: [] })));
  expect(await store.latest()).toEqual(digests[2]);
  // Only those ending after `since`.
  expect((await store.list(at(2))).map((s) => s.digest.to)).toEqual([at(3).toISOString()]);
  expect((await store.list(new Date(at(2).getTime() - 1))).map((s) => s.digest.to)).toEqual([at(2).toISOString(), at(3).toISOString()]);
});

it('refuses to overwrite a digest, and leaves the file as it was', async () => {
  const store = new LocalDigestStore(dir);
  const [first] = chain();
  await store.put(first!);
  const file = join(dir, basename(digestObjectKey(first!)));
  const before = readFileSync(file, 'utf8');
  const forged = buildDigest([], { from: at(0), to: at(1) }, undefined, at(5));
  await expect(store.put(forged)).rejects.toThrow(DigestExistsError);
  expect(readFileSync(file, 'utf8')).toBe(before);
});

it('reports a file that is not JSON, one that holds no digest and one renamed, without crashing; latest skips the damaged', async () => {
  const store = new LocalDigestStore(dir);
  const digests = chain();
  for (const digest of digests) await store.put(digest);
  const [first, second, third] = digests.map((d) => join(dir, basename(digestObjectKey(d))));
  writeFileSync(third!, '{"format": "identity-provisioner-audit-digest/1", "to": ');
  writeFileSync(second!, JSON.stringify({ hello: 'world' }));
  const renamed = join(dir, '2026-12-02T00-30-00.000Z.json');
  renameSync(first!, renamed);

  const listed = await store.list();
  expect(listed.map((s) => [s.location, s.problems])).toEqual([
    [renamed, [expect.stringContaining("its name is not its window's end (2026-12-02T01:00:00.000Z)")]],
    [second, expect.arrayContaining([expect.stringMatching(/^it holds no valid digest: its format is undefined/)])],
    [third, [expect.stringContaining('the file cannot be read as JSON')]],
  ]);
  // The renamed one is the newest that can be read: the next digest would chain from it.
  expect(await store.latest()).toEqual(digests[0]);
  expect(existsSync(third!)).toBe(true);

  // verify names each file's problem as a break of the chain.
  const report = await verifyTrail({ source: { itemsBetween: async () => [] }, store }, { now: at(5) });
  expect(report.ok).toBe(false);
  expect(report.findings.filter((f) => f.type === 'chain').map((f) => f.digest)).toEqual(expect.arrayContaining([renamed, second, third]));
});
