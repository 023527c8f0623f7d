import { Match } from 'aws-cdk-lib/assertions';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../../lambdas/shared/telemetry';
import { buildApp, defaultTemplates, logicalId } from './build-app';

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
    const template = buildApp({ alarmTopicArn: arn }).stateless;
    template.resourceCountIs('AWS::SNS::Topic', 0);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(5);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([arn]);
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

  it('every alarm notifies the topic and treats missing data as not breaching', () => {
    const alarms = Object.values(stateless.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(5);
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({ ...notifiesTheTopic, TreatMissingData: 'notBreaching' });
    }
  });
});
