/**
 * Jest helper: S3 has no local stand-in here (no Docker, no account), so the S3 calls of the digest
 * store are answered by aws-sdk-client-mock from this small model of one versioned bucket: every
 * PutObject adds a version (If-None-Match '*' refused with 412 while the key has a current object),
 * a delete adds a delete marker, GetObject reads any version, and ListObjectVersions lists keys in
 * order, each key's versions newest first, in pages, as S3 does. Enough for what the store calls;
 * not a model of Object Lock (which is the bucket's, tested in test/infra).
 */
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

interface Version {
  key: string;
  versionId: string;
  body?: string;
  deleteMarker: boolean;
  lastModified: Date;
}

export class MockVersionedBucket {
  readonly mock = mockClient(S3Client);
  private readonly versions: Version[] = [];
  private sequence = 0;
  /** Every PutObject input received, in order. */
  readonly puts: PutObjectCommandInput[] = [];

  constructor(
    readonly bucketName: string,
    /** Entries (versions and delete markers) per ListObjectVersions page: small, to exercise paging. */
    private readonly pageSize = 2,
  ) {
    this.mock.on(PutObjectCommand).callsFake((input: PutObjectCommandInput) => {
      this.checkBucket(input.Bucket);
      this.puts.push(input);
      const key = input.Key as string;
      if (input.IfNoneMatch === '*' && this.current(key) !== undefined) {
        throw new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 }, message: 'At least one of the pre-conditions you specified did not hold' });
      }
      return { VersionId: this.add(key, String(input.Body), false).versionId };
    });
    this.mock.on(GetObjectCommand).callsFake((input: { Bucket?: string; Key?: string; VersionId?: string }): Partial<GetObjectCommandOutput> => {
      this.checkBucket(input.Bucket);
      const version =
        input.VersionId === undefined
          ? this.current(input.Key as string)
          : this.versions.find((v) => v.key === input.Key && v.versionId === input.VersionId && !v.deleteMarker);
      if (version === undefined) {
        throw new S3ServiceException({ name: 'NoSuchKey', $fault: 'client', $metadata: { httpStatusCode: 404 }, message: 'The specified key does not exist.' });
      }
      const body = version.body as string;
      return { VersionId: version.versionId, Body: { transformToString: async () => body } as GetObjectCommandOutput['Body'] };
    });
    this.mock.on(ListObjectVersionsCommand).callsFake((input: { Bucket?: string; Prefix?: string; KeyMarker?: string; VersionIdMarker?: string }) => {
      this.checkBucket(input.Bucket);
      return this.listPage(input);
    });
  }

  /** Writes an object version directly, as someone else would (no If-None-Match). */
  putDirectly(key: string, body: string): string {
    return this.add(key, body, false).versionId;
  }

  /** A DeleteObject on a versioned bucket: a delete marker becomes the current version. */
  deleteDirectly(key: string): void {
    this.add(key, undefined, true);
  }

  /** The body of every object's current version, by key. */
  currentBodies(): Map<string, string> {
    const keys = [...new Set(this.versions.map((v) => v.key))].sort();
    const bodies = new Map<string, string>();
    for (const key of keys) {
      const current = this.current(key);
      if (current !== undefined) bodies.set(key, current.body as string);
    }
    return bodies;
  }

  restore(): void {
    this.mock.restore();
  }

  private add(key: string, body: string | undefined, deleteMarker: boolean): Version {
    this.sequence += 1;
    const version: Version = {
      key,
      versionId: `v${String(this.sequence).padStart(6, '0')}`,
      body,
      deleteMarker,
      // S3's LastModified has second precision: versions written within one second tie.
      lastModified: new Date(Date.UTC(2026, 11, 2, 0, 0, 0)),
    };
    this.versions.push(version);
    return version;
  }

  private current(key: string): Version | undefined {
    const newest = this.versions.filter((v) => v.key === key).at(-1);
    return newest === undefined || newest.deleteMarker ? undefined : newest;
  }

  private checkBucket(bucket: string | undefined): void {
    if (bucket !== this.bucketName) throw new Error(`unexpected bucket ${bucket}`);
  }

  /** Keys ascending, each key's versions newest first; paged after (KeyMarker, VersionIdMarker). */
  private listPage(input: { Prefix?: string; KeyMarker?: string; VersionIdMarker?: string }): Partial<ListObjectVersionsCommandOutput> {
    const prefix = input.Prefix ?? '';
    const ordered = this.versions
      .map((version, index) => ({ version, index }))
      .filter(({ version }) => version.key.startsWith(prefix))
      .sort((a, b) => (a.version.key < b.version.key ? -1 : a.version.key > b.version.key ? 1 : b.index - a.index))
      .map(({ version }) => version);
    let start = 0;
    if (input.KeyMarker !== undefined) {
      if (input.VersionIdMarker !== undefined) {
        start = ordered.findIndex((v) => v.key === input.KeyMarker && v.versionId === input.VersionIdMarker) + 1;
      } else {
        start = ordered.findIndex((v) => v.key > (input.KeyMarker as string));
        if (start === -1) start = ordered.length;
      }
    }
    const page = ordered.slice(start, start + this.pageSize);
    const truncated = start + this.pageSize < ordered.length;
    const last = page.at(-1);
    const newestOf = (v: Version) => this.versions.filter((other) => other.key === v.key).at(-1) === v;
    return {
      Versions: page
        .filter((v) => !v.deleteMarker)
        .map((v) => ({ Key: v.key, VersionId: v.versionId, IsLatest: newestOf(v), LastModified: v.lastModified })),
      DeleteMarkers: page
        .filter((v) => v.deleteMarker)
        .map((v) => ({ Key: v.key, VersionId: v.versionId, IsLatest: newestOf(v), LastModified: v.lastModified })),
      IsTruncated: truncated,
      ...(truncated && last !== undefined && { NextKeyMarker: last.key, NextVersionIdMarker: last.versionId }),
    };
  }
}
