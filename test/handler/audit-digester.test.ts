/**
 * The deployed audit digester's handler (lambdas/handlers/audit-digester.ts), configured by the
 * variables the stack sets, reading a real audit table (dynalite on 127.0.0.1, real DynamoDB
 * client) and writing to S3. There is no local S3 stand-in, so S3 is MOCKED with
 * aws-sdk-client-mock over a versioned-bucket model (test/support/mock-versioned-bucket.ts).
 *
 * Runs are started at chosen times (the runtime's clock), not the wall clock, except the last test,
 * which goes through the exported middy handler and asserts nothing that depends on the hour.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { auditContentHash } from '../../lambdas/domain/canonical-hash';
import type { AuditDigest } from '../../lambdas/domain/audit-digest';
import { METRIC } from '../../lambdas/shared/telemetry';
import { createLambdaContext } from '../../local/lambda/context';
import { MockVersionedBucket } from '../support/mock-versioned-bucket';
import { useDynalite } from '../support/dynalite';

type DigesterModule = typeof import('../../lambdas/handlers/audit-digester');

const BUCKET = 'audit-digests-test';
const HOUR = 3_600_000;
const MINUTE = 60_000;
const dynamo = useDynalite();
const saved = { ...process.env };
let digester: DigesterModule;
let bucket: MockVersionedBucket;

/** A record as the consumer writes it: dated by its sk, in byDay, with its content hash. */
async function putRecord(at: Date, id: string): Promise<{ pk: string; sk: string }> {
  const item: Record<string, unknown> = {
    pk: `EVENT#${id}`,
    sk: `${at.toISOString()}#OUTCOME#0001`,
    kind: 'OUTCOME',
    eventId: id,
    outcome: 'APPLIED',
    day: at.toISOString().slice(0, 10),
  };
  item.contentHash = auditContentHash(item);
  await dynamo.current.documentClient.send(new PutCommand({ TableName: dynamo.current.tables.audit, Item: item }));
  return { pk: item.pk as string, sk: item.sk as string };
}

/** A context whose remaining time is always ample, or follows `remaining` call by call. */
function contextWith(remaining: number[] | number): Pick<Context, 'getRemainingTimeInMillis'> {
  const answers = Array.isArray(remaining) ? [...remaining] : undefined;
  return { getRemainingTimeInMillis: () => (answers === undefined ? (remaining as number) : (answers.shift() ?? 0)) };
}

function runtimeAt(iso: string) {
  return digester.createDigesterRuntime(process.env, { now: () => new Date(iso) });
}

function writtenDigests(): AuditDigest[] {
  return [...bucket.currentBodies().values()].map((body) => JSON.parse(body) as AuditDigest);
}

const keysOf = (digest: AuditDigest) => digest.entries.map(({ pk, sk }) => ({ pk, sk }));

beforeAll(() => {
  Object.assign(process.env, {
    AUDIT_TABLE_NAME: dynamo.current.tables.audit,
    AUDIT_DIGEST_BUCKET_NAME: BUCKET,
    AUDIT_DIGEST_SETTLE_MINUTES: '20',
    AUDIT_DIGEST_WINDOW_MINUTES: '60',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.current.endpoint,
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  bucket = new MockVersionedBucket(BUCKET);
  digester = require('../../lambdas/handlers/audit-digester') as DigesterModule;
});

afterAll(() => {
  bucket.restore();
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

describe('the audit digester (real DynamoDB on dynalite, S3 mocked)', () => {
  const records: Record<string, { pk: string; sk: string }> = {};

  beforeAll(async () => {
    records.before = await putRecord(new Date('2026-12-02T03:10:00.000Z'), 'before-the-chain');
    records.five = await putRecord(new Date('2026-12-02T05:10:00.000Z'), 'five');
    records.fiveLate = await putRecord(new Date('2026-12-02T05:59:59.999Z'), 'five-late');
    records.six = await putRecord(new Date('2026-12-02T06:30:00.000Z'), 'six');
    records.eight = await putRecord(new Date('2026-12-02T08:50:00.000Z'), 'eight');
    records.nine = await putRecord(new Date('2026-12-02T09:10:00.000Z'), 'nine');
  });

  it('first run: starts the chain with the last settled hour, nothing before it', async () => {
    const summary = await runtimeAt('2026-12-02T06:25:00.000Z').invoke(contextWith(900_000));
    expect(summary).toEqual({
      until: '2026-12-02T06:00:00.000Z',
      written: 1,
      firstKey: 'audit-digests/2026-12-02T06-00-00.000Z.json',
      lastKey: 'audit-digests/2026-12-02T06-00-00.000Z.json',
      lastTo: '2026-12-02T06:00:00.000Z',
      caughtUp: true,
    });
    const [digest] = writtenDigests();
    expect(digest).toMatchObject({ from: '2026-12-02T05:00:00.000Z', to: '2026-12-02T06:00:00.000Z', previousDigestHash: null });
    expect(keysOf(digest)).toEqual([records.five, records.fiveLate]);
  });

  it('a second run in the same hour writes nothing new', async () => {
    const summary = await runtimeAt('2026-12-02T06:40:00.000Z').invoke(contextWith(900_000));
    expect(summary).toEqual({ until: '2026-12-02T06:00:00.000Z', written: 0, caughtUp: true });
    expect(writtenDigests()).toHaveLength(1);
  });

  it('an hour is not digested before it has settled (20 minutes after its end)', async () => {
    // 07:15: the hour 06:00-07:00 ended 15 minutes ago; its records may still be arriving.
    const summary = await runtimeAt('2026-12-02T07:15:00.000Z').invoke(contextWith(900_000));
    expect(summary).toMatchObject({ until: '2026-12-02T06:00:00.000Z', written: 0 });
    expect(writtenDigests().map((digest) => digest.to)).toEqual(['2026-12-02T06:00:00.000Z']);
  });

  it('stops when the invocation runs low on time, and the next run continues the chain', async () => {
    // 09:25 after an outage: 06-07, 07-08 and 08-09 are due. Time for one window, then less than a minute.
    const stopped = await runtimeAt('2026-12-02T09:25:00.000Z').invoke(contextWith([120_000, 59_999]));
    expect(stopped).toMatchObject({ until: '2026-12-02T09:00:00.000Z', written: 1, lastTo: '2026-12-02T07:00:00.000Z', caughtUp: false });

    const resumed = await runtimeAt('2026-12-02T09:30:00.000Z').invoke(contextWith(900_000));
    expect(resumed).toMatchObject({ until: '2026-12-02T09:00:00.000Z', written: 2, lastTo: '2026-12-02T09:00:00.000Z', caughtUp: true });
  });

  it('the digests form one chain of whole hours, each listing exactly its records (09:10 not settled yet)', () => {
    const digests = writtenDigests();
    expect(digests.map((digest) => [digest.from, digest.to])).toEqual([
      ['2026-12-02T05:00:00.000Z', '2026-12-02T06:00:00.000Z'],
      ['2026-12-02T06:00:00.000Z', '2026-12-02T07:00:00.000Z'],
      ['2026-12-02T07:00:00.000Z', '2026-12-02T08:00:00.000Z'],
      ['2026-12-02T08:00:00.000Z', '2026-12-02T09:00:00.000Z'],
    ]);
    for (let i = 1; i < digests.length; i++) expect(digests[i].previousDigestHash).toBe(digests[i - 1].digestHash);
    expect(digests.map(keysOf)).toEqual([[records.five, records.fiveLate], [records.six], [], [records.eight]]);
    expect(digests.flatMap(keysOf)).not.toContainEqual(records.nine);
    // Every put asked S3 not to overwrite.
    expect(bucket.puts.every((put) => put.IfNoneMatch === '*' && put.ChecksumAlgorithm === 'SHA256')).toBe(true);
  });
});

describe('the exported handler (middy, Powertools), on the wall clock', () => {
  it('writes the digests due and emits DigestsWritten', async () => {
    bucket.restore();
    const fresh = new MockVersionedBucket(BUCKET);
    try {
      // Around the last settled hour end as the handler will compute it: one record each side of it.
      const until = Math.floor((Date.now() - 20 * MINUTE) / HOUR) * HOUR;
      const before = await putRecord(new Date(until - 30 * MINUTE), 'wall-before');
      const after = await putRecord(new Date(until + 30 * MINUTE), 'wall-after');
      const lines: string[] = [];
      const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        lines.push(...String(chunk).split('\n'));
        return true;
      });
      let summary: Awaited<ReturnType<typeof digester.handler>>;
      try {
        const context = createLambdaContext({ functionName: 'audit-digester', region: 'eu-west-1', accountId: '123456789012', memoryLimitInMB: 512, deadline: Date.now() + 15 * MINUTE });
        summary = await digester.handler({}, context);
      } finally {
        write.mockRestore();
      }
      expect(summary).toMatchObject({ written: 1, caughtUp: true });
      const [digest] = [...fresh.currentBodies().values()].map((body) => JSON.parse(body) as AuditDigest);
      expect(digest.to).toBe(summary.until);
      // Exactly the records of its window: `before`, or `after` if an hour ended while the test ran.
      const inWindow = [before, after].filter(({ sk }) => sk >= digest.from && sk < digest.to);
      expect(inWindow).toHaveLength(1);
      expect(keysOf(digest).filter(({ pk }) => pk.startsWith('EVENT#wall-'))).toEqual(inWindow);
      const emf = lines.flatMap((line) => {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          return parsed._aws === undefined ? [] : [parsed];
        } catch {
          return [];
        }
      });
      expect(emf.map((entry) => entry[METRIC.digestsWritten])).toContain(1);
    } finally {
      fresh.restore();
    }
  });
});
