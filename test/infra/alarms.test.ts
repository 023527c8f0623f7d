import { Match } from 'aws-cdk-lib/assertions';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../../lambdas/shared/telemetry';
import { ProvisionerConfigError } from '../../lib';
import { buildApp, defaultTemplates, EXAMPLE_SETTINGS, logicalId, resourcePolicyStatements } from './build-app';

/**
 * Alarms of the typical deployment: 5 of before, the rule's 2, the producer queue's age, ProducerRefused,
 * OutcomeEventsNotPublished, and drift's 2 (DriftDetected, DriftRunFailed: test/infra/drift.test.ts).
 */
const ALARM_COUNT = 14;

const { stateless } = defaultTemplates();
const topicId = logicalId(stateless, 'AWS::SNS::Topic', 'ProvisionerAlarmsTopic');
const notifiesTheTopic = { AlarmActions: [{ Ref: topicId }] };

function mathMetric(id: string, metricName: string) {
  return Match.objectLike({
    Id: id,
    MetricStat: Match.objectLike({
      Metric: { Namespace: METRICS_NAMESPACE, MetricName: metricName, Dimensions: [{ Name: 'service', Value: SERVICE_NAME }] },
      Stat: 'Sum',
    }),
  });
}

describe('alarm topic', () => {
  it('is encrypted with the key', () => {
    stateless.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::ImportValue': Match.stringLikeRegexp('StateKey.*Arn') },
    });
  });

  it('is TLS-only', () => {
    stateless.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('subscribes alarmEmail', () => {
    buildApp({ alarmEmail: 'ops@example.com' }).stateless.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('uses alarmTopicArn instead of creating a topic', () => {
    const arn = 'arn:aws:sns:eu-west-1:123456789012:ops-pager';
    const template = buildApp({ ...EXAMPLE_SETTINGS, alarmTopicArn: arn }).stateless;
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::SNS::TopicPolicy', 0);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(ALARM_COUNT);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([arn]);
  });
});

describe('alarm topic policy: CloudWatch may publish (a topic policy replaces the SNS default one)', () => {
  const statements = () => resourcePolicyStatements(stateless, 'AWS::SNS::TopicPolicy', topicId);

  it('lets cloudwatch.amazonaws.com publish, for this account\'s alarms', () => {
    const publish = statements().find((statement) => statement.Sid === 'CloudWatchAlarmsPublish');
    expect(publish).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish',
      Resource: { Ref: topicId },
      Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    });
  });

  it('and only for the alarms of this deployment (aws:SourceArn lists each one)', () => {
    const publish = statements().find((statement) => statement.Sid === 'CloudWatchAlarmsPublish') as { Condition: { ArnLike: { 'aws:SourceArn': unknown[] } } };
    const alarmIds = Object.keys(stateless.findResources('AWS::CloudWatch::Alarm'));
    expect(alarmIds).toHaveLength(ALARM_COUNT);
    expect(publish.Condition.ArnLike['aws:SourceArn']).toEqual(alarmIds.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })));
  });

  it('keeps the TLS-only deny next to it', () => {
    expect(statements().find((statement) => statement.Sid === 'AllowPublishThroughSSLOnly')).toMatchObject({
      Effect: 'Deny',
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
  });

  it('allows no other principal', () => {
    const allows = statements().filter((statement) => statement.Effect === 'Allow');
    expect(allows.map((statement) => statement.Principal)).toEqual([{ Service: 'cloudwatch.amazonaws.com' }]);
  });
});

describe('alarm topic placement (alarm actions must name a topic in the alarms\' Region)', () => {
  const otherRegion = 'arn:aws:sns:us-east-1:123456789012:ops-pager';

  it('refuses a topic in another Region than the stack\'s', () => {
    expect(() => buildApp({ alarmTopicArn: otherRegion })).toThrow(ProvisionerConfigError);
    expect(() => buildApp({ alarmTopicArn: otherRegion })).toThrow(
      /alarmTopicArn: the topic is in us-east-1, the alarms in eu-west-1 \(the stack's Region\)/,
    );
  });

  it('refuses a topic in another partition', () => {
    expect(() => buildApp({ alarmTopicArn: 'arn:aws-cn:sns:cn-north-1:123456789012:ops' })).toThrow(
      /alarmTopicArn: the topic is in partition aws-cn, the alarms in aws/,
    );
  });

  it('refuses a topic whose ARN claims the stack\'s Region under another partition', () => {
    expect(() => buildApp({ alarmTopicArn: 'arn:aws-us-gov:sns:eu-west-1:123456789012:ops' })).toThrow(/partition aws-us-gov/);
  });

  it('refuses a look-alike Region (eu-west-10 is not eu-west-1)', () => {
    expect(() => buildApp({ alarmTopicArn: 'arn:aws:sns:eu-west-10:123456789012:ops' })).toThrow(/the topic is in eu-west-10/);
  });

  it('an environment-agnostic stack: compares with identityStoreRegion when set', () => {
    expect(() => buildApp({ identityStoreRegion: 'eu-central-1', alarmTopicArn: otherRegion }, { env: undefined })).toThrow(
      /the alarms in eu-central-1 \(identityStoreRegion, the stack having no Region at synth\)/,
    );
    expect(() =>
      buildApp({ identityStoreRegion: 'us-east-1', alarmTopicArn: otherRegion }, { env: undefined }),
    ).not.toThrow();
  });

  it('an environment-agnostic stack without identityStoreRegion: synth passes with a warning', () => {
    const built = buildApp({ alarmTopicArn: otherRegion }, { env: undefined });
    const warnings = built.stack.provisioner.node.metadata.filter((entry) => entry.type === 'aws:cdk:warning');
    expect(JSON.stringify(warnings)).toContain('alarmTopicArn cannot be checked at synth');
  });

  it('a China Region stack accepts a topic of the aws-cn partition in its Region', () => {
    expect(() =>
      buildApp({ alarmTopicArn: 'arn:aws-cn:sns:cn-north-1:123456789012:ops' }, { env: { account: '123456789012', region: 'cn-north-1' } }),
    ).not.toThrow();
  });
});

describe('alarms', () => {
  it('DLQ depth > 0', () => {
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...notifiesTheTopic,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerDeadLetterQueue'), 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      // The on-call engineer is told the command that inspects and redrives it.
      AlarmDescription: Match.stringLikeRegexp('npm run dlq -- list\\|show\\|redrive --stack'),
    });
  });

  it('rule DLQ depth > 0', () => {
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...notifiesTheTopic,
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerRuleDeadLetterQueue'), 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('age of the oldest queued message > 15 minutes', () => {
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...notifiesTheTopic,
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerQueue'), 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: 900,
    });
  });

  it('failure rate: (EventsFailed + EventsRejected) over all outcomes, in percent', () => {
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...notifiesTheTopic,
      Threshold: 10,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: Match.stringLikeRegexp('100 \\* \\(FILL\\(failed, 0\\) \\+ FILL\\(rejected, 0\\)\\)') }),
        mathMetric('applied', METRIC.applied),
        mathMetric('noop', METRIC.noop),
        mathMetric('superseded', METRIC.superseded),
        mathMetric('rejected', METRIC.rejected),
        mathMetric('failed', METRIC.failed),
      ]),
    });
  });

  it('throttle rate: ThrottledCalls / IdentityStoreCalls, in percent', () => {
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...notifiesTheTopic,
      Threshold: 5,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(FILL(calls, 0) > 0, 100 * FILL(throttled, 0) / calls, 0)' }),
        mathMetric('calls', METRIC.identityStoreCalls),
        mathMetric('throttled', METRIC.throttledCalls),
      ]),
    });
  });

  it('events refused because of who sent them: EventsProducerRefused >= 1 (Sum, 5 minutes)', () => {
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...notifiesTheTopic,
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.producerRefused,
      Dimensions: [{ Name: 'service', Value: SERVICE_NAME }],
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
    });
  });

  it('outcomes recorded but not announced: OutcomeEventsNotPublished >= 1 (Sum, 5 minutes)', () => {
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...notifiesTheTopic,
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.outcomeEventsNotPublished,
      Dimensions: [{ Name: 'service', Value: SERVICE_NAME }],
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
    });
  });

  it.each([['FailedInvocations'], ['InvocationsFailedToBeSentToDlq']])(
    'the rule\'s %s >= 1 (AWS/Events, RuleName, with and without EventBusName)',
    (metricName) => {
      const ruleName = { Ref: logicalId(stateless, 'AWS::Events::Rule', 'ProvisionerRule') };
      const busName = { Ref: logicalId(stateless, 'AWS::Events::EventBus', 'ProvisionerEventBus') };
      stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...notifiesTheTopic,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        Metrics: Match.arrayWith([
          Match.objectLike({ Expression: 'FILL(byRule, 0) + FILL(byBusAndRule, 0)' }),
          Match.objectLike({
            Id: 'byRule',
            MetricStat: Match.objectLike({
              Metric: { Namespace: 'AWS/Events', MetricName: metricName, Dimensions: [{ Name: 'RuleName', Value: ruleName }] },
              Stat: 'Sum',
              Period: 300,
            }),
          }),
          Match.objectLike({
            Id: 'byBusAndRule',
            MetricStat: Match.objectLike({
              Metric: {
                Namespace: 'AWS/Events',
                MetricName: metricName,
                Dimensions: Match.arrayWith([{ Name: 'EventBusName', Value: busName }, { Name: 'RuleName', Value: ruleName }]),
              },
            }),
          }),
        ]),
      });
    },
  );

  it('age of the oldest message in each producer queue > 15 minutes', () => {
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...notifiesTheTopic,
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerProducerQueueAccessPortal'), 'QueueName'] } }],
      Threshold: 900,
    });
  });

  it('no rule alarms and no rule DLQ alarm when no producer uses the bus (and drift, whose repairs come by the bus, is off)', () => {
    const template = buildApp({ driftSchedule: 'off' }).stateless;
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    // DLQ depth, oldest message, failure rate, throttle rate, ProducerRefused, OutcomeEventsNotPublished,
    // and the audit digester's two (lib/audit-digests.ts).
    expect(alarms).toHaveLength(8);
    expect(JSON.stringify(alarms)).not.toContain('AWS/Events');
  });

  it('every alarm notifies the topic and treats missing data as not breaching (but AuditDigestsStale, for which no data is the failure)', () => {
    const alarms = Object.entries(stateless.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(ALARM_COUNT);
    for (const [id, alarm] of alarms) {
      const missing = id.startsWith('ProvisionerAlarmsAuditDigestsStale') ? 'breaching' : 'notBreaching';
      expect(alarm.Properties).toMatchObject({ ...notifiesTheTopic, TreatMissingData: missing });
    }
  });
});
