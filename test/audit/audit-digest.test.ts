/**
 * The digests of the audit trail (lambdas/domain/audit-digest.ts) over in-memory ports: how they
 * are built and chained, and every finding verify makes (changed, removed, added, chain) and what
 * it only counts (expired, not yet digested, without contentHash).
 */
import { auditContentHash, toAuditItem } from '../../lambdas/adapters/dynamodb-audit-log';
import {
  buildDigest,
  digestHashOf,
  digestObjectKey,
  skTime,
  toOfDigestKey,
  verifyTrail,
  writeDueDigests,
  type AuditDigest,
  type AuditItemSourcePort,
  type DigestStorePort,
  type StoredDigest,
} from '../../lambdas/domain/audit-digest';
import { auditTrail } from './fixtures';

type Item = Record<string, unknown>;

/** The audit table's items, read the way byDay reads them. */
class MemorySource implements AuditItemSourcePort {
  constructor(readonly items: Item[]) {}
  async itemsBetween(from: Date, to: Date): Promise<Item[]> {
    return this.items.filter((item) => skTime(item.sk as string) >= from.toISOString() && skTime(item.sk as string) < to.toISOString()).map((item) => ({ ...item }));
  }
  find(eventId: string, kind: string): Item {
    const found = this.items.find((item) => item.eventId === eventId && item.kind === kind);
    if (!found) throw new Error(`no ${kind} of ${eventId}`);
    return found;
  }
  remove(item: Item): void {
    this.items.splice(this.items.indexOf(item), 1);
  }
}

class MemoryStore implements DigestStorePort {
  readonly digests = new Map<string, AuditDigest>();
  readonly problems = new Map<string, string[]>();
  async latest(): Promise<AuditDigest | undefined> {
    return [...this.digests.values()].sort((a, b) => a.to.localeCompare(b.to)).at(-1);
  }
  async put(digest: AuditDigest): Promise<void> {
    const key = digestObjectKey(digest);
    if (this.digests.has(key)) throw new Error(`${key} exists`);
    this.digests.set(key, structuredClone(digest));
  }
  async list(since?: Date): Promise<StoredDigest[]> {
    return [...this.digests.entries()]
      .filter(([, digest]) => since === undefined || Date.parse(digest.to) > since.getTime())
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([location, digest]) => ({ digest, location, problems: this.problems.get(location) ?? [] }));
  }
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const GENESIS = new Date('2024-05-01T00:00:00.000Z');
/** The trail spans 2024-05-01 to 2024-05-04; digested to the end of 05-02, the rest is not yet. */
const UNTIL = new Date('2024-05-03T00:00:00.000Z');
const NOW = new Date('2024-05-05T00:00:00.000Z');

function trailItems(options: { retentionDays?: number } = {}): Item[] {
  return auditTrail().map((record) => toAuditItem(record, options));
}

async function digestedTrail(options: { retentionDays?: number } = {}) {
  const source = new MemorySource(trailItems(options));
  const store = new MemoryStore();
  const { written } = await writeDueDigests({ source, store }, { until: UNTIL, genesis: GENESIS, maxWindowMs: DAY, now: UNTIL });
  return { source, store, written, verify: (since?: Date) => verifyTrail({ source, store }, { now: NOW, since }) };
}

describe('buildDigest', () => {
  it('lists the window\'s items by key and hash, sorted by sk then pk, chained to the digest before', () => {
    const items = trailItems();
    const window = { from: new Date('2024-05-01T00:00:00.000Z'), to: new Date('2024-05-01T09:00:02.000Z') };
    const first = buildDigest([...items].reverse(), window, undefined, NOW);
    // Only what lies in [from, to): the record at exactly 09:00:02 belongs to the next window.
    expect(first.entries.map((e) => e.sk)).toEqual(
      items.map((i) => i.sk as string).filter((sk) => skTime(sk) >= window.from.toISOString() && skTime(sk) < window.to.toISOString()).sort(),
    );
    expect(first.entries.length).toBeGreaterThan(1);
    expect(first.entries.map((e) => skTime(e.sk))).not.toContain('2024-05-01T09:00:02.000Z');
    const one = items.find((i) => i.sk === first.entries[0]!.sk)!;
    expect(first.entries[0]).toEqual({ pk: one.pk, sk: one.sk, hash: one.contentHash });
    expect(first).toMatchObject({ format: 'identity-provisioner-audit-digest/1', from: window.from.toISOString(), to: window.to.toISOString(), createdAt: NOW.toISOString(), previousDigestHash: null });
    expect(first.digestHash).toBe(digestHashOf(first));
    expect(first.digestHash).toMatch(/^[0-9a-f]{64}$/);

    const second = buildDigest(items, { from: window.to, to: UNTIL }, first, NOW);
    expect(second.previousDigestHash).toBe(first.digestHash);
    expect(second.digestHash).not.toBe(first.digestHash);
  });

  it('keeps an entry\'s expiresAt, and hashes every field: one entry changed is another digestHash', () => {
    const items = trailItems({ retentionDays: 30 });
    const digest = buildDigest(items, { from: GENESIS, to: UNTIL }, undefined, NOW);
    expect(digest.entries[0]!.expiresAt).toBe(items.find((i) => i.sk === digest.entries[0]!.sk)!.expiresAt);
    const { digestHash, ...content } = digest;
    expect(digestHashOf({ ...content, entries: [{ ...content.entries[0]!, hash: '0'.repeat(64) }, ...content.entries.slice(1)] })).not.toBe(digestHash);
    expect(digestHashOf({ ...content, previousDigestHash: 'a'.repeat(64) })).not.toBe(digestHash);
  });

  it('names its file by its end, with no colon, and reads the end back from the name', () => {
    expect(digestObjectKey({ to: '2026-12-02T06:00:00.000Z' })).toBe('audit-digests/2026-12-02T06-00-00.000Z.json');
    expect(toOfDigestKey('audit-digests/2026-12-02T06-00-00.000Z.json')).toBe('2026-12-02T06:00:00.000Z');
    expect(toOfDigestKey('notes.json')).toBeUndefined();
  });
});

describe('writeDueDigests', () => {
  it('writes windows ending on whole multiples of maxWindowMs from genesis to until, each chained to the one before, and nothing twice', async () => {
    const source = new MemorySource(trailItems());
    const store = new MemoryStore();
    const genesis = new Date('2024-05-01T07:30:00.000Z');
    const until = new Date('2024-05-01T10:15:00.000Z');
    const first = await writeDueDigests({ source, store }, { until, genesis, maxWindowMs: HOUR, now: until });
    expect(first.written.map((d) => [d.from, d.to])).toEqual([
      ['2024-05-01T07:30:00.000Z', '2024-05-01T08:00:00.000Z'],
      ['2024-05-01T08:00:00.000Z', '2024-05-01T09:00:00.000Z'],
      ['2024-05-01T09:00:00.000Z', '2024-05-01T10:00:00.000Z'],
      ['2024-05-01T10:00:00.000Z', '2024-05-01T10:15:00.000Z'],
    ]);
    expect(first.written.map((d) => d.previousDigestHash)).toEqual([null, ...first.written.slice(0, -1).map((d) => d.digestHash)]);
    expect(first.written.map((d) => d.entries.length)).toEqual([0, 2, 3, 0]);

    // Nothing due: nothing written.
    expect((await writeDueDigests({ source, store }, { until, genesis, maxWindowMs: HOUR, now: until })).written).toEqual([]);
    // Later: the chain goes on from the last digest's end (genesis is only for an empty store).
    const later = await writeDueDigests({ source, store }, { until: new Date('2024-05-01T12:00:00.000Z'), genesis: new Date('2024-05-01T11:00:00.000Z'), maxWindowMs: HOUR, now: until });
    expect(later.written.map((d) => [d.from, d.to])).toEqual([
      ['2024-05-01T10:15:00.000Z', '2024-05-01T11:00:00.000Z'],
      ['2024-05-01T11:00:00.000Z', '2024-05-01T12:00:00.000Z'],
    ]);
    expect(later.written[0]!.previousDigestHash).toBe(first.written.at(-1)!.digestHash);
    expect(store.digests.size).toBe(6);
  });

  it('refuses a window size that is not a whole number of milliseconds > 0', async () => {
    const ports = { source: new MemorySource([]), store: new MemoryStore() };
    await expect(writeDueDigests(ports, { until: UNTIL, genesis: GENESIS, maxWindowMs: 0, now: NOW })).rejects.toThrow('maxWindowMs');
  });
});

describe('verifyTrail', () => {
  it('finds nothing on an untouched trail, and counts what is not digested yet', async () => {
    const { verify, written, source } = await digestedTrail();
    const report = await verify();
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
    const undigested = source.items.filter((i) => skTime(i.sk as string) >= UNTIL.toISOString()).length;
    expect(undigested).toBeGreaterThan(0);
    expect(report).toMatchObject({
      checked: { digests: 2, from: GENESIS.toISOString(), to: UNTIL.toISOString(), records: source.items.length, entries: source.items.length - undigested },
      notYetDigested: undigested,
      withoutContentHash: 0,
      beforeFirstDigest: 0,
      expired: 0,
    });
    expect(written).toHaveLength(2);
  });

  it('names a record changed after its digest, whether or not its contentHash was rewritten to match', async () => {
    const { verify, source, store } = await digestedTrail();
    const outcome = source.find('evt-join-ann', 'OUTCOME');
    outcome.errorMessage = 'nothing to see here';
    const write = source.find('evt-group-eng', 'WRITE');
    write.actor = 'someone-else';
    write.contentHash = auditContentHash(write);

    const report = await verify();
    expect(report.ok).toBe(false);
    const location = (sk: unknown) => [...store.digests.keys()].find((key) => key.includes(skTime(sk as string).slice(0, 10) === '2024-05-01' ? '2024-05-02T00' : '2024-05-03T00'));
    expect(report.findings).toEqual([
      { type: 'changed', pk: write.pk, sk: write.sk, kind: 'WRITE', eventId: 'evt-group-eng', digest: location(write.sk), detail: expect.stringContaining('its contentHash was rewritten') },
      { type: 'changed', pk: outcome.pk, sk: outcome.sk, kind: 'OUTCOME', eventId: 'evt-join-ann', digest: location(outcome.sk), detail: expect.stringContaining('its contentHash was not updated') },
    ]);
  });

  it('names a record removed, unless it expired by retention before now', async () => {
    const items = trailItems();
    const nowSeconds = NOW.getTime() / 1000;
    // expiresAt is not content: setting it here leaves every contentHash as it was.
    const expired = items.find((i) => i.eventId === 'evt-group-eng' && i.kind === 'WRITE')!;
    expired.expiresAt = nowSeconds - 60;
    const notYetExpired = items.find((i) => i.eventId === 'evt-move-ann' && i.kind === 'OUTCOME')!;
    notYetExpired.expiresAt = nowSeconds + 60;
    const source = new MemorySource(items);
    const store = new MemoryStore();
    await writeDueDigests({ source, store }, { until: UNTIL, genesis: GENESIS, maxWindowMs: DAY, now: UNTIL });
    const removed = source.find('evt-join-ann', 'OUTCOME');
    for (const item of [expired, notYetExpired, removed]) source.remove(item);

    const report = await verifyTrail({ source, store }, { now: NOW });
    expect(report.expired).toBe(1);
    expect(report.findings).toEqual([
      { type: 'removed', pk: removed.pk, sk: removed.sk, kind: 'OUTCOME', eventId: 'evt-join-ann', digest: 'audit-digests/2024-05-02T00-00-00.000Z.json', detail: 'listed in the digest, no longer in the table' },
      { type: 'removed', pk: notYetExpired.pk, sk: notYetExpired.sk, kind: 'OUTCOME', eventId: 'evt-move-ann', digest: 'audit-digests/2024-05-03T00-00-00.000Z.json', detail: 'listed in the digest, no longer in the table' },
    ]);
  });

  it('names a record added inside a digested window, and only counts one added after the last digest', async () => {
    const { verify, source } = await digestedTrail();
    const template = source.find('evt-join-ann', 'OUTCOME');
    const forged: Item = { ...template, sk: String(template.sk).replace('#0001', '#0002'), outcome: 'APPLIED' };
    forged.contentHash = auditContentHash(forged);
    source.items.push(forged);
    const late: Item = { ...template, sk: '2024-05-03T11:00:00.000Z#OUTCOME#0001', day: '2024-05-03' };
    late.contentHash = auditContentHash(late);
    source.items.push(late);

    const report = await verify();
    expect(report.findings).toEqual([
      expect.objectContaining({ type: 'added', pk: forged.pk, sk: forged.sk, kind: 'OUTCOME', eventId: 'evt-join-ann', detail: expect.stringContaining('not listed') }),
    ]);
    expect(report.notYetDigested).toBe((await digestedTrail().then((t) => t.verify())).notYetDigested + 1);
  });

  it('names a record whose contentHash does not match its content even where no digest covers it yet', async () => {
    const { verify, source } = await digestedTrail();
    const recent = source.items.find((i) => skTime(i.sk as string) >= UNTIL.toISOString())!;
    recent.actor = 'rewritten';
    const report = await verify();
    expect(report.findings).toEqual([
      expect.objectContaining({ type: 'changed', pk: recent.pk, sk: recent.sk, digest: '(not digested yet)', detail: expect.stringContaining('its hash not updated') }),
    ]);
  });

  it('counts records without a contentHash (written before items carried one) without flagging them', async () => {
    const { verify, source } = await digestedTrail();
    const old = source.items.find((i) => skTime(i.sk as string) >= UNTIL.toISOString())!;
    delete old.contentHash;
    const report = await verify();
    expect(report).toMatchObject({ ok: true, withoutContentHash: 1 });
  });

  it('names a digest altered in the store, and the link it breaks', async () => {
    const { verify, store } = await digestedTrail();
    const [firstKey, secondKey] = [...store.digests.keys()];
    const first = store.digests.get(firstKey!)!;
    first.entries[0]!.hash = '0'.repeat(64);
    expect((await verify()).findings).toEqual([
      { type: 'chain', digest: firstKey, detail: expect.stringContaining('digestHash does not match its content') },
      expect.objectContaining({ type: 'changed', sk: first.entries[0]!.sk, digest: firstKey, detail: expect.stringContaining('which was altered itself') }),
    ]);

    // Rehashed so it looks whole: the next digest's link no longer matches it.
    first.digestHash = digestHashOf(first);
    const report = await verify();
    expect(report.findings).toEqual([
      { type: 'chain', digest: secondKey, detail: `its previousDigestHash is not the digestHash of the digest before it (${firstKey})` },
      expect.objectContaining({ type: 'changed', digest: firstKey }),
    ]);
  });

  it('names a gap where a digest was removed, the records of its window as added, and a chain that does not start at its first digest', async () => {
    const source = new MemorySource(trailItems());
    const store = new MemoryStore();
    await writeDueDigests({ source, store }, { until: UNTIL, genesis: GENESIS, maxWindowMs: 12 * HOUR, now: UNTIL });
    const keys = [...store.digests.keys()];
    expect(keys).toHaveLength(4);
    const gone = store.digests.get(keys[2]!)!;
    expect(gone.entries.length).toBeGreaterThan(0);
    store.digests.delete(keys[2]!);

    const report = await verifyTrail({ source, store }, { now: NOW });
    expect(report.findings.filter((f) => f.type === 'chain')).toEqual([
      { type: 'chain', digest: keys[3], detail: `its previousDigestHash is not the digestHash of the digest before it (${keys[1]})` },
      { type: 'chain', digest: keys[3], detail: `gap: nothing digests ${gone.from} to ${gone.from.replace('00:00:00', '12:00:00')}` },
    ]);
    expect(report.findings.filter((f) => f.type === 'added').map((f) => [f.sk, f.digest])).toEqual(gone.entries.map((e) => [e.sk, `the gap after ${keys[1]}`]));

    store.digests.delete(keys[0]!);
    const headless = await verifyTrail({ source, store }, { now: NOW });
    expect(headless.findings[0]).toEqual({ type: 'chain', digest: keys[1], detail: expect.stringContaining('the chain does not start here') });
    // From a time after the break, only the digests after it are checked: their chain is whole.
    const recent = await verifyTrail({ source, store }, { now: NOW, since: new Date(gone.to) });
    expect(recent).toMatchObject({ ok: true, checked: { digests: 1 } });
    // From before the first digest: the records before it are counted.
    const early = await verifyTrail({ source, store }, { now: NOW, since: new Date('2024-04-30T00:00:00.000Z') });
    expect(early.beforeFirstDigest).toBe(store.digests.size > 0 ? source.items.filter((i) => skTime(i.sk as string) < keys[1]!.slice(14, 24)).length : 0);
    expect(early.beforeFirstDigest).toBeGreaterThan(0);
  });

  it('names overlapping digests, and what the store noticed about a digest', async () => {
    const { verify, store, source } = await digestedTrail();
    const [firstKey, secondKey] = [...store.digests.keys()];
    const first = store.digests.get(firstKey!)!;
    const overlapping = buildDigest(source.items, { from: new Date('2024-05-01T12:00:00.000Z'), to: UNTIL }, first, NOW);
    store.digests.set(secondKey!, overlapping);
    store.problems.set(firstKey!, ['the object has 2 versions: it was rewritten']);
    const report = await verify();
    expect(report.findings.filter((f) => f.type === 'chain')).toEqual([
      { type: 'chain', digest: firstKey, detail: 'the object has 2 versions: it was rewritten' },
      { type: 'chain', digest: secondKey, detail: `overlap: it starts at 2024-05-01T12:00:00.000Z, before the digest before it ends (${first.to})` },
    ]);
  });

  it('refuses to check records against a malformed digest: its window counts as a gap', async () => {
    const source = new MemorySource(trailItems());
    const store = new MemoryStore();
    await writeDueDigests({ source, store }, { until: UNTIL, genesis: GENESIS, maxWindowMs: 12 * HOUR, now: UNTIL });
    const keys = [...store.digests.keys()];
    const malformed = store.digests.get(keys[2]!)!;
    expect(malformed.entries.length).toBeGreaterThan(0);
    (malformed as { format: string }).format = 'something-else';

    const report = await verifyTrail({ source, store }, { now: NOW });
    expect(report.ok).toBe(false);
    expect(report.findings.filter((f) => f.type === 'chain')).toEqual([
      { type: 'chain', digest: keys[2], detail: 'its format is "something-else", not identity-provisioner-audit-digest/1' },
      { type: 'chain', digest: keys[3], detail: `its previousDigestHash is not the digestHash of the digest before it (${keys[1]})` },
      { type: 'chain', digest: keys[3], detail: expect.stringMatching(/^gap: /) },
    ]);
    expect(report.findings.filter((f) => f.type === 'added').map((f) => f.sk)).toEqual(malformed.entries.map((e) => e.sk));
  });
});
