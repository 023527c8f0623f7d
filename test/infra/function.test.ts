import { Match } from 'aws-cdk-lib/assertions';
import { RUNTIME_ENV_KEYS, runtimeConfigSchema } from '../../lambdas/shared/config';
import { runtimeProducersSchema } from '../../lambdas/shared/producers';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lambdas/shared/telemetry';
import { buildApp, defaultTemplates, EXAMPLE_SETTINGS, logicalId } from './build-app';

const { stateless } = defaultTemplates();
const functionId = logicalId(stateless, 'AWS::Lambda::Function', 'ProvisionerConsumer');
const fnProps = () => stateless.findResources('AWS::Lambda::Function')[functionId].Properties;
const env = () => fnProps().Environment.Variables as Record<string, unknown>;

describe('consumer function defaults', () => {
  it('runs nodejs24.x on arm64', () => {
    expect(fnProps()).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
  });

  it('has active tracing, 512 MB and the configured timeout', () => {
    expect(fnProps()).toMatchObject({ TracingConfig: { Mode: 'Active' }, MemorySize: 512, Timeout: 60 });
  });

  it('logs to its own log group, kept one year and encrypted with the key', () => {
    const logGroupId = logicalId(stateless, 'AWS::Logs::LogGroup', 'ProvisionerConsumerLogGroup');
    expect(fnProps().LoggingConfig).toEqual({ LogGroup: { Ref: logGroupId } });
    stateless.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 365,
      KmsKeyId: { 'Fn::ImportValue': Match.stringLikeRegexp('StateKey.*Arn') },
    });
  });

  it('enables source maps and the Powertools settings from telemetry.ts', () => {
    expect(env()).toMatchObject({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
  });

  it('has no reserved concurrency (the event source caps concurrency)', () => {
    expect(fnProps().ReservedConcurrentExecutions).toBeUndefined();
  });
});

describe('runtime environment contract (lambdas/shared/config.ts)', () => {
  it('sets every variable of runtimeConfigSchema', () => {
    expect(Object.keys(env())).toEqual(expect.arrayContaining([...RUNTIME_ENV_KEYS]));
  });

  it('sets values the function will accept at cold start (literal values parse)', () => {
    const literal = Object.fromEntries(
      Object.entries(env()).map(([key, value]) => [key, typeof value === 'string' ? value : 'https://sqs.eu-west-1.amazonaws.com/123456789012/token']),
    );
    literal.PRODUCERS = '[]';
    expect(runtimeConfigSchema.safeParse(literal).success).toBe(true);
  });

  it('points at the tables, the bus, the source queue DLQ and the identity store', () => {
    expect(env()).toMatchObject({
      IDENTITY_STORE_ID: 'd-1234567890',
      IDENTITY_STORE_REGION: 'eu-west-1',
      AUDIT_TABLE_NAME: { 'Fn::ImportValue': expect.stringMatching(/StateAuditTable/) },
      STATE_TABLE_NAME: { 'Fn::ImportValue': expect.stringMatching(/StateStateTable/) },
      IDEMPOTENCY_TABLE_NAME: { 'Fn::ImportValue': expect.stringMatching(/StateIdempotencyTable/) },
      EVENT_BUS_NAME: { Ref: logicalId(stateless, 'AWS::Events::EventBus', 'ProvisionerEventBus') },
      DEAD_LETTER_QUEUE_URL: { Ref: logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerDeadLetterQueue') },
      DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES: '1048576',
      QUEUE_KIND: 'standard',
      MAX_RECEIVE_COUNT: '5',
    });
  });

  it('carries the safety limits with their defaults', () => {
    expect(env()).toMatchObject({
      MANAGED_GROUP_SCOPE: 'created',
      MAX_MEMBERSHIP_REMOVALS_PER_EVENT: '10',
      DELETION_CAP: '25',
      DELETION_WINDOW_SECONDS: '3600',
      AUDIT_RETENTION_DAYS: '0',
      ID_CACHE_TTL_SECONDS: '60',
      RETRY_SAFETY_MARGIN_MS: '5000',
      REDELIVERY_BASE_DELAY_SECONDS: '30',
      MAX_CLOCK_SKEW_SECONDS: '300',
      OCCURRED_AT_FLOOR: '2000-01-01T00:00:00Z',
    });
  });

  it('gives the functions the whole budget to share, and how many instances may call at once', () => {
    // 2 x 2 (the bus queue and the access portal's queue, MaximumConcurrency 2 each), plus the drift function.
    expect(env()).toMatchObject({ REQUESTS_PER_SECOND: '20', QUOTA_INSTANCES: '5' });
    // No producer queue here: the bus queue's 6, plus the drift function.
    buildApp({ requestsPerSecond: 15, maxConcurrency: 6 }).stateless.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ REQUESTS_PER_SECOND: '15', QUOTA_INSTANCES: '7' }) },
    });
    // Without the drift function, only the consumer's instances share it.
    buildApp({ maxConcurrency: 6, driftSchedule: 'off' }).stateless.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ REQUESTS_PER_SECOND: '20', QUOTA_INSTANCES: '6' }) },
    });
  });

  it('uses identityStoreRegion when given', () => {
    buildApp({ identityStoreRegion: 'eu-central-1' }).stateless.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ IDENTITY_STORE_REGION: 'eu-central-1' }) },
    });
  });

  it('falls back to us-east-1 with a warning when the stack has no region', () => {
    const built = buildApp({}, { env: undefined });
    built.stateless.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ IDENTITY_STORE_REGION: 'us-east-1' }) },
    });
    const warnings = built.stack.provisioner.node.metadata.filter((entry) => entry.type === 'aws:cdk:warning');
    expect(JSON.stringify(warnings)).toContain('identityStoreRegion is not set');
  });
});

describe('PRODUCERS: the declared producers as the function sees them', () => {
  const parsed = () => {
    // The queue ARN is a token at synth: substitute a literal one to read the JSON.
    const rendered = JSON.stringify(env().PRODUCERS);
    expect(rendered).toContain('Fn::Join');
    const joined = (env().PRODUCERS as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1]
      .map((part) => (typeof part === 'string' ? part : 'arn:aws:sqs:eu-west-1:123456789012:portal-queue'))
      .join('');
    return runtimeProducersSchema.parse(JSON.parse(joined));
  };

  it('is a JSON array the runtime contract accepts, in producer-name order', () => {
    // drift-repair is built in (the drift function's repairs): test/infra/drift.test.ts.
    expect(parsed().map((producer) => producer.name)).toEqual(['access-portal', 'drift-repair', 'hr', 'manual']);
  });

  it('carries a bus producer\'s source and accounts, and its grant', () => {
    expect(parsed().find((producer) => producer.name === 'hr')).toEqual({
      name: 'hr',
      via: 'bus',
      source: 'identity-provisioner.hr',
      accounts: ['111122223333'],
      eventTypes: ['user.upserted', 'user.deleted', 'group.upserted'],
      groups: ['Everyone', 'dept-*'],
    });
  });

  it('carries a queue producer\'s queue ARN, the very queue the stack created', () => {
    const portalQueueId = logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerProducerQueueAccessPortal');
    expect(JSON.stringify(env().PRODUCERS)).toContain(JSON.stringify({ 'Fn::GetAtt': [portalQueueId, 'Arn'] }));
    expect(parsed().find((producer) => producer.name === 'access-portal')).toMatchObject({ via: 'queue', groups: ['app-*'] });
  });

  it('is "[]" with no producer declared and drift off', () => {
    const template = buildApp({ driftSchedule: 'off' }).stateless;
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0];
    expect(fn.Properties.Environment.Variables.PRODUCERS).toBe('[]');
  });

  it('stays under Lambda\'s 4 KB for the typical deployment (estimate on the construct)', () => {
    const { total } = defaultTemplates().built.stack.provisioner.function.estimatedEnvironmentSize();
    expect(total).toBeLessThan(4096);
  });
});

describe('event source mapping', () => {
  it('one mapping per source queue (the bus queue and each producer queue), same settings', () => {
    const mappings = Object.values(stateless.findResources('AWS::Lambda::EventSourceMapping')).map((mapping) => mapping.Properties);
    expect(mappings.map((mapping) => mapping.EventSourceArn)).toEqual(
      expect.arrayContaining([
        { 'Fn::GetAtt': [logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerQueue'), 'Arn'] },
        { 'Fn::GetAtt': [logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerProducerQueueAccessPortal'), 'Arn'] },
      ]),
    );
    expect(mappings).toHaveLength(2);
    for (const mapping of mappings) {
      expect(mapping).toMatchObject({ FunctionResponseTypes: ['ReportBatchItemFailures'], BatchSize: 10, ScalingConfig: { MaximumConcurrency: 2 } });
    }
  });

  it('reports batch item failures, with the batch size and maximum concurrency from config', () => {
    stateless.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerQueue'), 'Arn'] },
      FunctionName: { Ref: functionId },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('follows maxConcurrency and batchSize settings', () => {
    buildApp({ ...EXAMPLE_SETTINGS, maxConcurrency: 50, batchSize: 5 }).stateless.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 5,
      ScalingConfig: { MaximumConcurrency: 50 },
    });
  });
});
