import { Match } from 'aws-cdk-lib/assertions';
import { AUDIT_TABLE, IDEMPOTENCY_TABLE, STATE_TABLE } from '../../lambdas/shared/tables';
import { buildApp, defaultTemplates, logicalId } from './build-app';

const { state } = defaultTemplates();
const keyId = logicalId(state, 'AWS::KMS::Key', 'StateKey');
const encryptedWithTheKey = {
  SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } },
};

describe('IdentityProvisionerState: key', () => {
  it('rotates the customer managed key', () => {
    state.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('lets EventBridge use the key for the encrypted queue target, for this account only', () => {
    state.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'events.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
  });

  it('lets CloudWatch alarms publish to the encrypted topic', () => {
    state.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey'] }),
        ]),
      },
    });
  });

  it('lets CloudWatch Logs encrypt log groups of this account and region only', () => {
    state.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
            Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('keeps the key when the stack is deleted (default removalPolicy retain)', () => {
    state.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});

describe('IdentityProvisionerState: audit table', () => {
  const auditId = logicalId(state, 'AWS::DynamoDB::Table', 'StateAuditTable');
  const audit = () => state.findResources('AWS::DynamoDB::Table')[auditId].Properties;

  it('uses the pk/sk layout of lambdas/shared/tables.ts', () => {
    expect(audit().KeySchema).toEqual([
      { AttributeName: AUDIT_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: AUDIT_TABLE.sortKey, KeyType: 'RANGE' },
    ]);
  });

  it('has the five GSIs byUser, byGroup, byDay, byActor and byProblem, projecting all attributes', () => {
    const indexes = audit().GlobalSecondaryIndexes as Array<Record<string, unknown>>;
    expect(indexes).toEqual(
      Object.entries(AUDIT_TABLE.indexes).map(([name, index]) => ({
        IndexName: name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    );
  });

  it('has no TTL by default: the audit trail is kept forever', () => {
    expect(audit().TimeToLiveSpecification).toBeUndefined();
  });

  it('expires records on expiresAt when auditRetentionDays is set', () => {
    buildApp({ auditRetentionDays: 400 }).state.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: Match.arrayWith([{ AttributeName: AUDIT_TABLE.sortKey, KeyType: 'RANGE' }]),
      TimeToLiveSpecification: { AttributeName: AUDIT_TABLE.timeToLiveAttribute, Enabled: true },
    });
  });

  it('is encrypted with the key, has PITR and deletion protection, and is retained', () => {
    state.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        ...encryptedWithTheKey,
        KeySchema: Match.arrayWith([{ AttributeName: AUDIT_TABLE.sortKey, KeyType: 'RANGE' }]),
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        BillingMode: 'PAY_PER_REQUEST',
      }),
      DeletionPolicy: 'Retain',
    });
  });
});

describe('IdentityProvisionerState: state and idempotency tables', () => {
  it('state table: pk, TTL on expiresAt, encrypted, PITR, deletion protection', () => {
    state.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: STATE_TABLE.partitionKey, KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: STATE_TABLE.timeToLiveAttribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      ...encryptedWithTheKey,
    });
  });

  it('idempotency table: id, TTL on expiration, encrypted, PITR, deletion protection', () => {
    state.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: IDEMPOTENCY_TABLE.partitionKey, KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: IDEMPOTENCY_TABLE.timeToLiveAttribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      ...encryptedWithTheKey,
    });
  });

  it('removalPolicy destroy drops deletion protection and deletes tables and key with the stack', () => {
    const destroyed = buildApp({ removalPolicy: 'destroy' }).state;
    destroyed.allResourcesProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
    destroyed.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    destroyed.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete', Properties: Match.objectLike({ PendingWindowInDays: 7 }) });
  });

  it('outputs the audit and state table names', () => {
    state.hasOutput('AuditTableName', { Value: { Ref: logicalId(state, 'AWS::DynamoDB::Table', 'StateAuditTable') } });
    state.hasOutput('StateTableName', { Value: { Ref: logicalId(state, 'AWS::DynamoDB::Table', 'StateStateTable') } });
  });
});

describe('IdentityProvisionerState: consumer role and the append-only audit trail', () => {
  const auditId = logicalId(state, 'AWS::DynamoDB::Table', 'StateAuditTable');
  const roleId = logicalId(state, 'AWS::IAM::Role', 'StateConsumerRole');
  const auditPolicy = () =>
    state.findResources('AWS::DynamoDB::Table')[auditId].Properties.ResourcePolicy.PolicyDocument.Statement as Array<Record<string, unknown>>;

  it('creates the consumer role here, trusted by Lambda only and with no permissions of its own', () => {
    state.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
        Version: '2012-10-17',
      },
      ManagedPolicyArns: Match.absent(),
      Policies: Match.absent(),
    });
    state.resourceCountIs('AWS::IAM::Policy', 0);
  });

  it('denies every rewrite (UpdateItem, DeleteItem, BatchWriteItem, PartiQL writes) to every principal', () => {
    const rewrite = auditPolicy().find((statement) => statement.Sid === 'AuditTrailIsAppendOnly');
    expect(rewrite).toEqual({ Sid: 'AuditTrailIsAppendOnly', Effect: 'Deny', Principal: { AWS: '*' }, Action: expect.any(Array), Resource: '*' });
    expect((rewrite?.Action as string[]).sort()).toEqual([
      'dynamodb:BatchWriteItem',
      'dynamodb:DeleteItem',
      'dynamodb:PartiQLDelete',
      'dynamodb:PartiQLInsert',
      'dynamodb:PartiQLUpdate',
      'dynamodb:UpdateItem',
    ]);
  });

  it('denies PutItem to every principal but the consumer role and the drift role (its DRIFT records)', () => {
    expect(auditPolicy()).toContainEqual({
      Sid: 'OnlyTheFunctionsAppend',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'dynamodb:PutItem',
      Resource: '*',
      Condition: {
        ArnNotEquals: { 'aws:PrincipalArn': [{ 'Fn::GetAtt': [roleId, 'Arn'] }, { 'Fn::GetAtt': [logicalId(state, 'AWS::IAM::Role', 'StateDriftRole'), 'Arn'] }] },
      },
    });
  });

  it('has no Allow at all: what the consumer may do comes from its own role policy', () => {
    expect(auditPolicy().filter((statement) => statement.Effect !== 'Deny')).toEqual([]);
  });

  it('names the table as "*" (itself), never its own ARN, which would be a circular reference', () => {
    expect(JSON.stringify(auditPolicy())).not.toContain(auditId);
  });

  it('puts no resource policy on the state and idempotency tables (they are overwritten in place)', () => {
    const others = Object.entries(state.findResources('AWS::DynamoDB::Table')).filter(([id]) => id !== auditId);
    expect(others).toHaveLength(2);
    for (const [, table] of others) expect(table.Properties.ResourcePolicy).toBeUndefined();
  });

  it('refers to nothing in the stateless stack (no import), so the two stacks have no cycle', () => {
    expect(JSON.stringify(state.toJSON())).not.toContain('Fn::ImportValue');
  });

  it('exports the role name the stateless stack imports it by', () => {
    const outputs = Object.values(state.toJSON().Outputs as Record<string, { Value: unknown }>);
    expect(outputs.map((output) => output.Value)).toContainEqual({ Ref: roleId });
  });
});
