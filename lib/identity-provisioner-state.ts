/**
 * The stateful half: the customer managed key, the three DynamoDB tables and the consumer
 * function's role. Kept apart from the queue and function (IdentityProvisioner) so that the audit
 * trail and the processing state survive when the stateless half is replaced or redeployed.
 *
 * The role lives here because the audit table's resource policy names it (only it may PutItem).
 * It is created bare; the stateless half imports it by ARN and attaches the function's
 * permissions there, so this stack never refers to anything in the stateless one.
 */
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { AnyPrincipal, Effect, PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { AUDIT_TABLE, IDEMPOTENCY_TABLE, STATE_TABLE } from '../lambdas/shared/tables';
import { AuditDigestBucket } from './audit-digests';
import { parseStateSettings, type StateSettings } from './config';

/** removalPolicy (default retain), auditRetentionDays (default 0: keep forever), auditDigestRetentionDays (default 3650). */
export type IdentityProvisionerStateProps = StateSettings;

export class IdentityProvisionerState extends Construct {
  /** Encrypts the tables, the queues, the alarm topic and the function's log group. */
  public readonly key: Key;
  /**
   * The consumer function's role (trusted by Lambda only, no permissions of its own here): the
   * only principal the audit table lets PutItem.
   */
  public readonly consumerRole: Role;
  /**
   * The drift function's role (trusted by Lambda only, no permissions of its own here): it appends
   * DRIFT records, so the audit table's policy names it too. Created whatever driftSchedule says,
   * so that turning drift off and on never removes an export the other stack still imports.
   */
  public readonly driftRole: Role;
  /** Append-only audit trail: its resource policy lets only the two roles PutItem, and nobody rewrite. */
  public readonly auditTable: Table;
  /** Watermarks, managed groups, ExternalId mapping, deletion-cap windows. */
  public readonly stateTable: Table;
  /** Powertools idempotency records. */
  public readonly idempotencyTable: Table;
  /**
   * Where the hourly audit digests are kept (Object Lock, always retained) and the digester's role,
   * the only principal that may write there (lib/audit-digests.ts; the function is in the stateless half).
   */
  public readonly auditDigests: AuditDigestBucket;

  constructor(scope: Construct, id: string, props: IdentityProvisionerStateProps = {}) {
    super(scope, id);
    const config = parseStateSettings(props);
    const retain = config.removalPolicy === 'retain';
    const removalPolicy = retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.key = new Key(this, 'Key', {
      description: 'identity-provisioner: tables, queues, alarm topic and logs',
      enableKeyRotation: true,
      removalPolicy,
      pendingWindow: Duration.days(retain ? 30 : 7),
    });
    this.allowServicesToUseKey();

    this.consumerRole = new Role(this, 'ConsumerRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'identity-provisioner consumer function (permissions attached by the stateless stack)',
    });
    this.driftRole = new Role(this, 'DriftRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'identity-provisioner drift function (read-only on the identity store; permissions attached by the stateless stack)',
    });

    const commonTableProps = {
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: retain,
      removalPolicy,
    };

    this.auditTable = new Table(this, 'AuditTable', {
      ...commonTableProps,
      partitionKey: { name: AUDIT_TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: AUDIT_TABLE.sortKey, type: AttributeType.STRING },
      // TTL only when a retention is configured: by default the audit trail is kept forever.
      timeToLiveAttribute: config.auditRetentionDays > 0 ? AUDIT_TABLE.timeToLiveAttribute : undefined,
      resourcePolicy: auditTablePolicy([this.consumerRole.roleArn, this.driftRole.roleArn]),
    });
    for (const [indexName, index] of Object.entries(AUDIT_TABLE.indexes)) {
      this.auditTable.addGlobalSecondaryIndex({
        indexName,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType.ALL,
      });
    }

    this.stateTable = new Table(this, 'StateTable', {
      ...commonTableProps,
      partitionKey: { name: STATE_TABLE.partitionKey, type: AttributeType.STRING },
      // Deletion-cap window items expire on their own.
      timeToLiveAttribute: STATE_TABLE.timeToLiveAttribute,
    });

    this.idempotencyTable = new Table(this, 'IdempotencyTable', {
      ...commonTableProps,
      partitionKey: { name: IDEMPOTENCY_TABLE.partitionKey, type: AttributeType.STRING },
      timeToLiveAttribute: IDEMPOTENCY_TABLE.timeToLiveAttribute,
    });

    this.auditDigests = new AuditDigestBucket(this, 'AuditDigests', { retentionDays: config.auditDigestRetentionDays });
  }

  /**
   * Services that write encrypted data on our behalf need the key policy to let them:
   * EventBridge (rule target queue and rule DLQ), CloudWatch (alarm notifications to the
   * encrypted topic) and CloudWatch Logs (the function's encrypted log group). Each is held to
   * this account. They are stated here, not added by the stateless half, so the key policy does
   * not depend on which queues or topics exist.
   */
  private allowServicesToUseKey(): void {
    const sameAccount = { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } };
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowEventBridgeToSendToEncryptedQueues',
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: sameAccount,
      }),
    );
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToEncryptedTopic',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: sameAccount,
      }),
    );
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchLogsToEncryptLogGroups',
        principals: [new ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );
  }
}

/** Rewrites of an audit record: refused to every principal, administrators included. */
export const AUDIT_REWRITE_ACTIONS = [
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
] as const;

/**
 * The audit trail cannot be rewritten, whatever IAM policies say: an explicit Deny in the table's
 * own policy wins over any Allow. PutItem stays open to the consumer role and the drift role alone
 * (their puts are conditional on the item not existing, so they cannot overwrite either). Resource
 * "*" is the table the policy is attached to (its own ARN would be a circular reference in the template).
 */
function auditTablePolicy(appenderRoleArns: string[]): PolicyDocument {
  return new PolicyDocument({
    statements: [
      new PolicyStatement({
        sid: 'AuditTrailIsAppendOnly',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: [...AUDIT_REWRITE_ACTIONS],
        resources: ['*'],
      }),
      new PolicyStatement({
        sid: 'OnlyTheFunctionsAppend',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['dynamodb:PutItem'],
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': appenderRoleArns } },
      }),
    ],
  });
}
