/**
 * The content hash of an audit item, in the domain so both the writer (the audit-log adapter) and
 * the digests (audit-digest.ts) compute it the same way. node:crypto only: no SDK.
 */
import { createHash } from 'node:crypto';
import { AUDIT_TABLE } from '../shared/tables';

/**
 * The SHA-256 of an item's content: every attribute but the hash itself and `expiresAt` (a
 * changed retention setting does not make it another record), as JSON with sorted keys. Each
 * item carries it (`contentHash`) and the digests keep it (lambdas/domain/audit-digest.ts), so a
 * record changed after its digest was written no longer matches.
 */
export function auditContentHash(item: Record<string, unknown>): string {
  const content = { ...item };
  delete content.contentHash;
  delete content[AUDIT_TABLE.timeToLiveAttribute];
  return sha256Hex(canonical(content));
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * JSON with sorted keys, so equal items compare equal whatever order their attributes came in. A
 * DynamoDB set (a Set once read) is written as its sorted members, marked as a set: JSON alone
 * would write every Set as {} and hash none of its content.
 */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner instanceof Set) return { $set: [...(inner as Set<unknown>)].map((member) => canonical(member)).sort() };
    return inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner;
  });
}
