/**
 * What an operator is paged for, each alarm with an action to one SNS topic: the one given
 * (alarmTopicArn) or one created here, encrypted with the key and TLS-only, optionally with an
 * e-mail subscription. Metric names come from lambdas/shared/telemetry.ts, so an alarm cannot
 * watch a metric the function does not emit.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../lambdas/shared/telemetry';

/** A message older than this means the consumer is stuck, throttled hard or out of concurrency. */
export const OLDEST_MESSAGE_AGE_THRESHOLD = Duration.minutes(15);
/** Percent of outcomes that are failed or rejected, per 5 minutes. */
export const FAILURE_RATE_THRESHOLD_PERCENT = 10;
/** Percent of Identity Store calls throttled, per 5 minutes: the budget is set too high. */
export const THROTTLE_RATE_THRESHOLD_PERCENT = 5;

const RATE_PERIOD = Duration.minutes(5);

export interface ProvisionerAlarmsProps {
  /** Encrypts the topic created here. */
  readonly key: IKey;
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly ruleDeadLetterQueue: IQueue;
  /** Use this topic instead of creating one. */
  readonly alarmTopicArn?: string;
  /** Subscribe this address to the created topic. */
  readonly alarmEmail?: string;
}

export class ProvisionerAlarms extends Construct {
  public readonly topic: ITopic;
  public readonly deadLetterQueueDepth: Alarm;
  public readonly ruleDeadLetterQueueDepth: Alarm;
  public readonly oldestMessageAge: Alarm;
  public readonly failureRate: Alarm;
  public readonly throttleRate: Alarm;

  constructor(scope: Construct, id: string, props: ProvisionerAlarmsProps) {
    super(scope, id);
    this.topic = props.alarmTopicArn !== undefined ? Topic.fromTopicArn(this, 'Topic', props.alarmTopicArn) : this.createTopic(props);
    const action = new SnsAction(this.topic);

    const alarm = (alarmId: string, settings: AlarmSettings): Alarm => {
      const created = new Alarm(this, alarmId, {
        treatMissingData: TreatMissingData.NOT_BREACHING,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        ...settings,
      });
      created.addAlarmAction(action);
      return created;
    };

    this.deadLetterQueueDepth = alarm('DeadLetterQueueDepth', {
      alarmDescription:
        'Events in the DLQ: rejected by the function (see the rejectionCode/rejectionReason attributes) or failed 5 receives. ' +
        'Fix the cause, then redrive with aws sqs start-message-move-task.',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: Duration.minutes(1),
      }),
      threshold: 0,
    });
    this.ruleDeadLetterQueueDepth = alarm('RuleDeadLetterQueueDepth', {
      alarmDescription:
        'EventBridge could not deliver events to the queue (queue or key policy, KMS, or the queue was gone).',
      metric: props.ruleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: Duration.minutes(1),
      }),
      threshold: 0,
    });
    this.oldestMessageAge = alarm('OldestMessageAge', {
      alarmDescription: `The oldest queued event waits more than ${OLDEST_MESSAGE_AGE_THRESHOLD.toMinutes()} minutes: the consumer is stuck, throttled or short of concurrency.`,
      metric: props.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(5) }),
      threshold: OLDEST_MESSAGE_AGE_THRESHOLD.toSeconds(),
    });
    this.failureRate = alarm('FailureRate', {
      alarmDescription: `More than ${FAILURE_RATE_THRESHOLD_PERCENT}% of outcomes failed or rejected in 2 of 3 five-minute periods.`,
      metric: failureRatePercent(),
      threshold: FAILURE_RATE_THRESHOLD_PERCENT,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    });
    this.throttleRate = alarm('ThrottleRate', {
      alarmDescription: `More than ${THROTTLE_RATE_THRESHOLD_PERCENT}% of Identity Store calls throttled in 3 five-minute periods: lower requestsPerSecond or find the other caller.`,
      metric: throttleRatePercent(),
      threshold: THROTTLE_RATE_THRESHOLD_PERCENT,
      evaluationPeriods: 3,
    });
  }

  private createTopic(props: ProvisionerAlarmsProps): Topic {
    const topic = new Topic(this, 'Topic', {
      displayName: 'identity-provisioner alarms',
      masterKey: props.key,
      enforceSSL: true,
    });
    if (props.alarmEmail !== undefined) {
      const subscription = topic.addSubscription(new EmailSubscription(props.alarmEmail));
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'E-mail alarm notifications: an undeliverable notification leaves the alarm in ALARM state in ' +
          'CloudWatch, where it stays visible; a DLQ of notifications would itself need watching.',
      });
    }
    return topic;
  }
}

type AlarmSettings = {
  alarmDescription: string;
  metric: IMetric;
  threshold: number;
  evaluationPeriods?: number;
  datapointsToAlarm?: number;
};

/** A Powertools EMF metric (every metric carries the `service` dimension). */
function serviceMetric(metricName: string): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME },
    statistic: 'Sum',
    period: RATE_PERIOD,
  });
}

/** (failed + rejected) / all outcomes, in percent; 0 when there were no outcomes. */
function failureRatePercent(): MathExpression {
  const problems = 'FILL(failed, 0) + FILL(rejected, 0)';
  const outcomes = `(FILL(applied, 0) + FILL(noop, 0) + FILL(superseded, 0) + ${problems})`;
  return new MathExpression({
    label: 'Failed or rejected outcomes (%)',
    expression: `IF(${outcomes} > 0, 100 * (${problems}) / ${outcomes}, 0)`,
    usingMetrics: {
      applied: serviceMetric(METRIC.applied),
      noop: serviceMetric(METRIC.noop),
      superseded: serviceMetric(METRIC.superseded),
      rejected: serviceMetric(METRIC.rejected),
      failed: serviceMetric(METRIC.failed),
    },
    period: RATE_PERIOD,
  });
}

/** ThrottledCalls / IdentityStoreCalls, in percent; 0 when there were no calls. */
function throttleRatePercent(): MathExpression {
  return new MathExpression({
    label: 'Throttled Identity Store calls (%)',
    expression: 'IF(FILL(calls, 0) > 0, 100 * FILL(throttled, 0) / calls, 0)',
    usingMetrics: {
      calls: serviceMetric(METRIC.identityStoreCalls),
      throttled: serviceMetric(METRIC.throttledCalls),
    },
    period: RATE_PERIOD,
  });
}
