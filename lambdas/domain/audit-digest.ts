/**
 * Tamper evidence for the audit trail, after CloudTrail's log file integrity validation: a digest
 * lists every audit item of a time window by key and content hash, and carries the hash of the
 * digest before it, so the digests form one chain. They are kept where the function that writes
 * the trail cannot rewrite them (S3 with Object Lock in AWS, <stateDir>/audit-digests locally).
 * `verifyTrail` recomputes everything and names each record changed, removed or added after its
 * digest, and each break in the chain.
 *
 * Pure: the audit items and the digests come through the ports; hashing is node:crypto.
 */
import { auditContentHash, canonical, sha256Hex } from './canonical-hash';

export const DIGEST_FORMAT = 'identity-provisioner-audit-digest/1';

/** One record as a digest keeps it. */
export interface DigestEntry {
  pk: string;
  sk: string;
  hash: string;
  expiresAt?: number;
}

/** A digest of every audit item whose sk time is in [from, to), chained to the one before. */
export interface AuditDigest {
  format: typeof DIGEST_FORMAT;
  /** ISO UTC, inclusive. */
  from: string;
  /** ISO UTC, exclusive. */
  to: string;
  createdAt: string;
  /** digestHash of the digest before (null for the first). */
  previousDigestHash: string | null;
  /** Sorted by sk then pk. */
  entries: DigestEntry[];
  /** sha256 hex of the canonical JSON of every field above. */
  digestHash: string;
}

/** Where digests are kept: S3 with Object Lock in AWS, <stateDir>/audit-digests locally. */
export interface DigestStorePort {
  /** The newest digest (greatest `to`), or undefined. */
  latest(): Promise<AuditDigest | undefined>;
  /** Writes a new digest; must refuse (throw) to overwrite an existing one. */
  put(digest: AuditDigest): Promise<void>;
  /** Every digest whose `to` > since (all when absent), oldest first, each with what the store noticed about it. */
  list(since?: Date): Promise<StoredDigest[]>;
}

export interface StoredDigest {
  digest: AuditDigest;
  location: string;
  /** e.g. 'the object has 2 versions: it was rewritten' */
  problems: string[];
}

/** Reads the audit items of a window (adapter over byDay). */
export interface AuditItemSourcePort {
  itemsBetween(from: Date, to: Date): Promise<Record<string, unknown>[]>;
}

/** The object key (S3) or relative file path (local) of a digest: sorts by time, no ':' in it. */
export function digestObjectKey(digest: Pick<AuditDigest, 'to'>): string {
  return `audit-digests/${digest.to.replace(/:/g, '-')}.json`;
}

/** The `to` a digest key names (the inverse of digestObjectKey), or undefined when it names none. */
export function toOfDigestKey(key: string): string | undefined {
  const match = /(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2}\.\d{3}Z)\.json$/.exec(key);
  if (!match) return undefined;
  const to = `${match[1]}T${match[2]}:${match[3]}:${match[4]}`;
  return isIsoUtc(to) ? to : undefined;
}

export function digestHashOf(d: Omit<AuditDigest, 'digestHash'>): string {
  // Only the named fields: a whole digest passed in must not hash its own digestHash.
  const { format, from, to, createdAt, previousDigestHash, entries } = d;
  return sha256Hex(canonical({ format, from, to, createdAt, previousDigestHash, entries }));
}

/** The time a sort key starts with (every audit sk is `<UTC ISO>#...`). */
export function skTime(sk: string): string {
  const hash = sk.indexOf('#');
  return hash === -1 ? sk : sk.slice(0, hash);
}

/**
 * The hash a digest keeps for an item: the one it carries when it has one (so an item changed
 * between its write and its digest, without its hash, still shows), else its content's.
 */
function entryHashOf(item: Record<string, unknown>): string {
  return typeof item.contentHash === 'string' ? item.contentHash : auditContentHash(item);
}

export function buildDigest(
  items: Record<string, unknown>[],
  window: { from: Date; to: Date },
  previous: AuditDigest | undefined,
  createdAt: Date,
): AuditDigest {
  const from = window.from.toISOString();
  const to = window.to.toISOString();
  const entries: DigestEntry[] = [];
  for (const item of items) {
    const pk = item.pk;
    const sk = item.sk;
    if (typeof pk !== 'string' || typeof sk !== 'string') continue;
    // Exactly [from, to) as verify reads it: an item outside belongs to another digest.
    const time = skTime(sk);
    if (time < from || time >= to) continue;
    const entry: DigestEntry = { pk, sk, hash: entryHashOf(item) };
    if (typeof item.expiresAt === 'number') entry.expiresAt = item.expiresAt;
    entries.push(entry);
  }
  entries.sort(byKey);
  const content: Omit<AuditDigest, 'digestHash'> = {
    format: DIGEST_FORMAT,
    from,
    to,
    createdAt: createdAt.toISOString(),
    previousDigestHash: previous?.digestHash ?? null,
    entries,
  };
  return { ...content, digestHash: digestHashOf(content) };
}

/**
 * Writes the digests due: from `latest.to` (or `genesis` when there is none) up to `until`, one
 * digest per window of at most `maxWindowMs`. Windows end on multiples of `maxWindowMs` since the
 * epoch (whole hours for an hour), except the last, which ends at `until`: pass an aligned `until`
 * for whole windows only. Each digest is put before the next is built, so a failure leaves a chain
 * that the next call continues.
 */
export async function writeDueDigests(
  ports: { source: AuditItemSourcePort; store: DigestStorePort },
  options: {
    until: Date;
    genesis: Date;
    maxWindowMs: number;
    now: Date;
    /** Asked before each window: true stops here (a Lambda low on time); the next call continues the chain. */
    stopBefore?: () => boolean;
  },
): Promise<{ written: AuditDigest[]; caughtUp: boolean }> {
  const { until, genesis, maxWindowMs, now, stopBefore = () => false } = options;
  if (!Number.isInteger(maxWindowMs) || maxWindowMs <= 0) throw new Error(`maxWindowMs must be a whole number > 0, got ${maxWindowMs}`);
  for (const [name, date] of [['until', until], ['genesis', genesis], ['now', now]] as const) {
    if (Number.isNaN(date.getTime())) throw new Error(`${name} is not a valid date`);
  }
  let previous = await ports.store.latest();
  let from = previous ? new Date(previous.to) : genesis;
  const written: AuditDigest[] = [];
  while (from.getTime() < until.getTime()) {
    if (stopBefore()) return { written, caughtUp: false };
    const boundary = (Math.floor(from.getTime() / maxWindowMs) + 1) * maxWindowMs;
    const to = new Date(Math.min(boundary, until.getTime()));
    const digest = buildDigest(await ports.source.itemsBetween(from, to), { from, to }, previous, now);
    await ports.store.put(digest);
    written.push(digest);
    previous = digest;
    from = to;
  }
  return { written, caughtUp: true };
}

/** What a digest must look like; a stored one that does not cannot be checked against. */
export function digestShapeProblems(value: unknown): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return ['it is not a JSON object'];
  const d = value as Record<string, unknown>;
  const problems: string[] = [];
  if (d.format !== DIGEST_FORMAT) problems.push(`its format is ${JSON.stringify(d.format)}, not ${DIGEST_FORMAT}`);
  for (const field of ['from', 'to', 'createdAt'] as const) {
    if (!isIsoUtc(d[field])) problems.push(`its ${field} is not an ISO UTC time`);
  }
  if (isIsoUtc(d.from) && isIsoUtc(d.to) && d.from >= d.to) problems.push(`its window is empty (from ${d.from}, to ${d.to})`);
  if (d.previousDigestHash !== null && !isSha256(d.previousDigestHash)) problems.push('its previousDigestHash is neither null nor a SHA-256');
  if (!isSha256(d.digestHash)) problems.push('its digestHash is not a SHA-256');
  if (!Array.isArray(d.entries)) problems.push('its entries are not a list');
  else {
    const bad = d.entries.filter(
      (e: unknown) =>
        e === null ||
        typeof e !== 'object' ||
        typeof (e as DigestEntry).pk !== 'string' ||
        typeof (e as DigestEntry).sk !== 'string' ||
        !isSha256((e as DigestEntry).hash) ||
        ((e as DigestEntry).expiresAt !== undefined && typeof (e as DigestEntry).expiresAt !== 'number'),
    ).length;
    if (bad > 0) problems.push(`${bad} of its entries are not {pk, sk, hash[, expiresAt]}`);
  }
  return problems;
}

export type FindingType = 'changed' | 'removed' | 'added' | 'chain';

/** One thing verify found wrong. Record findings name the record; chain findings name only the digest. */
export interface VerifyFinding {
  type: FindingType;
  pk?: string;
  sk?: string;
  /** The record's kind (OUTCOME, WRITE, INTENT, DRIFT, LINK). */
  kind?: string;
  eventId?: string;
  /** The digest concerned: its location in the store (or the gap between two). */
  digest: string;
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  since?: string;
  checked: {
    digests: number;
    /** The span the checked digests cover (from the first's `from` to the last's `to`). */
    from?: string;
    to?: string;
    /** Audit items read. */
    records: number;
    /** Entries in the checked digests. */
    entries: number;
  };
  findings: VerifyFinding[];
  /** Items dated at or after the last digest's `to`: not digested yet. */
  notYetDigested: number;
  /** Items without a contentHash (written before items carried one). */
  withoutContentHash: number;
  /** Items read that are older than the first checked digest (when --since reaches before it). */
  beforeFirstDigest: number;
  /** Digest entries whose item is gone after its expiresAt: removed by retention, as configured. */
  expired: number;
}

const DAY_MS = 86_400_000;

/**
 * Recomputes the trail against its digests. With `since`, only the digests whose `to` > since are
 * checked, and the chain from the first of them on (its own link backwards is not).
 */
export async function verifyTrail(
  ports: { source: AuditItemSourcePort; store: DigestStorePort },
  options: { since?: Date; now: Date },
): Promise<VerifyReport> {
  const { since, now } = options;
  const stored = [...(await ports.store.list(since))].sort((a, b) => compare(a.digest.to, b.digest.to) || compare(a.digest.from, b.digest.from));
  const findings: VerifyFinding[] = [];
  const chainFinding = (location: string, detail: string) => findings.push({ type: 'chain', digest: location, detail });

  // The digests that can be checked against: a malformed one is a finding, and its window is then
  // covered by no digest (its records show as added).
  const usable: StoredDigest[] = [];
  for (const entry of stored) {
    const shape = digestShapeProblems(entry.digest);
    // A store that could not read a digest says why; its stand-in's own shape problems add nothing.
    const reported = shape.length > 0 && entry.problems.length > 0 ? entry.problems : [...entry.problems, ...shape];
    for (const problem of unique(reported)) chainFinding(entry.location, problem);
    if (shape.length === 0) usable.push(entry);
  }
  for (let i = 0; i < usable.length; i++) {
    const { digest, location } = usable[i]!;
    if (digestHashOf(digest) !== digest.digestHash) chainFinding(location, 'its digestHash does not match its content: the digest was altered');
    const before = usable[i - 1];
    if (before === undefined) {
      if (since === undefined && digest.previousDigestHash !== null) {
        chainFinding(location, 'it names a previous digest, and the store has none before it: the chain does not start here');
      }
      continue;
    }
    if (digest.previousDigestHash !== before.digest.digestHash) {
      chainFinding(location, `its previousDigestHash is not the digestHash of the digest before it (${before.location})`);
    }
    if (digest.from > before.digest.to) chainFinding(location, `gap: nothing digests ${before.digest.to} to ${digest.from}`);
    else if (digest.from < before.digest.to) chainFinding(location, `overlap: it starts at ${digest.from}, before the digest before it ends (${before.digest.to})`);
  }

  const first = usable[0]?.digest;
  const last = usable.at(-1)?.digest;
  const readFrom = first === undefined ? since : since !== undefined && since.getTime() < Date.parse(first.from) ? since : new Date(first.from);
  // A day past now and past the last digest: records dated a little ahead (a skewed clock) are still seen.
  const readTo = new Date(Math.max(now.getTime(), last ? Date.parse(last.to) : 0) + DAY_MS);
  // Every entry of the checked digests by key; a key two overlapping digests list is checked against both.
  const listed = new Map<string, { entry: DigestEntry; location: string; intact: boolean }[]>();
  let entryCount = 0;
  for (const { digest, location } of usable) {
    const intact = digestHashOf(digest) === digest.digestHash;
    for (const entry of digest.entries) {
      entryCount++;
      const key = keyOf(entry.pk, entry.sk);
      listed.set(key, [...(listed.get(key) ?? []), { entry, location, intact }]);
    }
  }

  const recordFindings = new Map<string, VerifyFinding>();
  const seen = new Set<string>();
  let records = 0;
  let notYetDigested = 0;
  let withoutContentHash = 0;
  let beforeFirstDigest = 0;
  const checkItem = (item: Record<string, unknown>) => {
    const { pk, sk } = item;
    if (typeof pk !== 'string' || typeof sk !== 'string') return;
    records++;
    const key = keyOf(pk, sk);
    if (typeof item.contentHash !== 'string') withoutContentHash++;
    const listings = listed.get(key);
    if (listings !== undefined) {
      seen.add(key);
      const hash = auditContentHash(item);
      for (const { entry, location, intact } of listings) {
        if (hash === entry.hash) continue;
        const detail = !intact
          ? 'its content does not match the digest, which was altered itself: either may have been changed'
          : selfHashBroken(item)
            ? 'its content no longer matches the digest, and its contentHash was not updated'
            : 'its content no longer matches the digest (its contentHash was rewritten to match)';
        recordFindings.set(key, recordFinding('changed', pk, sk, item, location, detail));
      }
      return;
    }
    const time = skTime(sk);
    // The first digest ending after the item's time is the only one that can cover it (sorted by `to`).
    const index = firstEndingAfter(usable, time);
    const candidate = usable[index];
    if (candidate !== undefined && time >= candidate.digest.from) {
      recordFindings.set(key, recordFinding('added', pk, sk, item, candidate.location, "in the digest's window, not listed in it (written after the digest)"));
      return;
    }
    // Outside every digest: before the first, after the last, or in a gap of the chain.
    if (candidate !== undefined && index > 0) {
      recordFindings.set(key, recordFinding('added', pk, sk, item, `the gap after ${usable[index - 1]!.location}`, 'in no digest: it is dated in a gap of the chain'));
      return;
    }
    const undigested = last === undefined || time >= last.to;
    if (undigested) notYetDigested++;
    else beforeFirstDigest++;
    // In no digest, but a record whose own hash does not match its content was changed all the same.
    if (selfHashBroken(item)) {
      recordFindings.set(key, recordFinding('changed', pk, sk, item, undigested ? '(not digested yet)' : '(before the first digest)', 'its contentHash does not match its content: changed, its hash not updated'));
    }
  };
  // A UTC day at a time: only the digests' entries are held throughout, never the whole trail.
  if (readFrom !== undefined) {
    for (let start = readFrom.getTime(); start < readTo.getTime(); ) {
      const end = Math.min(readTo.getTime(), (Math.floor(start / DAY_MS) + 1) * DAY_MS);
      for (const item of await ports.source.itemsBetween(new Date(start), new Date(end))) checkItem(item);
      start = end;
    }
  }

  let expired = 0;
  const nowSeconds = now.getTime() / 1000;
  for (const [key, listings] of listed) {
    if (seen.has(key)) continue;
    for (const { entry, location } of listings) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= nowSeconds) expired++;
      else recordFindings.set(key, recordFinding('removed', entry.pk, entry.sk, undefined, location, 'listed in the digest, no longer in the table'));
    }
  }

  findings.push(...[...recordFindings.values()].sort((a, b) => compare(a.sk!, b.sk!) || compare(a.pk!, b.pk!)));
  return {
    ok: findings.length === 0,
    ...(since !== undefined && { since: since.toISOString() }),
    checked: { digests: stored.length, from: first?.from, to: last?.to, records, entries: entryCount },
    findings,
    notYetDigested,
    withoutContentHash,
    beforeFirstDigest,
    expired,
  };
}

/** The index of the first digest whose `to` is after `time` (usable.length when none is). */
function firstEndingAfter(usable: StoredDigest[], time: string): number {
  let low = 0;
  let high = usable.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (usable[middle]!.digest.to > time) high = middle;
    else low = middle + 1;
  }
  return low;
}

function recordFinding(type: FindingType, pk: string, sk: string, item: Record<string, unknown> | undefined, digest: string, detail: string): VerifyFinding {
  const kind = typeof item?.kind === 'string' ? item.kind : kindOfSk(sk);
  const eventId = typeof item?.eventId === 'string' ? item.eventId : eventIdOfPk(pk);
  return { type, pk, sk, ...(kind !== undefined && { kind }), ...(eventId !== undefined && { eventId }), digest, detail };
}

function selfHashBroken(item: Record<string, unknown>): boolean {
  return typeof item.contentHash === 'string' && item.contentHash !== auditContentHash(item);
}

/** `<time>#OUTCOME#0001` -> OUTCOME: what a removed record was, from its key alone. */
function kindOfSk(sk: string): string | undefined {
  return sk.split('#')[1] || undefined;
}

/** EVENT#<eventId>, unless the id was too long for a key and is only its digest there. */
function eventIdOfPk(pk: string): string | undefined {
  return pk.startsWith('EVENT#') && !pk.startsWith('EVENT#sha256:') ? pk.slice('EVENT#'.length) : undefined;
}

function keyOf(pk: string, sk: string): string {
  return `${pk}\u0000${sk}`;
}

function byKey(a: DigestEntry, b: DigestEntry): number {
  return compare(a.sk, b.sk) || compare(a.pk, b.pk);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function isIsoUtc(value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value;
}

function isSha256(value: unknown): boolean {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}
