/**
 * DynamoDB's key size limits, enforced where our keys are built. DynamoDB counts a key value in
 * bytes of UTF-8: a partition key (of the table or of a GSI) may be 1 to 2,048 bytes, a sort key
 * 1 to 1,024 bytes. dynalite counts UTF-16 code units instead, so a key it accepts can be refused
 * by DynamoDB: a 1,024-character CJK group name is 1,024 units but 3,072 bytes, and `Ada` in
 * astral-plane letters is 4 bytes a character. Our keys carry parts taken from events (names,
 * ExternalIds, event ids, actors), so every key is built here and checked.
 *
 * A variable part stays as it is (readable in the console and in the raw items) while it takes at
 * most half its key's limit, which leaves the other half for the fixed prefixes and suffixes.
 * A longer part is replaced by `sha256:<64 hex digits>` of its UTF-8 bytes: deterministic, so the
 * writer and every reader build the same key, and never a truncation, which would make two names
 * that differ only at the end share a key. A part that itself starts with `sha256:` is digested
 * too, so a readable part can never pass for another part's digest.
 */
import { createHash } from 'node:crypto';

/** DynamoDB: a partition key value (table or GSI) is at most this many bytes of UTF-8. */
export const PARTITION_KEY_MAX_BYTES = 2_048;
/** DynamoDB: a sort key value (table or GSI) is at most this many bytes of UTF-8. */
export const SORT_KEY_MAX_BYTES = 1_024;
/** A variable part of a partition key longer than this (UTF-8 bytes) is replaced by its digest. */
export const PARTITION_KEY_READABLE_PART_MAX_BYTES = PARTITION_KEY_MAX_BYTES / 2;
/** A variable part of a sort key longer than this (UTF-8 bytes) is replaced by its digest. */
export const SORT_KEY_READABLE_PART_MAX_BYTES = SORT_KEY_MAX_BYTES / 2;
/** How a digested part starts. */
export const DIGEST_PREFIX = 'sha256:';

export function utf8Bytes(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/** `value` when it takes at most `readableMaxBytes` bytes, else `sha256:<hex>` of it. */
export function keyPart(value: string, readableMaxBytes: number = PARTITION_KEY_READABLE_PART_MAX_BYTES): string {
  if (utf8Bytes(value) <= readableMaxBytes && !value.startsWith(DIGEST_PREFIX)) return value;
  return DIGEST_PREFIX + createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * `prefix` + the bounded `variable` + `suffix`, as a partition key value. The fixed parts are
 * ours and short; the check guards against a future prefix that is not.
 */
export function partitionKey(prefix: string, variable: string, suffix = ''): string {
  return checked(prefix + keyPart(variable, PARTITION_KEY_READABLE_PART_MAX_BYTES) + suffix, PARTITION_KEY_MAX_BYTES, 'partition');
}

/** The same for a sort key value. */
export function sortKey(prefix: string, variable: string, suffix = ''): string {
  return checked(prefix + keyPart(variable, SORT_KEY_READABLE_PART_MAX_BYTES) + suffix, SORT_KEY_MAX_BYTES, 'sort');
}

/** Whether a finished key value fits DynamoDB's limit for its kind (1 byte up to the limit). */
export function fitsKeyLimit(key: string, kind: 'partition' | 'sort'): boolean {
  const bytes = utf8Bytes(key);
  return bytes >= 1 && bytes <= (kind === 'partition' ? PARTITION_KEY_MAX_BYTES : SORT_KEY_MAX_BYTES);
}

function checked(key: string, limit: number, kind: 'partition' | 'sort'): string {
  const bytes = utf8Bytes(key);
  if (bytes < 1 || bytes > limit) {
    throw new Error(`a DynamoDB ${kind} key must be 1 to ${limit} bytes of UTF-8, this one is ${bytes}: ${key.slice(0, 80)}…`);
  }
  return key;
}
