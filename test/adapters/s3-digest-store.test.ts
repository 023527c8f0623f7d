/**
 * The S3 digest store (lambdas/adapters/s3-digest-store.ts). There is no local S3 stand-in in this
 * project (no Docker, no account), so its S3 calls are MOCKED with aws-sdk-client-mock, answered
 * by a small model of a versioned bucket (test/support/mock-versioned-bucket.ts). What the tests
 * prove is what the store asks of S3 and how it reads S3's answers: a put refuses to overwrite and
 * carries the checksum Object Lock requires; a listing reads each key's first version and reports
 * a rewrite or a delete marker; latest is the greatest key. Object Lock itself is the bucket's
 * (test/infra/audit-digests.test.ts).
 */
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { DigestAlreadyExistsError, S3DigestStore } from '../../lambdas/adapters/s3-digest-store';
import { buildDigest, type AuditDigest } from '../../lambdas/domain/audit-digest';
import { MockVersionedBucket } from '../support/mock-versioned-bucket';

const BUCKET = 'digests-bucket';
const HOUR = 3_600_000;
const T0 = Date.parse('2026-12-02T03:00:00.000Z');

function item(at: number, n: number): Record<string, unknown> {
  return { pk: `EVENT#e-${n}`, sk: `${new Date(at).toISOString()}#OUTCOME#0001`, kind: 'OUTCOME', outcome: 'APPLIED' };
}

/** Three chained hourly digests from T0, one record each. */
function chain(): AuditDigest[] {
  const digests: AuditDigest[] = [];
  for (let hour = 0; hour < 3; hour++) {
    const from = new Date(T0 + hour * HOUR);
    const to = new Date(T0 + (hour + 1) * HOUR);
    digests.push(buildDigest([item(from.getTime() + 60_000, hour)], { from, to }, digests.at(-1), new Date(to.getTime() + 25 * 60_000)));
  }
  return digests;
}

describe('S3DigestStore (S3 mocked: aws-sdk-client-mock over a versioned-bucket model)', () => {
  let bucket: MockVersionedBucket;
  let store: S3DigestStore;

  beforeEach(() => {
    bucket = new MockVersionedBucket(BUCKET);
    store = new S3DigestStore({ client: new S3Client({ region: 'eu-west-1' }), bucketName: BUCKET });
  });
  afterEach(() => bucket.restore());

  it('puts a digest under audit-digests/<to>.json with If-None-Match, a SHA-256 checksum and JSON', async () => {
    const [digest] = chain();
    await store.put(digest);
    expect(bucket.puts).toHaveLength(1);
    expect(bucket.puts[0]).toMatchObject({
      Bucket: BUCKET,
      Key: 'audit-digests/2026-12-02T04-00-00.000Z.json',
      IfNoneMatch: '*',
      ChecksumAlgorithm: 'SHA256',
      ContentType: 'application/json',
    });
    expect(JSON.parse(String(bucket.puts[0].Body))).toEqual(digest);
  });

  it('refuses to overwrite: a second put of the same window is an error, and S3 keeps one version', async () => {
    const [digest] = chain();
    await store.put(digest);
    const again = { ...digest, createdAt: '2026-12-02T05:00:00.000Z' };
    await expect(store.put(again)).rejects.toBeInstanceOf(DigestAlreadyExistsError);
    const listed = await store.list();
    expect(listed).toEqual([{ digest, location: expect.stringContaining('audit-digests/2026-12-02T04-00-00.000Z.json'), problems: [] }]);
  });

  it('puts under the prefix when one is given', async () => {
    const prefixed = new S3DigestStore({ client: new S3Client({ region: 'eu-west-1' }), bucketName: BUCKET, prefix: 'prod/' });
    const [digest] = chain();
    await prefixed.put(digest);
    expect(bucket.puts[0].Key).toBe('prod/audit-digests/2026-12-02T04-00-00.000Z.json');
    expect((await prefixed.list()).map((stored) => stored.digest)).toEqual([digest]);
    expect(await store.list()).toEqual([]);
  });

  it('lists every digest oldest first, through several pages, with no problems when untouched', async () => {
    const digests = chain();
    for (const digest of digests) await store.put(digest);
    const listed = await store.list();
    expect(listed.map((stored) => stored.digest)).toEqual(digests);
    expect(listed.map((stored) => stored.problems)).toEqual([[], [], []]);
    // 3 keys, 2 entries a page in the model: the store followed the markers to the second page.
    expect(bucket.mock.commandCalls(ListObjectVersionsCommand)).toHaveLength(2);
  });

  it('reads the FIRST version of a rewritten key and reports the rewrite', async () => {
    const digests = chain();
    for (const digest of digests) await store.put(digest);
    const key = 'audit-digests/2026-12-02T05-00-00.000Z.json';
    const forged = { ...digests[1], entries: [] };
    bucket.putDirectly(key, JSON.stringify(forged));
    bucket.putDirectly(key, JSON.stringify(forged));

    const listed = await store.list();
    const rewritten = listed.find((stored) => stored.location.includes(key));
    expect(rewritten?.digest).toEqual(digests[1]);
    expect(rewritten?.location).toMatch(/versionId=v0+2$/);
    expect(rewritten?.problems).toEqual(['rewritten: 3 versions (the first one written is the one read)']);
    expect(listed.filter((stored) => stored !== rewritten).map((stored) => stored.problems)).toEqual([[], []]);
  });

  it('reports a key hidden by a delete marker, and still reads the digest under it', async () => {
    const digests = chain();
    for (const digest of digests) await store.put(digest);
    bucket.deleteDirectly('audit-digests/2026-12-02T04-00-00.000Z.json');
    const listed = await store.list();
    expect(listed[0]).toEqual({ digest: digests[0], location: expect.any(String), problems: ['a delete marker hides it'] });
    expect(listed[1].problems).toEqual([]);
  });

  it('reports an object whose key is not its window end, and one that holds no digest, without failing', async () => {
    const digests = chain();
    await store.put(digests[0]);
    bucket.putDirectly('audit-digests/2026-12-02T05-00-00.000Z.json', JSON.stringify(digests[0]));
    bucket.putDirectly('audit-digests/2026-12-02T06-00-00.000Z.json', 'not json');
    const listed = await store.list();
    expect(listed[1].problems).toEqual([expect.stringContaining("its key is not its window's end (2026-12-02T04:00:00.000Z)")]);
    expect(listed[2].digest.to).toBe('2026-12-02T06:00:00.000Z');
    expect(listed[2].problems).toEqual([expect.stringContaining('cannot be read as JSON')]);
  });

  it('lists only the digests ending after `since`', async () => {
    const digests = chain();
    for (const digest of digests) await store.put(digest);
    const since = new Date(digests[0].to);
    expect((await store.list(since)).map((stored) => stored.digest.to)).toEqual([digests[1].to, digests[2].to]);
    expect((await store.list(new Date(digests[2].to))).map((stored) => stored.digest.to)).toEqual([]);
  });

  it('latest is the digest with the greatest key (read from its first version), undefined when there is none', async () => {
    expect(await store.latest()).toBeUndefined();
    const digests = chain();
    // Written out of order: the store goes by key, not by when an object was written.
    for (const digest of [digests[2], digests[0], digests[1]]) await store.put(digest);
    expect(await store.latest()).toEqual(digests[2]);
    bucket.putDirectly('audit-digests/2026-12-02T06-00-00.000Z.json', JSON.stringify({ ...digests[2], entries: [] }));
    expect(await store.latest()).toEqual(digests[2]);
  });

  it('latest skips a newest object that holds no digest', async () => {
    const digests = chain();
    await store.put(digests[0]);
    bucket.putDirectly('audit-digests/2026-12-02T05-00-00.000Z.json', '{"format":"something else"}');
    expect(await store.latest()).toEqual(digests[0]);
  });
});
