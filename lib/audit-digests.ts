/**
 * Tamper evidence for the audit trail, deployed: every hour a digester function writes the digest
 * of the last settled hour of the audit table (each record's key and content hash, chained to the
 * digest before: lambdas/domain/audit-digest.ts) to an S3 bucket that nobody can rewrite.
 *
 *   EventBridge Scheduler, hourly at minute 25 (its own role: lambda:InvokeFunction on this function only)
 *     -> digester function: Query on the audit table's byDay index, one PutObject per settled hour
 *          -> digest bucket: versioned, Object Lock COMPLIANCE (auditDigestRetentionDays), retained
 *             when the stack is deleted; its policy lets only the digester role put objects, only new
 *             keys (If-None-Match), and denies every delete and unlock
 *
 * Split like the rest of the app: the bucket and the digester's role (the bucket policy names it),
 * with the role's rights on the bucket, live in the stateful half (AuditDigestBucket, in
 * IdentityProvisionerState); the function, its schedule and the role's other permissions live in
 * the stateless half (AuditDigester, in IdentityProvisioner), which imports the role by name as it
 * does the consumer's and drift's.
 */
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { AnyPrincipal, Effect, type IRole, PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  type IBucket,
  ObjectLockRetention,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { type ISchedule, type IScheduleTarget, Schedule, ScheduleExpression, type ScheduleTargetConfig } from 'aws-cdk-lib/aws-scheduler';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { DIGESTER_RUNTIME_ENV_KEYS, type DigesterRuntimeConfig } from '../lambdas/shared/config';
import { schedulerRole, ServiceFunction, type ServiceFunctionProps } from './provisioner-function';

/** The handler is someone else's code; this construct only points at it. */
export const AUDIT_DIGESTER_ENTRY = path.join(__dirname, '..', 'lambdas', 'handlers', 'audit-digester.ts');

/** Hourly, 25 minutes past (UTC): the hour before has settled by then. */
export const AUDIT_DIGEST_SCHEDULE = 'cron(25 * * * ? *)';
/**
 * A record dated T can reach the table up to the consumer's timeout (at most 15 minutes) after T:
 * a window is digested only this long after it ends. Less than the schedule's 25 minutes, so each
 * run digests the hour that has just ended.
 */
export const AUDIT_DIGEST_SETTLE_MINUTES = 20;
/** One digest per hour. */
export const AUDIT_DIGEST_WINDOW_MINUTES = 60;
/** A run normally takes seconds; after an outage it catches up hour by hour for as long as this allows. */
export const AUDIT_DIGESTER_TIMEOUT = Duration.minutes(15);

/** What the digester does to the digest objects: write new ones, read them back (any version). */
export const DIGEST_OBJECT_ACTIONS = ['s3:PutObject', 's3:GetObject', 's3:GetObjectVersion'] as const;
/** Listing keys and their versions (a rewrite shows as a second version, a delete as a marker). */
export const DIGEST_BUCKET_ACTIONS = ['s3:ListBucket', 's3:ListBucketVersions'] as const;
/**
 * Object-level changes nobody may make, administrators included: removing a digest or a version,
 * shortening or lifting its lock. Object Lock COMPLIANCE refuses most of these by itself; the
 * bucket policy says so in one place. Bucket-level settings (the policy, the lock configuration)
 * stay with the deployer: denying them would lock CloudFormation out of its own bucket.
 */
export const DIGEST_DENIED_OBJECT_ACTIONS = [
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:PutObjectRetention',
  's3:PutObjectLegalHold',
  's3:BypassGovernanceRetention',
] as const;

export interface AuditDigestBucketProps {
  /** Object Lock COMPLIANCE default retention of every digest (a validated auditDigestRetentionDays). */
  readonly retentionDays: number;
}

/**
 * The stateful half: the digest bucket, its access-log bucket and the digester's role (trusted by
 * Lambda, with its rights on the bucket; the rest is attached by the stateless half). Both buckets are kept when the
 * stack is deleted, whatever removalPolicy says: the digests are the evidence that the audit trail
 * was not changed, and Object Lock would refuse to empty the bucket anyway.
 */
export class AuditDigestBucket extends Construct {
  public readonly bucket: Bucket;
  /** Server access logs of the digest bucket: who read, wrote or tried to. */
  public readonly accessLogsBucket: Bucket;
  /** The only principal the bucket lets put objects. */
  public readonly digesterRole: Role;

  constructor(scope: Construct, id: string, props: AuditDigestBucketProps) {
    super(scope, id);
    // Access logs delivered under a bucket policy (not the log-delivery ACL, which ObjectOwnership
    // BUCKET_OWNER_ENFORCED disables), whatever the consuming app's cdk.json says.
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);

    // S3-managed keys, not the app's customer managed key: a digest must stay readable after the
    // key is gone (removalPolicy destroy schedules its deletion), and the access-log target must be SSE-S3.
    const common = {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    };
    this.accessLogsBucket = new Bucket(this, 'AccessLogs', {
      ...common,
      lifecycleRules: [{ expiration: Duration.days(props.retentionDays) }],
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        "This is the digest bucket's server access log bucket: logging it would need another log bucket, and so on. " +
        'Only S3 log delivery writes to it (its bucket policy).',
    });

    this.bucket = new Bucket(this, 'Bucket', {
      ...common,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention: ObjectLockRetention.compliance(Duration.days(props.retentionDays)),
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'digest-bucket/',
    });

    // The role's rights on the bucket are stated here, with the bucket, as an inline policy: the rest
    // (the audit table, the key, its logs) is attached by the stateless half, like the other roles'.
    this.digesterRole = new Role(this, 'DigesterRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'identity-provisioner audit digester: writes the audit digests (its other permissions are attached by the stateless stack)',
      inlinePolicies: { DigestBucket: new PolicyDocument({ statements: digesterBucketStatements(this.bucket) }) },
    });
    const bucketLogicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket);
    Validations.of(this.digesterRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/*]`,
      reason: 'Every object of the digest bucket: one per hour, named by its time (audit-digests/<to>.json), not known in advance.',
    });

    for (const statement of digestBucketStatements(this.bucket.arnForObjects('*'), this.digesterRole.roleArn)) {
      this.bucket.addToResourcePolicy(statement);
    }
  }
}

/** Put, read and list the digests: no delete, no retention change. */
export function digesterBucketStatements(bucket: IBucket): PolicyStatement[] {
  return [
    new PolicyStatement({ actions: [...DIGEST_OBJECT_ACTIONS], resources: [bucket.arnForObjects('*')] }),
    new PolicyStatement({ actions: [...DIGEST_BUCKET_ACTIONS], resources: [bucket.bucketArn] }),
  ];
}

/**
 * The digest bucket's own rules, on top of Object Lock: explicit Denies, which win over any Allow
 * in any IAM policy of this account.
 */
export function digestBucketStatements(objectsArn: string, digesterRoleArn: string): PolicyStatement[] {
  const everyone = [new AnyPrincipal()];
  return [
    new PolicyStatement({
      sid: 'OnlyTheDigesterWrites',
      effect: Effect.DENY,
      principals: everyone,
      actions: ['s3:PutObject'],
      resources: [objectsArn],
      conditions: { ArnNotEquals: { 'aws:PrincipalArn': digesterRoleArn } },
    }),
    new PolicyStatement({
      sid: 'DigestsAreNeverOverwritten',
      effect: Effect.DENY,
      principals: everyone,
      actions: ['s3:PutObject'],
      resources: [objectsArn],
      // Every put must carry If-None-Match (S3 then refuses an existing key): a new version of a digest cannot even be attempted.
      conditions: { Null: { 's3:if-none-match': 'true' } },
    }),
    new PolicyStatement({
      sid: 'DigestsAreNeverDeletedOrUnlocked',
      effect: Effect.DENY,
      principals: everyone,
      actions: [...DIGEST_DENIED_OBJECT_ACTIONS],
      resources: [objectsArn],
    }),
  ];
}

type DigesterEnvKey = keyof DigesterRuntimeConfig;

/** The digester function: the service's function defaults; a failed run is retried by Lambda, then by the next hour's run. */
export class AuditDigesterFunction extends ServiceFunction<DigesterEnvKey> {
  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id, props, {
      entry: AUDIT_DIGESTER_ENTRY,
      runtimeEnvKeys: DIGESTER_RUNTIME_ENV_KEYS,
      contract: 'the audit digester configuration (digesterRuntimeConfigSchema, lambdas/shared/config.ts)',
      description: 'identity-provisioner audit digester: writes an hourly digest of the audit trail to the Object Lock bucket',
    });
    Validations.of(this).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'A failed scheduled run leaves nothing to redrive: the next hourly run starts from the newest digest in the ' +
        'bucket and writes every window still due. Failures raise the AuditDigesterErrors alarm, and a missing digest ' +
        'the AuditDigestsStale alarm.',
    });
  }

  /** Query on the byDay index only (not the table, not the other indexes); Decrypt through DynamoDB only. */
  public bindAuditTable(table: ITable, key: IKey): void {
    this.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${table.tableArn}/index/byDay`] }));
    // The table is encrypted with the customer managed key: reading it needs Decrypt, here only through DynamoDB.
    this.addToRolePolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt', 'kms:DescribeKey'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
    this.setRuntimeEnv('AUDIT_TABLE_NAME', table.tableName);
  }

  /** Where the digests go. The role's rights there come with the bucket (AuditDigestBucket's inline policy). */
  public useDigestBucket(bucket: IBucket): void {
    this.setRuntimeEnv('AUDIT_DIGEST_BUCKET_NAME', bucket.bucketName);
  }
}

export interface AuditDigesterProps {
  /** The digester's role, imported from the stateful half (the bucket policy names it). */
  readonly role: IRole;
  /** Encrypts the function's log group; the audit table is encrypted with it too. */
  readonly key: IKey;
  readonly auditTable: ITable;
  readonly bucket: IBucket;
}

/** The stateless half: the function and its hourly schedule. */
export class AuditDigester extends Construct {
  public readonly function: AuditDigesterFunction;
  public readonly schedule: Schedule;
  /** The role Scheduler invokes the function with. */
  public readonly schedulerRole: Role;

  constructor(scope: Construct, id: string, props: AuditDigesterProps) {
    super(scope, id);

    this.function = new AuditDigesterFunction(this, 'Function', {
      role: props.role,
      key: props.key,
      timeout: AUDIT_DIGESTER_TIMEOUT,
    });
    const fn = this.function;
    fn.bindAuditTable(props.auditTable, props.key);
    fn.useDigestBucket(props.bucket);
    fn.setRuntimeEnv('AUDIT_DIGEST_SETTLE_MINUTES', String(AUDIT_DIGEST_SETTLE_MINUTES));
    fn.setRuntimeEnv('AUDIT_DIGEST_WINDOW_MINUTES', String(AUDIT_DIGEST_WINDOW_MINUTES));

    // It may invoke this one function.
    this.schedulerRole = schedulerRole(this, 'SchedulerRole', 'identity-provisioner audit digest schedule: invokes the digester function');
    this.schedule = new Schedule(this, 'Schedule', {
      schedule: ScheduleExpression.expression(AUDIT_DIGEST_SCHEDULE),
      description: 'identity-provisioner audit digests (hourly)',
      target: new InvokeDigester(fn, this.schedulerRole),
    });
  }
}

/**
 * Scheduler's Lambda target with exactly lambda:InvokeFunction on the function. No DLQ: a run
 * Scheduler could not start is made up by the next one, and the AuditDigestsStale alarm says when
 * none has written for hours.
 */
class InvokeDigester implements IScheduleTarget {
  constructor(
    private readonly fn: AuditDigesterFunction,
    private readonly role: Role,
  ) {}

  bind(_schedule: ISchedule): ScheduleTargetConfig {
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.fn.functionArn] }));
    return {
      arn: this.fn.functionArn,
      role: this.role,
      retryPolicy: { maximumEventAgeInSeconds: Duration.minutes(30).toSeconds(), maximumRetryAttempts: 3 },
    };
  }
}
