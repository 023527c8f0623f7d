/**
 * npm run audit -- verify [--since T]: recomputes the audit trail against its digests (the chain
 * of hashes written where the functions cannot rewrite them: lambdas/domain/audit-digest.ts) and
 * names every record changed, removed or added after its digest, and every break in the chain.
 * Exit codes (cli/conventions.ts): 0 nothing found, 1 a finding (or the trail could not be read),
 * 2 usage error.
 */
import './quiet-sdk';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDbAuditItemSource } from '../lambdas/adapters/audit-item-source';
import { LOCAL_DIGEST_DIR, LocalDigestStore } from '../lambdas/adapters/local-digest-store';
import { S3DigestStore } from '../lambdas/adapters/s3-digest-store';
import { verifyTrail, type DigestStorePort, type FindingType, type VerifyFinding, type VerifyReport } from '../lambdas/domain/audit-digest';
import { chooseTarget, NoLocalPipelineError, openTarget, targetFailure, type OpenTarget, type TargetChoice } from './audit-target';
import { parseTime } from './conventions';
import { closest, EXIT, exitCodesHelp, parseCommandLine, projectVersion, runCommand, UsageError } from './conventions';
import { stackOutputs } from './stack';

const FORMATS = ['table', 'json'] as const;
type Format = (typeof FORMATS)[number];

const HELP = `Usage: npm run audit -- verify [--since T] [options]

Recomputes the audit trail against its digests and names every record changed, removed or
added after its digest. A digest lists every audit record of a time window (its key and the
SHA-256 of its content) and carries the hash of the digest before it, so the digests form one
chain (as CloudTrail's digest files do). They are kept where the functions cannot rewrite them:
an S3 bucket with Object Lock in AWS (one an hour), <local-dir>/${LOCAL_DIGEST_DIR} locally
(npm start writes them when a run ends).

Findings (each on its own line, with the record's pk, sk, kind, eventId and the digest):
  changed   a record whose content no longer matches its digest, or whose own contentHash
            no longer matches its content (also a record not digested yet)
  removed   a record its digest lists that is gone from the table (unless its expiresAt
            has passed: removed by retention, as configured, and only counted)
  added     a record dated inside a digested window that its digest does not list
  chain     a digest that was altered, one that does not follow the digest before it
            (its hash, a gap, an overlap), or what the store noticed (an S3 object
            rewritten or hidden by a delete marker, a file that is not a digest)
Only counted: records after the last digest (not digested yet), records without a
contentHash (written before records carried one), records before the first digest.

Options:
  --since T                 check only the digests ending after T (ISO-8601 or 30m, 24h, 7d)
                            and the chain from the first of them on
  --format table|json       output format (default table)
  --local-dir DIR           npm start's state directory (default <repo>/.local): its store and
                            its digests in DIR/${LOCAL_DIGEST_DIR}
  --dynamodb-endpoint URL   any other DynamoDB endpoint; needs --digest-dir DIR
  --digest-dir DIR          the directory of the digests (local targets)
  --stack NAME              a deployed stack: its AuditTableName and AuditDigestBucketName outputs
  --table NAME              the audit table of a deployed stack; needs --region and --digest-bucket
  --digest-bucket NAME      the S3 bucket of the digests (with --stack: instead of its output)
  --region R, --profile P   with --stack or --table: the AWS region and profile
  --page-size N             items per DynamoDB page (default: DynamoDB's own)
  -h, --help                this text
  --version                 the version

${exitCodesHelp({
  ok: 'no finding: every digested record is as its digest has it, and the chain is whole (also when there is no digest yet: the report then says "Nothing verified")',
  failed: 'a finding (a record changed, removed or added after its digest, or a break in the chain), or the trail or its digests could not be read',
  usage: 'a bad option or time; no local pipeline and no local store',
})}
`;

const OPTIONS = {
  since: { type: 'string' },
  format: { type: 'string' },
  table: { type: 'string' },
  region: { type: 'string' },
  'dynamodb-endpoint': { type: 'string' },
  'local-dir': { type: 'string' },
  'digest-dir': { type: 'string' },
  'digest-bucket': { type: 'string' },
  'page-size': { type: 'string' },
  stack: { type: 'string' },
  profile: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

/** Where the digests are read from, beside the audit table (chooseTarget). */
export type DigestLocation = { kind: 'directory'; directory: string } | { kind: 's3'; bucketName?: string; region?: string };

export interface VerifyRequest {
  since?: Date;
  format: Format;
  pageSize?: number;
  target: TargetChoice;
  digests: DigestLocation;
  profile?: string;
}

export function parseVerifyArgs(argv: string[], now: Date, env: NodeJS.ProcessEnv = process.env): VerifyRequest | 'help' | 'version' {
  const { values } = parseCommandLine(argv, OPTIONS, false);
  if (values.help) return 'help';
  if (values.version) return 'version';
  const since = values.since === undefined ? undefined : parseTime(values.since, now, '--since');
  if (since !== undefined && since.getTime() >= now.getTime()) throw new UsageError('--since must be before now');
  const format = values.format ?? 'table';
  if (!(FORMATS as readonly string[]).includes(format)) {
    const guess = closest(format, FORMATS);
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${format}"${guess ? ` (did you mean ${guess}?)` : ''}`);
  }
  let pageSize: number | undefined;
  if (values['page-size'] !== undefined) {
    if (!/^\d+$/.test(values['page-size']) || Number(values['page-size']) < 1) throw new UsageError(`--page-size must be a whole number >= 1, got "${values['page-size']}"`);
    pageSize = Number(values['page-size']);
  }
  const target = chooseTarget(values, env);
  return { since, format: format as Format, pageSize, target, digests: digestLocation(target, values), profile: values.profile };
}

function digestLocation(target: TargetChoice, values: { 'digest-dir'?: string; 'digest-bucket'?: string }): DigestLocation {
  const directory = values['digest-dir'];
  const bucketName = values['digest-bucket'];
  switch (target.kind) {
    case 'local':
      if (bucketName !== undefined) throw new UsageError('--digest-bucket goes with --stack or --table (a deployed stack)');
      return { kind: 'directory', directory: directory === undefined ? path.join(target.localDir, LOCAL_DIGEST_DIR) : path.resolve(directory) };
    case 'endpoint':
      if (bucketName !== undefined) throw new UsageError('--digest-bucket goes with --stack or --table (a deployed stack)');
      if (directory === undefined) throw new UsageError('--dynamodb-endpoint needs --digest-dir DIR: where the digests of that table are');
      return { kind: 'directory', directory: path.resolve(directory) };
    case 'stack':
      if (directory !== undefined) throw new UsageError('--digest-dir goes with --local-dir or --dynamodb-endpoint; a stack keeps its digests in S3 (--digest-bucket)');
      return { kind: 's3', bucketName, region: target.region };
    case 'aws':
      if (directory !== undefined) throw new UsageError('--digest-dir goes with --local-dir or --dynamodb-endpoint; a stack keeps its digests in S3 (--digest-bucket)');
      if (bucketName === undefined) throw new UsageError('--table needs --digest-bucket NAME (or name the stack with --stack: its AuditDigestBucketName output)');
      return { kind: 's3', bucketName, region: target.region };
  }
}

interface OpenStore {
  store: DigestStorePort;
  description: string;
  close(): void;
}

async function openDigestStore(location: DigestLocation, target: TargetChoice): Promise<OpenStore> {
  if (location.kind === 'directory') {
    return { store: new LocalDigestStore(location.directory), description: location.directory, close: () => undefined };
  }
  let bucketName = location.bucketName;
  if (bucketName === undefined && target.kind === 'stack') {
    bucketName = (await stackOutputs(target.stackName, target.region)).AuditDigestBucketName || undefined;
    if (bucketName === undefined) {
      throw new Error(`stack ${target.stackName} has no AuditDigestBucketName output: name the stack that holds the audit table (a version with audit digests), or the bucket with --digest-bucket`);
    }
  }
  const client = new S3Client({ ...(location.region && { region: location.region }) });
  return { store: new S3DigestStore({ client, bucketName: bucketName! }), description: `s3://${bucketName}/${LOCAL_DIGEST_DIR}/`, close: () => client.destroy() };
}

export async function verifyMain(argv: string[]): Promise<number> {
  const now = new Date();
  const request = parseVerifyArgs(argv, now); // a UsageError: exit 2 (runCommand)
  if (request === 'help') {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  if (request === 'version') {
    process.stdout.write(`${projectVersion()}\n`);
    return EXIT.ok;
  }
  if (request.profile !== undefined) process.env.AWS_PROFILE = request.profile;

  let target: OpenTarget | undefined;
  let digests: OpenStore | undefined;
  try {
    target = await openTarget(request.target);
    digests = await openDigestStore(request.digests, request.target);
    const source = new DynamoDbAuditItemSource({ client: target.client, tableName: target.tableName, pageSize: request.pageSize });
    const report = await verifyTrail({ source, store: digests.store }, { since: request.since, now });
    const context = { table: target.description, digests: digests.description };
    process.stdout.write(request.format === 'json' ? `${JSON.stringify({ ...context, ...report }, null, 2)}\n` : renderReport(report, context));
    return report.ok ? EXIT.ok : EXIT.failed;
  } catch (error) {
    if (error instanceof NoLocalPipelineError) {
      process.stderr.write(`audit verify: ${error.message}\n`);
      return EXIT.usage;
    }
    const failure = targetFailure(error, target);
    process.stderr.write(`audit verify: ${failure.message}\n`);
    return failure.exitCode;
  } finally {
    digests?.close();
    await target?.close();
  }
}


const LABEL: Record<FindingType, string> = { changed: 'CHANGED', removed: 'REMOVED', added: 'ADDED', chain: 'CHAIN' };

/** The human report: what was checked, each finding on one line, then what is only counted. */
export function renderReport(report: VerifyReport, context: { table: string; digests: string }): string {
  const lines: string[] = [`Audit trail ${context.table}, digests in ${context.digests}${report.since ? `, since ${report.since}` : ''}`];
  const { checked } = report;
  if (checked.digests === 0) {
    lines.push('No digests found: nothing to check the records against. npm start writes them when a run ends; in AWS the digester writes one an hour.');
  } else {
    lines.push(
      `Checked ${checked.digests} digest${plural(checked.digests)}` +
        (checked.from && checked.to ? ` covering ${checked.from} to ${checked.to}` : '') +
        `: ${checked.entries} digested record${plural(checked.entries)}, ${checked.records} record${plural(checked.records)} read.`,
    );
  }
  for (const finding of report.findings) lines.push(findingLine(finding));
  const counted = [
    [report.notYetDigested, `after the last digest${checked.to ? ` (${checked.to})` : ''}: not digested yet`],
    [report.withoutContentHash, 'without a contentHash: written before records carried one'],
    [report.beforeFirstDigest, 'before the first digest checked'],
    [report.expired, 'listed in a digest and gone after their expiresAt: removed by retention, as configured'],
  ] as const;
  for (const [count, what] of counted) if (count > 0) lines.push(`  ${count} record${plural(count)} ${what}`);
  if (report.ok && checked.digests === 0) lines.push(`Nothing verified: no digest in ${context.digests}.`);
  else if (report.ok) lines.push('OK: no record changed, removed or added after its digest; the chain of digests is whole.');
  else {
    const byType = (['changed', 'removed', 'added', 'chain'] as const)
      .map((type) => [type, report.findings.filter((f) => f.type === type).length] as const)
      .filter(([, count]) => count > 0)
      .map(([type, count]) => `${count} ${type === 'chain' ? `chain problem${plural(count)}` : type}`);
    lines.push(`FAILED: ${report.findings.length} finding${plural(report.findings.length)} (${byType.join(', ')}).`);
  }
  return `${lines.join('\n')}\n`;
}

function findingLine(finding: VerifyFinding): string {
  const record =
    finding.pk !== undefined
      ? ` pk=${finding.pk} sk=${finding.sk}${finding.kind ? ` kind=${finding.kind}` : ''}${finding.eventId !== undefined ? ` eventId=${finding.eventId}` : ''}`
      : '';
  return `${LABEL[finding.type].padEnd(7)}${record} digest=${finding.digest}: ${finding.detail}`;
}

function plural(count: number): string {
  return count === 1 ? '' : 's';
}

if (require.main === module) runCommand('audit verify', () => verifyMain(process.argv.slice(2)));
