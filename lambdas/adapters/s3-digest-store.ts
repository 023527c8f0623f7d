/**
 * Where the deployed digester keeps the audit digests (lambdas/domain/audit-digest.ts): an S3 bucket
 * with versioning and Object Lock in COMPLIANCE mode (lib/audit-digests.ts), one object per digest
 * under `audit-digests/<to>.json`.
 *
 * Object Lock keeps every version of an object until its retention ends, whoever asks. A rewrite
 * can therefore only ever add a version, and a delete only a delete marker: this store reads the
 * OLDEST version of each key (the one first written) and reports any later version or delete
 * marker as a problem of that digest, so a rewrite is seen, never believed.
 */
import {
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  DIGEST_FORMAT,
  digestObjectKey,
  digestShapeProblems,
  toOfDigestKey,
  type AuditDigest,
  type DigestStorePort,
  type StoredDigest,
} from '../domain/audit-digest';

/** The folder digestObjectKey puts every digest in. */
const DIGEST_FOLDER = 'audit-digests/';

export interface S3DigestStoreOptions {
  client: S3Client;
  bucketName: string;
  /** Prepended to every key (e.g. `prod/`); none by default. */
  prefix?: string;
}

/** A put refused because a digest already exists under that key (S3 answered 412 to If-None-Match). */
export class DigestAlreadyExistsError extends Error {
  constructor(readonly key: string) {
    super(`a digest already exists at ${key}: digests are never overwritten`);
    this.name = 'DigestAlreadyExistsError';
  }
}

/** What ListObjectVersions says about one key. */
interface KeyHistory {
  key: string;
  /** Object versions, oldest first. */
  versions: { versionId: string; lastModified: number }[];
  deleteMarkers: { isLatest: boolean }[];
}

export class S3DigestStore implements DigestStorePort {
  private readonly client: S3Client;
  private readonly bucketName: string;
  private readonly prefix: string;

  constructor(options: S3DigestStoreOptions) {
    this.client = options.client;
    this.bucketName = options.bucketName;
    this.prefix = options.prefix ?? '';
  }

  /**
   * The newest digest that can be read (greatest key: keys sort by `to`), as first written; a key
   * hidden by a delete marker counts too. A damaged one is verify's to report, not a start to build on.
   */
  async latest(): Promise<AuditDigest | undefined> {
    const histories = (await this.histories()).filter((history) => history.versions.length > 0);
    for (const history of histories.reverse()) {
      const stored = await this.read(history);
      if (digestShapeProblems(stored.digest).length === 0) return stored.digest;
    }
    return undefined;
  }

  /**
   * If-None-Match: S3 refuses the put when the key exists, so two runs (or a replayed one) cannot
   * both write a window. The checksum is required by Object Lock buckets on every PutObject.
   */
  async put(digest: AuditDigest): Promise<void> {
    const key = this.keyOf(digest);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucketName,
          Key: key,
          Body: JSON.stringify(digest, null, 2),
          ContentType: 'application/json',
          IfNoneMatch: '*',
          ChecksumAlgorithm: 'SHA256',
        }),
      );
    } catch (error) {
      if (isPreconditionFailed(error)) throw new DigestAlreadyExistsError(key);
      throw error;
    }
  }

  /** Every digest whose `to` is after `since` (all when absent), oldest first, each read from its first version. */
  async list(since?: Date): Promise<StoredDigest[]> {
    const stored: StoredDigest[] = [];
    for (const history of await this.histories(since)) {
      const to = toOfDigestKey(history.key);
      if (since !== undefined && to !== undefined && Date.parse(to) <= since.getTime()) continue;
      // Only delete markers: no version left to read (Object Lock COMPLIANCE does not allow this state).
      if (history.versions.length === 0) continue;
      stored.push(await this.read(history));
    }
    return stored;
  }

  private keyOf(digest: AuditDigest): string {
    return `${this.prefix}${digestObjectKey(digest)}`;
  }

  /** Reads the oldest version of a key and says what else its history shows. */
  private async read(history: KeyHistory): Promise<StoredDigest> {
    const [first] = history.versions;
    const location = `s3://${this.bucketName}/${history.key}?versionId=${first.versionId}`;
    const problems: string[] = [];
    if (history.versions.length > 1) {
      problems.push(`rewritten: ${history.versions.length} versions (the first one written is the one read)`);
    }
    if (history.deleteMarkers.some((marker) => marker.isLatest)) problems.push('a delete marker hides it');
    else if (history.deleteMarkers.length > 0) problems.push('deleted (a delete marker) and written again');

    const response = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucketName, Key: history.key, VersionId: first.versionId }),
    );
    const body = (await response.Body?.transformToString('utf-8')) ?? '';
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (error) {
      return { digest: unreadable(history.key), location, problems: [...problems, `the object cannot be read as JSON (${(error as Error).message})`] };
    }
    const shape = digestShapeProblems(parsed);
    if (shape.length > 0) {
      return { digest: unreadable(history.key), location, problems: [...problems, ...shape.map((problem) => `it holds no valid digest: ${problem}`)] };
    }
    const digest = parsed as AuditDigest;
    if (`${this.prefix}${digestObjectKey(digest)}` !== history.key) {
      problems.push(`its key is not its window's end (${digest.to}): the object was copied or its content replaced`);
    }
    return { digest, location, problems };
  }

  /**
   * Every digest key's versions and delete markers, keys in ascending order (that is, by `to`).
   * With `since`, listing starts after the key a digest ending at `since` would have.
   */
  private async histories(since?: Date): Promise<KeyHistory[]> {
    const byKey = new Map<string, KeyHistory>();
    const historyOf = (key: string): KeyHistory => {
      let history = byKey.get(key);
      if (history === undefined) {
        history = { key, versions: [], deleteMarkers: [] };
        byKey.set(key, history);
      }
      return history;
    };
    const folder = `${this.prefix}${DIGEST_FOLDER}`;
    let keyMarker = since === undefined ? undefined : `${folder}${since.toISOString().replace(/:/g, '-')}.json`;
    let versionIdMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListObjectVersionsCommand({
          Bucket: this.bucketName,
          Prefix: folder,
          KeyMarker: keyMarker,
          VersionIdMarker: versionIdMarker,
        }),
      );
      for (const version of page.Versions ?? []) {
        if (version.Key === undefined || version.VersionId === undefined) continue;
        historyOf(version.Key).versions.push({
          versionId: version.VersionId,
          lastModified: version.LastModified?.getTime() ?? 0,
        });
      }
      for (const marker of page.DeleteMarkers ?? []) {
        if (marker.Key === undefined) continue;
        historyOf(marker.Key).deleteMarkers.push({ isLatest: marker.IsLatest === true });
      }
      if (page.IsTruncated !== true) break;
      keyMarker = page.NextKeyMarker;
      versionIdMarker = page.NextVersionIdMarker;
    }
    const histories = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    // S3 lists a key's versions newest first; oldest first here (a stable sort keeps S3's order reversed on ties).
    for (const history of histories) history.versions.reverse().sort((a, b) => a.lastModified - b.lastModified);
    return histories;
  }
}

/**
 * Stands for an object that holds no digest: dated by its key so it sorts where it lies, and with
 * no hash or window, so verify's shape check refuses to check records against it.
 */
function unreadable(key: string): AuditDigest {
  return { format: DIGEST_FORMAT, from: '', to: toOfDigestKey(key) ?? '', createdAt: '', previousDigestHash: null, entries: [], digestHash: '' };
}

function isPreconditionFailed(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return name === 'PreconditionFailed' || $metadata?.httpStatusCode === 412;
}
