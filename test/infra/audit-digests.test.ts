/**
 * Tamper evidence as deployed (lib/audit-digests.ts): the digest bucket in the stateful stack
 * (Object Lock COMPLIANCE, versioned, retained, TLS only, its policy's Denies), the digester role's
 * exact permissions across both stacks, no S3 right for any other function, the hourly schedule,
 * the output, the alarms, the auditDigestRetentionDays setting, and cdk-nag.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { IdentityProvisionerState, parseProvisionerSettings, ProvisionerConfigError } from '../../lib';
import {
  AUDIT_DIGEST_SCHEDULE,
  AUDIT_DIGEST_SETTLE_MINUTES,
  AUDIT_DIGEST_WINDOW_MINUTES,
  DIGEST_DENIED_OBJECT_ACTIONS,
} from '../../lib/audit-digests';
import { DIGESTER_RUNTIME_ENV_KEYS } from '../../lambdas/shared/config';
import { METRIC, METRICS_NAMESPACE } from '../../lambdas/shared/telemetry';
import { asArray, buildApp, type BuiltApp, defaultTemplates, logicalId, policyStatements, rolePolicyStatements } from './build-app';

const { state, stateless } = defaultTemplates();
const bucketId = logicalId(state, 'AWS::S3::Bucket', 'StateAuditDigestsBucket');
const roleId = logicalId(state, 'AWS::IAM::Role', 'StateAuditDigestsDigesterRole');
const bucketArn = { 'Fn::GetAtt': [bucketId, 'Arn'] };
const objectsArn = { 'Fn::Join': ['', [bucketArn, '/*']] };
const functionId = logicalId(stateless, 'AWS::Lambda::Function', 'ProvisionerAuditDigesterFunction');

function bucketPolicy(template: Template = state): Array<Record<string, unknown>> {
  const policies = Object.values(template.findResources('AWS::S3::BucketPolicy')).filter(
    (policy) => JSON.stringify(policy.Properties.Bucket) === JSON.stringify({ Ref: bucketId }),
  );
  expect(policies).toHaveLength(1);
  return policies[0].Properties.PolicyDocument.Statement;
}

function nagFindings(built: BuiltApp): string[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    pack.validateScope(built.app).violations.flatMap((violation) => violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`)),
  );
}

/** Action -> resources, over statements; each statement's actions as a sorted list. */
const shapeOf = (statements: Array<Record<string, unknown>>) =>
  statements.map((statement) => ({
    Effect: statement.Effect,
    Action: asArray(statement.Action as string | string[]).sort(),
    Resource: statement.Resource,
    ...(statement.Condition !== undefined && { Condition: statement.Condition }),
  }));

describe('the digest bucket (stateful stack)', () => {
  it('has Object Lock with a COMPLIANCE default retention of auditDigestRetentionDays (default 3650), versioning, SSE-S3, no public access', () => {
    state.hasResource('AWS::S3::Bucket', {
      Properties: {
        ObjectLockEnabled: true,
        ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 3650 } } },
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LoggingConfiguration: { DestinationBucketName: { Ref: logicalId(state, 'AWS::S3::Bucket', 'StateAuditDigestsAccessLogs') } },
      },
    });
    expect(state.findResources('AWS::S3::Bucket')[bucketId].Properties.ObjectLockEnabled).toBe(true);
  });

  it('is retained when the stack is deleted, even with removalPolicy destroy (and so is its access-log bucket)', () => {
    const destroy = buildApp({ removalPolicy: 'destroy' }).state;
    for (const template of [state, destroy]) {
      const buckets = Object.values(template.findResources('AWS::S3::Bucket'));
      expect(buckets).toHaveLength(2);
      for (const bucket of buckets) expect([bucket.DeletionPolicy, bucket.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
    }
    // The tables do follow the setting: the bucket is the exception, not the rule.
    expect(Object.values(destroy.findResources('AWS::DynamoDB::Table')).map((table) => table.DeletionPolicy)).toEqual(['Delete', 'Delete', 'Delete']);
  });

  it('takes its retention from auditDigestRetentionDays', () => {
    buildApp({ auditDigestRetentionDays: 400, auditRetentionDays: 365 }).state.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 400 } } },
    });
  });

  it('refuses TLS-less requests', () => {
    expect(bucketPolicy()).toContainEqual({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:*',
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      Resource: [bucketArn, objectsArn],
    });
  });

  it('denies PutObject to every principal but the digester role, and any put without If-None-Match', () => {
    const statements = bucketPolicy();
    expect(statements).toContainEqual({
      Sid: 'OnlyTheDigesterWrites',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:PutObject',
      Resource: objectsArn,
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': [roleId, 'Arn'] } } },
    });
    expect(statements).toContainEqual({
      Sid: 'DigestsAreNeverOverwritten',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:PutObject',
      Resource: objectsArn,
      Condition: { Null: { 's3:if-none-match': 'true' } },
    });
  });

  it('denies every delete and every change of an object lock to everyone, and nothing at the bucket level', () => {
    const statements = bucketPolicy();
    expect(statements).toContainEqual({
      Sid: 'DigestsAreNeverDeletedOrUnlocked',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: [...DIGEST_DENIED_OBJECT_ACTIONS],
      Resource: objectsArn,
    });
    expect([...DIGEST_DENIED_OBJECT_ACTIONS].sort()).toEqual([
      's3:BypassGovernanceRetention',
      's3:DeleteObject',
      's3:DeleteObjectVersion',
      's3:PutObjectLegalHold',
      's3:PutObjectRetention',
    ]);
    // The deployer keeps the bucket: no Deny of the policy or the lock configuration themselves.
    const denied = statements.flatMap((statement) => asArray(statement.Action as string | string[]));
    expect(denied.filter((action) => /PutBucket|DeleteBucket/.test(action))).toEqual([]);
    expect(statements.filter((statement) => statement.Effect !== 'Deny')).toEqual([]);
  });
});

describe('the digester role: exactly what it needs', () => {
  it('is trusted by Lambda only and carries its bucket rights inline: put/get objects, list keys and versions, nothing else', () => {
    const role = state.findResources('AWS::IAM::Role')[roleId].Properties;
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }]);
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.Policies).toHaveLength(1);
    expect(shapeOf(role.Policies[0].PolicyDocument.Statement)).toEqual([
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject'], Resource: objectsArn },
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:ListBucketVersions'], Resource: bucketArn },
    ]);
  });

  it('in the stateless stack: Query on the byDay index only, Decrypt through DynamoDB only, its own logs, X-Ray', () => {
    const statements = rolePolicyStatements(stateless, /OutputRefStateAuditDigestsDigesterRole/);
    const importOf = (pattern: RegExp) => ({ 'Fn::ImportValue': expect.stringMatching(pattern) });
    expect(shapeOf(statements)).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logicalId(stateless, 'AWS::Logs::LogGroup', 'ProvisionerAuditDigesterFunctionLogGroup'), 'Arn'] },
      },
      { Effect: 'Allow', Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' },
      { Effect: 'Allow', Action: ['dynamodb:Query'], Resource: { 'Fn::Join': ['', [importOf(/StateAuditTable.*Arn/), '/index/byDay']] } },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:DescribeKey'],
        Resource: importOf(/StateKey.*Arn/),
        Condition: { StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com' } },
      },
    ]);
  });

  it('no other role of either stack has any S3 action (the consumer and drift roles included)', () => {
    const s3Statements = (template: Template) =>
      policyStatements(template).filter((statement) => asArray(statement.Action as string | string[]).some((action) => action.startsWith('s3:')));
    expect(s3Statements(stateless)).toEqual([]);
    expect(s3Statements(state)).toEqual([]);
    const consumer = rolePolicyStatements(stateless, /OutputRefStateConsumerRole/);
    expect(consumer.length).toBeGreaterThan(0);
    expect(consumer.flatMap((statement) => asArray(statement.Action as string | string[])).filter((action) => action.startsWith('s3:'))).toEqual([]);
    const inline = Object.entries(state.findResources('AWS::IAM::Role')).filter(([id, role]) => id !== roleId && role.Properties.Policies !== undefined);
    expect(inline).toEqual([]);
  });
});

describe('the digester function and its schedule (stateless stack)', () => {
  it('is bound to its whole runtime contract: the audit table, the bucket, settle 20 and window 60 minutes', () => {
    const variables = stateless.findResources('AWS::Lambda::Function')[functionId].Properties.Environment.Variables;
    for (const key of DIGESTER_RUNTIME_ENV_KEYS) expect(variables[key]).toBeDefined();
    expect(variables).toMatchObject({
      AUDIT_DIGEST_SETTLE_MINUTES: String(AUDIT_DIGEST_SETTLE_MINUTES),
      AUDIT_DIGEST_WINDOW_MINUTES: String(AUDIT_DIGEST_WINDOW_MINUTES),
      AUDIT_DIGEST_BUCKET_NAME: { 'Fn::ImportValue': expect.stringMatching(/StateAuditDigestsBucket/) },
      AUDIT_TABLE_NAME: { 'Fn::ImportValue': expect.stringMatching(/StateAuditTable/) },
    });
    expect([AUDIT_DIGEST_SETTLE_MINUTES, AUDIT_DIGEST_WINDOW_MINUTES]).toEqual([20, 60]);
    stateless.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Timeout: 900, TracingConfig: { Mode: 'Active' } });
  });

  it('runs hourly at minute 25 UTC (after the settle time), invoked by a role that may invoke only this function', () => {
    expect(AUDIT_DIGEST_SCHEDULE).toBe('cron(25 * * * ? *)');
    const schedulerRoleId = logicalId(stateless, 'AWS::IAM::Role', 'ProvisionerAuditDigesterSchedulerRole');
    stateless.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(25 * * * ? *)',
      ScheduleExpressionTimezone: 'Etc/UTC',
      Target: { Arn: { 'Fn::GetAtt': [functionId, 'Arn'] }, RoleArn: { 'Fn::GetAtt': [schedulerRoleId, 'Arn'] } },
    });
    expect(shapeOf(rolePolicyStatements(stateless, new RegExp(schedulerRoleId)))).toEqual([
      { Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: { 'Fn::GetAtt': [functionId, 'Arn'] } },
    ]);
  });

  it('outputs the bucket name from both stacks (AuditDigestBucketName)', () => {
    state.hasOutput('AuditDigestBucketName', { Value: { Ref: bucketId } });
    stateless.hasOutput('AuditDigestBucketName', { Value: { 'Fn::ImportValue': Match.stringLikeRegexp('StateAuditDigestsBucket') } });
  });

  it('alarms when a run fails, and when no digest was written for 3 hours (no run at all counts)', () => {
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      AlarmActions: Match.anyValue(),
    });
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.digestsWritten,
      Statistic: 'Sum',
      Period: 3600,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
      AlarmActions: Match.anyValue(),
    });
  });
});

describe('auditDigestRetentionDays', () => {
  const errorOf = (settings: Record<string, unknown>): string => {
    try {
      parseProvisionerSettings({ identityStoreId: 'd-1234567890', ...settings });
    } catch (error) {
      expect(error).toBeInstanceOf(ProvisionerConfigError);
      return (error as Error).message;
    }
    throw new Error(`accepted: ${JSON.stringify(settings)}`);
  };

  it('defaults to 3650 days and takes 1..36500 (strings from -c too)', () => {
    expect(parseProvisionerSettings({ identityStoreId: 'd-1234567890' }).auditDigestRetentionDays).toBe(3650);
    expect(parseProvisionerSettings({ identityStoreId: 'd-1234567890', auditDigestRetentionDays: '1' }).auditDigestRetentionDays).toBe(1);
    expect(parseProvisionerSettings({ identityStoreId: 'd-1234567890', auditDigestRetentionDays: 36500 }).auditDigestRetentionDays).toBe(36500);
  });

  it.each([0, -1, 36501, 1.5, ''])('refuses %p', (value) => {
    expect(errorOf({ auditDigestRetentionDays: value })).toMatch(/auditDigestRetentionDays: must be a whole number/);
  });

  it('must be at least auditRetentionDays when a retention is set (a digest outlives the records it lists)', () => {
    expect(errorOf({ auditRetentionDays: 400, auditDigestRetentionDays: 399 })).toMatch(/auditDigestRetentionDays: must be at least auditRetentionDays \(400\)/);
    expect(parseProvisionerSettings({ identityStoreId: 'd-1234567890', auditRetentionDays: 400, auditDigestRetentionDays: 400 }).auditDigestRetentionDays).toBe(400);
    expect(parseProvisionerSettings({ identityStoreId: 'd-1234567890', auditRetentionDays: 0, auditDigestRetentionDays: 1 }).auditDigestRetentionDays).toBe(1);
    expect(errorOf({ auditRetentionDays: 4000 })).toMatch(/auditDigestRetentionDays: must be at least auditRetentionDays \(4000\)/);
  });

  it('is refused by the stateful construct alone too', () => {
    const stack = new Stack(new App(), 'Consumer');
    expect(() => new IdentityProvisionerState(stack, 'State', { auditRetentionDays: 30, auditDigestRetentionDays: 10 })).toThrow(
      /auditDigestRetentionDays: must be at least/,
    );
  });
});

describe('cdk-nag with the digests', () => {
  it('leaves no unacknowledged finding (AwsSolutions + Serverless)', () => {
    expect(nagFindings(buildApp({}))).toEqual([]);
  });
});
