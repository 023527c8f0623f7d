import { Match } from 'aws-cdk-lib/assertions';
import { OUTCOME_EVENT_SOURCE } from '../../lambdas/shared/telemetry';
import { IDENTITY_STORE_ACTIONS } from '../../lib';
import { asArray, CONSUMER_ROLE_ARN, defaultTemplates, logicalId, rolePolicyStatements } from './build-app';

const { stateless } = defaultTemplates();
// The consumer's permissions; the drift function's and its schedule's: test/infra/drift.test.ts.
const statements = rolePolicyStatements(stateless, /OutputRefStateConsumerRole/);
const partitionArn = (rest: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, rest]] });
const importOf = (pattern: RegExp) => ({ 'Fn::ImportValue': expect.stringMatching(pattern) });

/** Statements whose resources include the given one. */
function statementsOn(resource: unknown): Array<Record<string, unknown>> {
  return statements.filter((statement) =>
    asArray(statement.Resource).some((candidate) => {
      try {
        expect(candidate).toEqual(resource);
        return true;
      } catch {
        return false;
      }
    }),
  );
}
const actionsOn = (resource: unknown) => statementsOn(resource).flatMap((statement) => asArray(statement.Action as string | string[]));

describe('consumer role', () => {
  it('is the stateful stack\'s role, imported: the stateless stack creates no role for the function', () => {
    const fn = Object.values(stateless.findResources('AWS::Lambda::Function'))[0];
    expect(fn.Properties.Role).toEqual(CONSUMER_ROLE_ARN);
    // The only roles created here are the drift and audit digest schedules' (trusted by EventBridge Scheduler only).
    expect(Object.values(stateless.findResources('AWS::IAM::Role')).map((role) => role.Properties.AssumeRolePolicyDocument.Statement[0].Principal)).toEqual([
      { Service: 'scheduler.amazonaws.com' },
      { Service: 'scheduler.amazonaws.com' },
    ]);
  });

  it('gets its permissions from one policy of the stateless stack, attached to the imported role by name', () => {
    const policies = Object.entries(stateless.findResources('AWS::IAM::Policy')).filter(([, policy]) =>
      JSON.stringify(policy.Properties.Roles).includes('OutputRefStateConsumerRole'),
    );
    expect(policies).toHaveLength(1);
    const [policyId, policy] = policies[0];
    expect(policy.Properties.Roles).toEqual([importOf(/OutputRefStateConsumerRole/)]);
    // The function waits for its permissions.
    const fn = Object.values(stateless.findResources('AWS::Lambda::Function'))[0];
    expect(fn.DependsOn).toContain(policyId);
  });

  it('has no managed policies (no AWSLambdaBasicExecutionRole)', () => {
    defaultTemplates().state.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      }),
      ManagedPolicyArns: Match.absent(),
    });
  });

  it('never pairs Action "*" with Resource "*"', () => {
    const wildcardPairs = statements.filter(
      (statement) => asArray(statement.Action as string | string[]).includes('*') && asArray(statement.Resource).includes('*'),
    );
    expect(wildcardPairs).toEqual([]);
  });

  it('uses Resource "*" only for the X-Ray actions, which have no resource-level permissions', () => {
    const onEverything = statements.filter((statement) => asArray(statement.Resource).includes('*'));
    expect(onEverything.flatMap((statement) => asArray(statement.Action as string | string[])).sort()).toEqual([
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  it('has no service-wide action wildcards', () => {
    const actions = statements.flatMap((statement) => asArray(statement.Action as string | string[]));
    expect(actions.filter((action) => action.endsWith(':*') || action === '*')).toEqual([]);
  });

  it('writes logs to its own log group only', () => {
    const logGroupId = logicalId(stateless, 'AWS::Logs::LogGroup', 'ProvisionerConsumerLogGroup');
    expect(actionsOn({ 'Fn::GetAtt': [logGroupId, 'Arn'] }).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
  });
});

describe('Identity Store permissions', () => {
  const identityStoreStatement = () => statements.find((statement) => asArray(statement.Action as string[]).some((a) => a.startsWith('identitystore:')));

  it('grants exactly the 15 actions the adapters call', () => {
    expect(asArray(identityStoreStatement()?.Action as string[]).sort()).toEqual([...IDENTITY_STORE_ACTIONS].sort());
    expect(IDENTITY_STORE_ACTIONS).toHaveLength(15);
  });

  it('on the one identity store, whatever account owns it, and the account-less user/group/membership ARNs', () => {
    expect(asArray(identityStoreStatement()?.Resource)).toEqual(
      expect.arrayContaining([
        // From a delegated administrator account the store belongs to the management account.
        partitionArn(':identitystore::*:identitystore/d-1234567890'),
        partitionArn(':identitystore:::user/*'),
        partitionArn(':identitystore:::group/*'),
        partitionArn(':identitystore:::membership/*'),
      ]),
    );
    expect(asArray(identityStoreStatement()?.Resource)).toHaveLength(4);
  });

  it('never pins the store ARN to the deploying account', () => {
    expect(JSON.stringify(identityStoreStatement())).not.toContain('identitystore::123456789012:');
  });

  it('identitystore actions are granted nowhere else', () => {
    const grants = statements.filter((statement) => asArray(statement.Action as string[]).some((a) => a.startsWith('identitystore:')));
    expect(grants).toHaveLength(1);
  });
});

describe('DynamoDB permissions', () => {
  const auditTable = importOf(/StateAuditTable.*Arn/);

  it('the audit table gets PutItem (and GetItem to confirm a lost put response) only', () => {
    expect(actionsOn(auditTable).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
  });

  it('the audit table is never granted UpdateItem or DeleteItem (append-only)', () => {
    const auditActions = actionsOn(auditTable);
    expect(auditActions).not.toContain('dynamodb:UpdateItem');
    expect(auditActions).not.toContain('dynamodb:DeleteItem');
    expect(auditActions).not.toContain('dynamodb:BatchWriteItem');
    expect(auditActions.filter((action) => action.includes('*'))).toEqual([]);
  });

  it('no statement reaches the audit table indexes or any table by wildcard', () => {
    const resources = statements.flatMap((statement) => asArray(statement.Resource));
    expect(JSON.stringify(resources)).not.toMatch(/index\/\*|table\/\*/);
  });

  it.each([
    ['state', /StateStateTable.*Arn/],
    ['idempotency', /StateIdempotencyTable.*Arn/],
  ])('the %s table gets read/write item access', (_name, pattern) => {
    expect(actionsOn(importOf(pattern))).toEqual(
      expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']),
    );
  });
});

describe('grants stay in the role policy', () => {
  it('no queue policy carries an Allow for the consumer role (same-account grants need none)', () => {
    const queuePolicies = Object.values(stateless.findResources('AWS::SQS::QueuePolicy'));
    const allows = queuePolicies.flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>).filter(
        (statement) => statement.Effect === 'Allow' && JSON.stringify(statement.Principal).includes('StateConsumerRole'),
      ),
    );
    expect(allows).toEqual([]);
  });
});

describe('SQS, EventBridge and KMS permissions', () => {
  const queueArn = { 'Fn::GetAtt': [logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerQueue'), 'Arn'] };
  const dlqArn = { 'Fn::GetAtt': [logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerDeadLetterQueue'), 'Arn'] };

  it('the source queue: the event source mapping permissions and ChangeMessageVisibility', () => {
    expect(actionsOn(queueArn)).toEqual(
      expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility']),
    );
    expect(actionsOn(queueArn)).not.toContain('sqs:SendMessage');
  });

  it('the DLQ: SendMessage, to move rejected events there with their reason', () => {
    expect(actionsOn(dlqArn)).toContain('sqs:SendMessage');
    expect(actionsOn(dlqArn)).not.toContain('sqs:ReceiveMessage');
  });

  it('events:PutEvents on the provisioner bus only, and only with the outcome source', () => {
    const putEvents = statements.filter((statement) => asArray(statement.Action as string[]).includes('events:PutEvents'));
    expect(putEvents).toEqual([
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': [logicalId(stateless, 'AWS::Events::EventBus', 'ProvisionerEventBus'), 'Arn'] },
        Condition: { 'ForAllValues:StringEquals': { 'events:source': OUTCOME_EVENT_SOURCE } },
      },
    ]);
  });

  it('every source queue: ChangeMessageVisibility and the event source mapping permissions', () => {
    const portalQueueArn = { 'Fn::GetAtt': [logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerProducerQueueAccessPortal'), 'Arn'] };
    expect(actionsOn(portalQueueArn)).toEqual(
      expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']),
    );
    expect(actionsOn(portalQueueArn)).not.toContain('sqs:SendMessage');
  });

  it('encrypt/decrypt on the key, by named actions', () => {
    expect(actionsOn(importOf(/StateKey.*Arn/))).toEqual(
      expect.arrayContaining(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']),
    );
  });
});
