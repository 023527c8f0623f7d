/**
 * `npm run audit -- verify --stack NAME` and `--table NAME --digest-bucket B`: the audit table is
 * the stack's AuditTableName output, the digests are in its AuditDigestBucketName bucket. The
 * table is real DynamoDB on dynalite (the SDK sent there by AWS_ENDPOINT_URL_DYNAMODB); S3 and
 * CloudFormation have no local stand-in here, so they are MOCKED in process with
 * aws-sdk-client-mock (S3 answered by the versioned-bucket model of test/support): nothing leaves
 * 127.0.0.1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { verifyMain } from '../../cli/audit-verify';
import { runCaptured, type CommandRun } from '../support/captured-command';
import { DynamoDbAuditItemSource } from '../../lambdas/adapters/audit-item-source';
import { DynamoDbAuditLog, toAuditItem, type AuditRecord } from '../../lambdas/adapters/dynamodb-audit-log';
import { S3DigestStore } from '../../lambdas/adapters/s3-digest-store';
import { writeDueDigests } from '../../lambdas/domain/audit-digest';
import { auditTrail } from '../audit/fixtures';
import { MockVersionedBucket } from '../support/mock-versioned-bucket';
import { useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const BUCKET = 'identity-provisioner-audit-digests-1a2b3c';
const STACK = 'IdentityProvisionerState';
const STACK_WITHOUT_DIGESTS = 'IdentityProvisionerOld';
const REGION = 'eu-west-1';
const ENV_NAMES = ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_PROFILE'] as const;

let bucket: MockVersionedBucket;

/** The fixture's trail spans 2024-05-01 to 2024-05-05 (UTC): moved by whole days, its last day ends at today's midnight. */
const DAY_MS = 86_400_000;
const FIXTURE_START = Date.parse('2024-05-01T00:00:00.000Z');
const SHIFT_MS = (Math.floor(Date.now() / DAY_MS) - 4) * DAY_MS - FIXTURE_START;
const day = (n: number) => new Date(FIXTURE_START + SHIFT_MS + n * DAY_MS);
const shifted = (time: string) => new Date(Date.parse(time) + SHIFT_MS).toISOString();
function trail(): AuditRecord[] {
  return auditTrail().map((record) => ({
    ...record,
    at: shifted(record.at),
    ...('receivedAt' in record && record.receivedAt !== undefined && { receivedAt: shifted(record.receivedAt) }),
  })) as AuditRecord[];
}
const cloudFormation = mockClient(CloudFormationClient);
const savedEnv: Partial<Record<(typeof ENV_NAMES)[number], string>> = {};
let home: string;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'audit-verify-stack-'));
  for (const name of ENV_NAMES) savedEnv[name] = process.env[name];
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.current.endpoint,
    AWS_ACCESS_KEY_ID: 'AKIAOPERATOR0000001',
    AWS_SECRET_ACCESS_KEY: 'not-checked',
    AWS_CONFIG_FILE: join(home, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
  });
  delete process.env.AWS_PROFILE;
  cloudFormation.on(DescribeStacksCommand).callsFake((input: { StackName?: string }) => ({
    Stacks: [
      {
        StackName: input.StackName,
        CreationTime: new Date('2026-11-01T00:00:00Z'),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [
          { OutputKey: 'AuditTableName', OutputValue: dynamo.current.tables.audit },
          ...(input.StackName === STACK ? [{ OutputKey: 'AuditDigestBucketName', OutputValue: BUCKET }] : []),
        ],
      },
    ],
  }));

  // The trail as the functions write it, and its digests as the digester writes them (a day each
  // here), moved by whole days to end today: verify reads every day from the first digest to now.
  const log = new DynamoDbAuditLog({ client: dynamo.current.client, tableName: dynamo.current.tables.audit, retentionDays: 0 });
  for (const record of trail()) await log.append(record);
  bucket = new MockVersionedBucket(BUCKET);
  await writeDueDigests(
    { source: new DynamoDbAuditItemSource({ client: dynamo.current.client, tableName: dynamo.current.tables.audit }), store: new S3DigestStore({ client: new S3Client({ region: REGION }), bucketName: BUCKET }) },
    { genesis: day(0), until: day(4), maxWindowMs: 86_400_000, now: new Date(day(4).getTime() + 20 * 60_000) },
  );
  expect(bucket.puts).toHaveLength(4);
});

afterAll(() => {
  bucket.restore();
  cloudFormation.restore();
  for (const name of ENV_NAMES) {
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
  }
  rmSync(home, { recursive: true, force: true });
});

function verify(...args: string[]): Promise<CommandRun> {
  return runCaptured(() => verifyMain(args));
}

it('--stack: reads the table and the digest bucket the stack names, and passes on the untouched trail', async () => {
  const result = await verify('--stack', STACK, '--region', REGION);
  expect(result.stderr).toBe('');
  expect(result.stdout).toContain(`digests in s3://${BUCKET}/audit-digests/`);
  expect(result.stdout).toContain(`Checked 4 digests covering ${day(0).toISOString()} to ${day(4).toISOString()}: 67 digested records, 67 records read.`);
  expect(result.code).toBe(0);
  expect(cloudFormation.commandCalls(DescribeStacksCommand).map((call) => call.args[0].input.StackName)).toContain(STACK);
});

it('a stack without the AuditDigestBucketName output: says so, exit 1; --digest-bucket names the bucket instead', async () => {
  const missing = await verify('--stack', STACK_WITHOUT_DIGESTS, '--region', REGION);
  expect(missing).toMatchObject({ code: 1, stdout: '', stderr: expect.stringContaining(`stack ${STACK_WITHOUT_DIGESTS} has no AuditDigestBucketName output`) });
  const named = await verify('--stack', STACK_WITHOUT_DIGESTS, '--region', REGION, '--digest-bucket', BUCKET);
  expect(named.code).toBe(0);
});

it('--table with --digest-bucket: names a record deleted from the table, with the S3 object of its digest', async () => {
  const deleted = toAuditItem(trail()[3]!);
  await dynamo.current.documentClient.send(new DeleteCommand({ TableName: dynamo.current.tables.audit, Key: { pk: deleted.pk, sk: deleted.sk } }));
  const result = await verify('--table', dynamo.current.tables.audit, '--region', REGION, '--digest-bucket', BUCKET, '--format', 'json');
  expect(result.code).toBe(1);
  const report = JSON.parse(result.stdout) as { ok: boolean; digests: string; findings: { type: string; pk: string; sk: string; digest: string }[] };
  expect(report.digests).toBe(`s3://${BUCKET}/audit-digests/`);
  expect(report.findings).toEqual([
    expect.objectContaining({ type: 'removed', pk: deleted.pk, sk: deleted.sk, digest: expect.stringMatching(new RegExp(`^s3://${BUCKET}/audit-digests/(${day(1).toISOString().slice(0, 10)}|${day(2).toISOString().slice(0, 10)})T00-00-00.000Z.json\\?versionId=`)) }),
  ]);
});
