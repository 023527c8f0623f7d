/**
 * The drift function as deployed (lib/drift-detector.ts): its schedule, its role's permissions
 * (read-only on the identity store, append-only on the audit trail), the built-in drift-repair
 * producer on the bus, its alarms, the driftSchedule/driftAction settings, and cdk-nag.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { DRIFT_RUNTIME_ENV_KEYS, driftRuntimeConfigSchema } from '../../lambdas/shared/config';
import { DRIFT_REPAIR_SOURCE, producerDeclarationsSchema } from '../../lambdas/shared/producers';
import { DRIFT_DETAIL_TYPE, METRIC, METRICS_NAMESPACE, OUTCOME_EVENT_SOURCE, SERVICE_NAME } from '../../lambdas/shared/telemetry';
import { IDENTITY_STORE_ACTIONS, parseProvisionerSettings, type ProvisionerSettings, ProvisionerConfigError } from '../../lib';
import { AUDIT_REWRITE_ACTIONS } from '../../lib/identity-provisioner-state';
import { DRIFT_FUNCTION_TIMEOUT, IDENTITY_STORE_READ_ACTIONS } from '../../lib/drift-detector';
import {
  asArray,
  buildApp,
  type BuiltApp,
  busPolicyStatements,
  CONSUMER_ROLE_ARN,
  DRIFT_ROLE_ARN,
  defaultTemplates,
  EXAMPLE_PRODUCERS,
  EXAMPLE_SETTINGS,
  HR_ROLE,
  logicalId,
  rolePolicyStatements,
} from './build-app';

const { stateless, state } = defaultTemplates();
const driftStatements = rolePolicyStatements(stateless, /OutputRefStateDriftRole/);
const importOf = (pattern: RegExp) => ({ 'Fn::ImportValue': expect.stringMatching(pattern) });
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const driftFunctionId = logicalId(stateless, 'AWS::Lambda::Function', 'ProvisionerDriftFunction');
const driftDlqId = logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerDriftDeadLetterQueue');
const busArn = getAtt(logicalId(stateless, 'AWS::Events::EventBus', 'ProvisionerEventBus'));

const actionsOf = (statements: Array<Record<string, unknown>>) => statements.flatMap((statement) => asArray(statement.Action as string | string[]));
/** Statements whose resources include `resource` (compared as the template has it). */
const statementsOn = (statements: Array<Record<string, unknown>>, resource: unknown) =>
  statements.filter((statement) =>
    asArray(statement.Resource).some((candidate) => {
      try {
        expect(candidate).toEqual(resource);
        return true;
      } catch {
        return false;
      }
    }),
  );

function nagFindings(built: BuiltApp): string[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    pack.validateScope(built.app).violations.flatMap((violation) => violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`)),
  );
}

function errorOf(settings: Record<string, unknown>): string {
  try {
    parseProvisionerSettings({ identityStoreId: 'd-1234567890', ...settings });
  } catch (error) {
    expect(error).toBeInstanceOf(ProvisionerConfigError);
    return (error as Error).message;
  }
  throw new Error(`accepted: ${JSON.stringify(settings)}`);
}

describe('the drift schedule', () => {
  it('runs the drift function daily by default (EventBridge Scheduler, UTC), with a retry policy and a DLQ', () => {
    // Two schedules: this one, and the audit digester's (test/infra/audit-digests.test.ts).
    stateless.resourceCountIs('AWS::Scheduler::Schedule', 2);
    stateless.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 day)',
      ScheduleExpressionTimezone: 'Etc/UTC',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: getAtt(driftFunctionId),
        RoleArn: getAtt(logicalId(stateless, 'AWS::IAM::Role', 'ProvisionerDriftSchedulerRole')),
        DeadLetterConfig: { Arn: getAtt(driftDlqId) },
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 3 },
      },
    });
  });

  it('takes driftSchedule as given: a rate or a cron expression', () => {
    for (const expression of ['rate(6 hours)', 'cron(0 3 ? * MON-FRI *)']) {
      buildApp({ driftSchedule: expression }).stateless.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: expression });
    }
  });

  it('has its own role, assumable by Scheduler for this account\'s default group only, allowed to invoke this one function and write the DLQ', () => {
    const roleId = logicalId(stateless, 'AWS::IAM::Role', 'ProvisionerDriftSchedulerRole');
    const role = stateless.findResources('AWS::IAM::Role')[roleId];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: {
            'aws:SourceAccount': '123456789012',
            'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':scheduler:eu-west-1:123456789012:schedule-group/default']] },
          },
        },
      },
    ]);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(rolePolicyStatements(stateless, new RegExp(roleId))).toEqual([
      { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: getAtt(driftFunctionId) },
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: getAtt(driftDlqId) },
    ]);
  });

  it('with driftSchedule "off": no drift function, schedule, role policy, alarms, nor drift-repair producer', () => {
    const off = buildApp({ ...EXAMPLE_SETTINGS, driftSchedule: 'off' }).stateless;
    // What remains is the consumer and the audit digester (its function, schedule and scheduler role).
    expect(Object.keys(off.findResources('AWS::Scheduler::Schedule'))).toEqual([expect.stringMatching(/^ProvisionerAuditDigesterSchedule/)]);
    expect(Object.keys(off.findResources('AWS::Lambda::Function')).filter((id) => !id.startsWith('ProvisionerAuditDigester'))).toHaveLength(1);
    expect(Object.keys(off.findResources('AWS::IAM::Role'))).toEqual([expect.stringMatching(/^ProvisionerAuditDigesterSchedulerRole/)]);
    expect(rolePolicyStatements(off, /DriftRole/)).toEqual([]);
    expect(JSON.stringify(off.toJSON())).not.toContain(DRIFT_REPAIR_SOURCE);
    expect(Object.keys(off.findResources('AWS::CloudWatch::Alarm')).filter((id) => id.includes('Drift'))).toEqual([]);
  });
});

describe('the drift function', () => {
  const fn = () => stateless.findResources('AWS::Lambda::Function')[driftFunctionId].Properties;

  it('has the consumer\'s defaults, the longest timeout, and reserved concurrency 1 (two runs never overlap)', () => {
    expect(fn()).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      MemorySize: 512,
      Timeout: DRIFT_FUNCTION_TIMEOUT.toSeconds(),
      ReservedConcurrentExecutions: 1,
      Role: DRIFT_ROLE_ARN,
      LoggingConfig: { LogGroup: { Ref: logicalId(stateless, 'AWS::Logs::LogGroup', 'ProvisionerDriftFunctionLogGroup') } },
    });
    expect(DRIFT_FUNCTION_TIMEOUT.toSeconds()).toBe(900);
  });

  it('logs to its own encrypted log group, kept a year', () => {
    const logGroup = stateless.findResources('AWS::Logs::LogGroup')[logicalId(stateless, 'AWS::Logs::LogGroup', 'ProvisionerDriftFunctionLogGroup')];
    expect(logGroup.Properties).toEqual({ RetentionInDays: 365, KmsKeyId: importOf(/StateKey.*Arn/) });
    expect(logGroup.DeletionPolicy).toBe('Retain');
  });

  it('sends a failed run to the drift DLQ without retrying it (the next scheduled run starts afresh)', () => {
    stateless.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: driftFunctionId },
      MaximumRetryAttempts: 0,
      DestinationConfig: { OnFailure: { Destination: getAtt(driftDlqId) } },
    });
  });

  it('is given every variable of its runtime contract, and they parse', () => {
    const variables = fn().Environment.Variables as Record<string, unknown>;
    for (const key of DRIFT_RUNTIME_ENV_KEYS) expect(variables[key]).toBeDefined();
    // Tokens stand in for what CloudFormation resolves; the rest must parse as the handler parses it.
    const resolved = Object.fromEntries(
      Object.entries(variables).map(([key, value]) => [key, typeof value === 'string' ? value : key === 'SOURCE_QUEUE_URLS' ? '["https://sqs.eu-west-1.amazonaws.com/123456789012/q"]' : 'resolved']),
    );
    expect(driftRuntimeConfigSchema.parse(resolved)).toMatchObject({
      IDENTITY_STORE_ID: 'd-1234567890',
      DRIFT_ACTION: 'report',
      MANAGED_GROUP_SCOPE: { kind: 'created' },
      // The deployment's whole budget, shared with the consumer's instances (2 x 2 + this one).
      REQUESTS_PER_SECOND: 20,
      QUOTA_INSTANCES: 5,
    });
    expect(variables.DRIFT_ACTION).toBe('report');
    const repairing = buildApp({ driftAction: 'repair' }).stateless.findResources('AWS::Lambda::Function')[driftFunctionId];
    expect(repairing.Properties.Environment.Variables.DRIFT_ACTION).toBe('repair');
  });

  it('stays under Lambda\'s 4 KB of variables (estimated at synth, as the consumer\'s)', () => {
    const { total } = defaultTemplates().built.stack.provisioner.drift!.function.estimatedEnvironmentSize();
    expect(total).toBeLessThan(4096);
  });

  it('watches every source queue: their URLs, and only GetQueueAttributes on them', () => {
    const queues = [logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerQueue'), logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerProducerQueueAccessPortal')];
    const rendered = JSON.stringify(fn().Environment.Variables.SOURCE_QUEUE_URLS);
    for (const id of queues) expect(rendered).toContain(`{"Ref":"${id}"}`);
    const onQueues = driftStatements.filter((statement) => queues.some((id) => JSON.stringify(statement.Resource).includes(`"${id}"`)));
    expect(onQueues).toEqual([{ Effect: 'Allow', Action: 'sqs:GetQueueAttributes', Resource: queues.map(getAtt) }]);
  });
});

describe('the drift role: least privilege', () => {
  it('is the stateful stack\'s role, imported by name; its permissions are one policy of the stateless stack', () => {
    state.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] }),
      Description: Match.stringLikeRegexp('drift function'),
      ManagedPolicyArns: Match.absent(),
    });
    const policies = Object.values(stateless.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes('OutputRefStateDriftRole'),
    );
    expect(policies).toHaveLength(1);
    expect(policies[0].Properties.Roles).toEqual([importOf(/OutputRefStateDriftRole/)]);
  });

  it('is exported by the stateful stack whatever driftSchedule says (turning drift off never removes an export in use)', () => {
    const exports = (built: BuiltApp) => JSON.stringify(Object.values(built.state.toJSON().Outputs ?? {}));
    expect(exports(buildApp({ driftSchedule: 'off' }))).toContain('StateDriftRole');
    expect(exports(buildApp({}))).toContain('StateDriftRole');
  });

  it('may read the identity store and nothing more: no identitystore write action at all, on the one store', () => {
    const identityStore = driftStatements.filter((statement) => actionsOf([statement]).some((action) => action.startsWith('identitystore:')));
    expect(identityStore).toHaveLength(1);
    const actions = actionsOf(identityStore);
    expect(actions.sort()).toEqual([...IDENTITY_STORE_READ_ACTIONS].sort());
    for (const action of actions) expect(action).toMatch(/^identitystore:(Describe|List|Get)[A-Za-z]+$/);
    const writes = IDENTITY_STORE_ACTIONS.filter((action) => !/:(Describe|List|Get)/.test(action));
    expect(writes.length).toBeGreaterThan(0);
    expect(actions.filter((action) => (writes as readonly string[]).includes(action))).toEqual([]);
    expect(JSON.stringify(identityStore[0].Resource)).toContain(':identitystore::*:identitystore/d-1234567890');
  });

  it('appends to the audit trail only: PutItem, and GetItem to confirm a lost put; never Update, Delete or a batch write', () => {
    const onAudit = statementsOn(driftStatements, importOf(/StateAuditTable.*Arn/));
    expect(actionsOf(onAudit).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    for (const action of AUDIT_REWRITE_ACTIONS) expect(actionsOf(onAudit)).not.toContain(action);
    // No batch or PartiQL write anywhere (the drift memory writes are single items, held by LeadingKeys).
    expect(actionsOf(driftStatements).filter((action) => /BatchWriteItem|PartiQL/.test(action))).toEqual([]);
  });

  it('reads the state table, and writes only its drift memory items (DRIFT#*) and the shared quota item', () => {
    const onState = statementsOn(driftStatements, importOf(/StateStateTable.*Arn/));
    expect(onState).toEqual([
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan'], Resource: importOf(/StateStateTable.*Arn/) },
      {
        Effect: 'Allow',
        Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        Resource: importOf(/StateStateTable.*Arn/),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['DRIFT#*'] } },
      },
      {
        Effect: 'Allow',
        Action: 'dynamodb:UpdateItem',
        Resource: importOf(/StateStateTable.*Arn/),
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['QUOTA#identitystore'] } },
      },
    ]);
  });

  it('never touches the idempotency table, never sends to the consumer\'s DLQ, never receives from a source queue', () => {
    const rendered = JSON.stringify(driftStatements);
    expect(rendered).not.toContain('IdempotencyTable');
    expect(rendered).not.toContain(`"${logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerDeadLetterQueue')}"`);
    expect(actionsOf(driftStatements).filter((action) => /^sqs:(ReceiveMessage|DeleteMessage|ChangeMessageVisibility|PurgeQueue)$/.test(action))).toEqual([]);
  });

  const putEventsOf = (statements: Array<Record<string, unknown>>) => statements.filter((statement) => actionsOf([statement]).includes('events:PutEvents'));

  it('reporting (the default): puts only identity.drift.detected with the outcome source on this bus; it cannot send a repair', () => {
    expect(putEventsOf(driftStatements)).toEqual([
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: busArn,
        Condition: { 'ForAllValues:StringEquals': { 'events:source': [OUTCOME_EVENT_SOURCE], 'events:detail-type': [DRIFT_DETAIL_TYPE] } },
      },
    ]);
  });

  it('repairing: also the drift-repair source with its event types (every entry: ForAllValues)', () => {
    const repairing = buildApp({ ...EXAMPLE_SETTINGS, driftAction: 'repair' }).stateless;
    expect(putEventsOf(rolePolicyStatements(repairing, /OutputRefStateDriftRole/))).toEqual([
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: busArn,
        Condition: {
          'ForAllValues:StringEquals': {
            'events:source': [OUTCOME_EVENT_SOURCE, DRIFT_REPAIR_SOURCE],
            'events:detail-type': [DRIFT_DETAIL_TYPE, 'user.upserted', 'membership.added', 'membership.removed', 'group.upserted'],
          },
        },
      },
    ]);
  });

  it('uses the key with named actions only, and Resource "*" only for X-Ray; no action wildcard', () => {
    expect(actionsOf(statementsOn(driftStatements, importOf(/StateKey.*Arn/))).sort()).toEqual(['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey']);
    expect(actionsOf(driftStatements.filter((statement) => asArray(statement.Resource).includes('*'))).sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    expect(actionsOf(driftStatements).filter((action) => action.includes('*'))).toEqual([]);
  });

  it('may append to the audit trail by the table\'s own policy, as the consumer may', () => {
    const table = Object.values(state.findResources('AWS::DynamoDB::Table')).find((resource) => resource.Properties.ResourcePolicy !== undefined);
    const appends = table!.Properties.ResourcePolicy.PolicyDocument.Statement.find((statement: { Sid: string }) => statement.Sid === 'OnlyTheFunctionsAppend');
    expect(appends.Condition.ArnNotEquals['aws:PrincipalArn']).toEqual([
      getAtt(logicalId(state, 'AWS::IAM::Role', 'StateConsumerRole')),
      getAtt(logicalId(state, 'AWS::IAM::Role', 'StateDriftRole')),
    ]);
  });
});

describe('the built-in producer drift-repair', () => {
  const bus = busPolicyStatements(stateless);

  it('only the drift role may use its source on the bus', () => {
    expect(bus.get('OnlyDriftRepairSendsAsDriftRepair')).toMatchObject({
      Effect: 'Deny',
      Principal: '*',
      Action: 'events:PutEvents',
      Condition: { 'ForAnyValue:StringEquals': { 'events:source': DRIFT_REPAIR_SOURCE }, ArnNotLike: { 'aws:PrincipalArn': [DRIFT_ROLE_ARN] } },
    });
  });

  it('only for its event types: no deletion, whatever the grant of a declared producer', () => {
    expect(bus.get('DriftRepairSendsOnlyItsEventTypes')).toMatchObject({
      Effect: 'Deny',
      Condition: {
        'ForAnyValue:StringEquals': { 'events:source': DRIFT_REPAIR_SOURCE },
        'ForAnyValue:StringNotEquals': { 'events:detail-type': ['user.upserted', 'membership.added', 'membership.removed', 'group.upserted'] },
      },
    });
  });

  it('has no cross-account Allow (the drift role is in this account), and the declared producers keep theirs', () => {
    expect(bus.has('DriftRepairInOtherAccountSends')).toBe(false);
    expect(bus.get('HrInOtherAccountSends')).toMatchObject({ Principal: { AWS: HR_ROLE } });
  });

  it('the drift role may also use the outcome source (identity.drift.detected), as the consumer\'s role does', () => {
    expect(bus.get('OnlyTheFunctionSendsOutcomes')?.Condition).toEqual({
      'ForAnyValue:StringEquals': { 'events:source': OUTCOME_EVENT_SOURCE },
      ArnNotEquals: { 'aws:PrincipalArn': [CONSUMER_ROLE_ARN, DRIFT_ROLE_ARN] },
    });
  });

  it('reaches the consumer through the rule, which matches its source, and the consumer knows it (PRODUCERS)', () => {
    stateless.hasResourceProperties('AWS::Events::Rule', { EventPattern: { source: Match.arrayWith([DRIFT_REPAIR_SOURCE]) } });
    const consumer = Object.values(stateless.findResources('AWS::Lambda::Function')).find((fn) => fn.Properties.Environment.Variables.PRODUCERS !== undefined);
    expect(JSON.stringify(consumer!.Properties.Environment.Variables.PRODUCERS)).toContain(
      JSON.stringify(
        JSON.stringify({
          name: 'drift-repair',
          via: 'bus',
          source: DRIFT_REPAIR_SOURCE,
          accounts: ['123456789012'],
          eventTypes: ['user.upserted', 'membership.added', 'membership.removed', 'group.upserted'],
          groups: ['*'],
        }),
      ).slice(1, -1),
    );
  });

  it('exists with no producer declared: a rule for its source alone, and the only source beside the outcomes', () => {
    const built = buildApp({});
    built.stateless.hasResourceProperties('AWS::Events::Rule', { EventPattern: { source: [DRIFT_REPAIR_SOURCE] } });
    expect(busPolicyStatements(built.stateless).get('NoUndeclaredSources')?.Condition).toEqual({
      'ForAnyValue:StringNotEquals': { 'events:source': [DRIFT_REPAIR_SOURCE, OUTCOME_EVENT_SOURCE] },
    });
  });

  it('its name and source are reserved: no declared producer may take them', () => {
    expect(errorOf({ producers: { 'drift-repair': EXAMPLE_PRODUCERS.hr } })).toContain('producers.drift-repair: "drift-repair" is reserved');
    expect(errorOf({ producers: { hr: { ...EXAMPLE_PRODUCERS.hr, source: DRIFT_REPAIR_SOURCE } } })).toContain(
      `producers.hr.source: must not be "${DRIFT_REPAIR_SOURCE}"`,
    );
    expect(producerDeclarationsSchema.safeParse({ hr: { ...EXAMPLE_PRODUCERS.hr, account: '123456789012' } }).success).toBe(false);
  });
});

describe('drift alarms', () => {
  const alarm = (prefix: string) => stateless.findResources('AWS::CloudWatch::Alarm')[logicalId(stateless, 'AWS::CloudWatch::Alarm', prefix)].Properties;
  const topic = { Ref: logicalId(stateless, 'AWS::SNS::Topic', 'ProvisionerAlarmsTopic') };

  it('DriftDetected: DriftFindings > 0, to the alarm topic', () => {
    expect(alarm('ProvisionerAlarmsDriftDetected')).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.driftFindings,
      Dimensions: [{ Name: 'service', Value: SERVICE_NAME }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
    });
    expect(METRIC.driftFindings).toBe('DriftFindings');
  });

  it('DriftRunFailed: a run that could not start or failed is in the drift DLQ', () => {
    expect(alarm('ProvisionerAlarmsDriftRunFailed')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [driftDlqId, 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      AlarmActions: [topic],
    });
  });

  it('both may publish to the created topic (its policy lists every alarm)', () => {
    const policy = Object.values(stateless.findResources('AWS::SNS::TopicPolicy'))[0];
    const sources = JSON.stringify(policy.Properties.PolicyDocument.Statement);
    expect(sources).toContain(logicalId(stateless, 'AWS::CloudWatch::Alarm', 'ProvisionerAlarmsDriftDetected'));
    expect(sources).toContain(logicalId(stateless, 'AWS::CloudWatch::Alarm', 'ProvisionerAlarmsDriftRunFailed'));
  });

  it('go to alarmTopicArn when one is given', () => {
    const arn = 'arn:aws:sns:eu-west-1:123456789012:ops-pager';
    const template: Template = buildApp({ alarmTopicArn: arn }).stateless;
    for (const [id, resource] of Object.entries(template.findResources('AWS::CloudWatch::Alarm'))) {
      if (id.includes('Drift')) expect(resource.Properties.AlarmActions).toEqual([arn]);
    }
  });
});

describe('the drift DLQ', () => {
  const queuePolicy = () =>
    Object.values(stateless.findResources('AWS::SQS::QueuePolicy')).find((policy) => JSON.stringify(policy.Properties.Queues).includes(`"${driftDlqId}"`))!
      .Properties.PolicyDocument.Statement;

  it('is TLS-only, and only the scheduler and the drift function put messages in it', () => {
    expect(queuePolicy()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        {
          Sid: 'OnlyTheDriftScheduleAndFunctionSend',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 'sqs:SendMessage',
          Resource: getAtt(driftDlqId),
          Condition: { ArnNotEquals: { 'aws:PrincipalArn': [getAtt(logicalId(stateless, 'AWS::IAM::Role', 'ProvisionerDriftSchedulerRole')), DRIFT_ROLE_ARN] } },
        },
      ]),
    );
  });

  it('keeps messages 14 days, encrypted by SQS', () => {
    expect(stateless.findResources('AWS::SQS::Queue')[driftDlqId].Properties).toMatchObject({ MessageRetentionPeriod: 1_209_600, SqsManagedSseEnabled: true });
  });
});

describe('settings: driftSchedule and driftAction', () => {
  it('default to a daily report', () => {
    expect(parseProvisionerSettings({ identityStoreId: 'd-1234567890' })).toMatchObject({ driftSchedule: 'rate(1 day)', driftAction: 'report' });
  });

  it.each([
    'rate(1 day)',
    'rate(2 days)',
    'rate(15 minutes)',
    'rate(1 hour)',
    'rate(12 hours)',
    'cron(0 3 * * ? *)',
    'cron(30 2 ? * MON-FRI *)',
    'cron(0 */6 * * ? *)',
    'cron(0 4 1 JAN,JUL ? 2027-2030)',
    'cron(15 1 ? * 6L *)',
    'cron(0 0 ? * 2#1 *)',
    'cron(0 0 L * ? *)',
    'off',
  ])('accepts %s', (driftSchedule) => {
    expect(parseProvisionerSettings({ identityStoreId: 'd-1234567890', driftSchedule }).driftSchedule).toBe(driftSchedule);
  });

  it.each<[string, unknown, string]>([
    ['a plural unit with 1', 'rate(1 days)', 'use "day" with 1 and "days" with more'],
    ['a singular unit with more', 'rate(2 day)', 'use "day" with 1 and "days" with more'],
    ['zero', 'rate(0 days)', 'a rate is a whole number > 0'],
    ['a negative rate', 'rate(-1 days)', 'a rate is a whole number > 0'],
    ['a fraction', 'rate(1.5 hours)', 'a rate is a whole number > 0'],
    ['an unknown unit', 'rate(1 week)', 'one of minute(s), hour(s), day(s)'],
    ['upper case', 'rate(1 DAY)', 'one of minute(s), hour(s), day(s)'],
    ['two spaces', 'rate(1  day)', 'separated by one space'],
    ['more often than the function timeout', 'rate(5 minutes)', 'more often than every 15 minutes'],
    ['leading white space', ' rate(1 day)', 'must not start or end with white space'],
    ['trailing white space', 'rate(1 day) ', 'must not start or end with white space'],
    ['a newline', 'rate(1 day)\n', 'must not start or end with white space'],
    ['five cron fields (crontab)', 'cron(0 3 * * *)', 'a cron expression has 6 fields'],
    ['both days given', 'cron(0 3 1 * MON *)', 'exactly one of day-of-month and day-of-week must be "?"'],
    ['neither day given', 'cron(0 3 ? * ? *)', 'exactly one of day-of-month and day-of-week must be "?"'],
    ['minute 60', 'cron(60 3 * * ? *)', 'minutes "60"'],
    ['hour 24', 'cron(0 24 * * ? *)', 'hours "24"'],
    ['month 13', 'cron(0 3 * 13 ? *)', 'month "13"'],
    ['a reversed range', 'cron(0 5-3 * * ? *)', 'hours "5-3"'],
    ['a year out of range', 'cron(0 3 * * ? 1969)', 'year "1969"'],
    ['an injected expression', 'cron(0 3 * * ? *) rate(1 day)', 'must be "off"'],
    ['a one-time schedule', 'at(2030-01-01T00:00:00)', 'a one-time schedule is not accepted'],
    ['an EventBridge rule style without parentheses', 'daily', 'must be "off"'],
    ['Off in another case', 'Off', 'must be "off"'],
    ['empty', '', 'must be "off"'],
    ['a number', 86400, 'must be a string'],
  ])('refuses %s (%j), naming the setting', (_name, driftSchedule, message) => {
    const error = errorOf({ driftSchedule });
    expect(error).toContain('driftSchedule:');
    expect(error).toContain(message);
  });

  it.each(['Repair', 'REPORT', ' report', 'report ', 'fix', '', 'true'])('refuses driftAction %j: "report" or "repair", lower case', (driftAction) => {
    expect(errorOf({ driftAction })).toContain('driftAction: must be "report" or "repair" (lower case)');
  });

  it('refuses driftAction "repair" with driftSchedule "off" (nothing would repair)', () => {
    expect(errorOf({ driftSchedule: 'off', driftAction: 'repair' })).toContain('driftAction: "repair" needs drift detection, but driftSchedule is "off"');
    expect(parseProvisionerSettings({ identityStoreId: 'd-1234567890', driftSchedule: 'off' }).driftAction).toBe('report');
  });

  it('a misspelt key gets "did you mean"', () => {
    expect(errorOf({ driftSchedul: 'rate(1 day)' })).toContain('driftSchedul: unknown setting, did you mean driftSchedule?');
    expect(errorOf({ driftActon: 'repair' })).toContain('driftActon: unknown setting, did you mean driftAction?');
  });

  it('from -c (strings), as from cdk.json', () => {
    expect(parseProvisionerSettings({ identityStoreId: 'd-1234567890', driftSchedule: 'cron(0 3 * * ? *)', driftAction: 'repair' })).toMatchObject({
      driftSchedule: 'cron(0 3 * * ? *)',
      driftAction: 'repair',
    });
  });
});

describe('cdk-nag with drift', () => {
  it.each<[string, Partial<ProvisionerSettings>]>([
    ['repair on a cron schedule', { ...EXAMPLE_SETTINGS, driftAction: 'repair', driftSchedule: 'cron(0 3 * * ? *)' }],
    ['no producer declared (drift-repair alone on the bus)', {}],
    ['drift off', { ...EXAMPLE_SETTINGS, driftSchedule: 'off' }],
    ['an existing bus, FIFO queues and an alarm topic', {
      ...EXAMPLE_SETTINGS,
      existingEventBusName: 'org-identity',
      queueKind: 'fifo',
      alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops',
    }],
  ])('leaves no unacknowledged finding with %s', (_name, settings) => {
    expect(nagFindings(buildApp(settings))).toEqual([]);
  });
});
