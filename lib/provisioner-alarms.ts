/**
 * What an operator is paged for, each alarm with an action to one SNS topic: the one given
 * (alarmTopicArn) or one created here, encrypted with the key and TLS-only, optionally with an
 * e-mail subscription. Metric names come from lambdas/shared/telemetry.ts, so an alarm cannot
 * watch a metric the function does not emit.
 *
 * A topic policy replaces SNS's default one: the created topic's policy must itself let
 * CloudWatch publish, or no alarm notification would ever arrive.
 */
import { Aws, Duration, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IEventBus, IRule } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../lambdas/shared/telemetry';
import { pascal } from './access-policies';

/** A message older than this means the consumer is stuck, throttled hard or out of concurrency. */
export const OLDEST_MESSAGE_AGE_THRESHOLD = Duration.minutes(15);
/** Percent of outcomes that are failed or rejected, per 5 minutes. */
export const FAILURE_RATE_THRESHOLD_PERCENT = 10;
/** Percent of Identity Store calls throttled, per 5 minutes: the budget is set too high. */
export const THROTTLE_RATE_THRESHOLD_PERCENT = 5;

const RATE_PERIOD = Duration.minutes(5);
/** Hours without a new audit digest (one is due every hour) before AuditDigestsStale fires. */
export const AUDIT_DIGESTS_STALE_HOURS = 3;

export interface ProvisionerAlarmsProps {
  /** Encrypts the topic created here. */
  readonly key: IKey;
  /** The bus queue. */
  readonly queue: IQueue;
  /** One queue per `via: queue` producer, by producer name. */
  readonly producerQueues: Readonly<Record<string, IQueue>>;
  readonly deadLetterQueue: IQueue;
  /** The rule and its DLQ and bus: absent when no producer uses the bus. */
  readonly ruleDeadLetterQueue?: IQueue;
  readonly rule?: IRule;
  readonly eventBus: IEventBus;
  /** Use this topic instead of creating one. */
  readonly alarmTopicArn?: string;
  /** Subscribe this address to the created topic. */
  readonly alarmEmail?: string;
  /** The drift function's DLQ (runs that could not start or failed); absent when drift is off (no drift alarms). */
  readonly driftDeadLetterQueue?: IQueue;
  /** The hourly audit digester (lib/audit-digests.ts). */
  readonly auditDigester: IFunction;
}

export class ProvisionerAlarms extends Construct {
  public readonly topic: ITopic;
  public readonly deadLetterQueueDepth: Alarm;
  public readonly ruleDeadLetterQueueDepth?: Alarm;
  /** EventBridge gave up delivering to the bus queue (FailedInvocations). */
  public readonly ruleFailedInvocations?: Alarm;
  /** EventBridge could not even write the event to the rule DLQ (InvocationsFailedToBeSentToDlq). */
  public readonly ruleDeadLetterWriteFailures?: Alarm;
  /** The bus queue's oldest message. */
  public readonly oldestMessageAge: Alarm;
  /** Each producer queue's oldest message, by producer name. */
  public readonly producerQueueOldestMessageAge: Readonly<Record<string, Alarm>>;
  public readonly failureRate: Alarm;
  public readonly throttleRate: Alarm;
  /** Events refused because of who sent them (PRODUCER_UNKNOWN, PRODUCER_NOT_ALLOWED). */
  public readonly producerRefused: Alarm;
  public readonly outcomeEventsNotPublished: Alarm;
  /** A drift run found the managed scope departing from what the service applied (DriftFindings > 0). */
  public readonly driftDetected?: Alarm;
  /** A drift run could not start or failed: drift goes unseen until one succeeds. */
  public readonly driftRunFailed?: Alarm;
  /** A digester run failed (its error is in the function's log). */
  public readonly auditDigesterErrors: Alarm;
  /** No audit digest written for AUDIT_DIGESTS_STALE_HOURS hours: failing, not started, or stuck. */
  public readonly auditDigestsStale: Alarm;
  /** Every alarm created here (the created topic lets exactly these publish). */
  public readonly all: Alarm[] = [];

  constructor(scope: Construct, id: string, props: ProvisionerAlarmsProps) {
    super(scope, id);
    const createdTopic = props.alarmTopicArn === undefined ? this.createTopic(props) : undefined;
    this.topic = createdTopic ?? Topic.fromTopicArn(this, 'Topic', props.alarmTopicArn as string);
    const action = new SnsAction(this.topic);

    const alarm = (alarmId: string, settings: AlarmSettings): Alarm => {
      const created = new Alarm(this, alarmId, {
        treatMissingData: TreatMissingData.NOT_BREACHING,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        ...settings,
      });
      created.addAlarmAction(action);
      this.all.push(created);
      return created;
    };

    this.deadLetterQueueDepth = alarm('DeadLetterQueueDepth', {
      alarmDescription:
        'Events in the DLQ: rejected by the function (see the rejectionCode/rejectionReason attributes) or failed 5 receives. ' +
        'Fix the cause, then redrive as an operator: npm run dlq -- list|show|redrive --stack <this stack> (docs/operations.md).',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: Duration.minutes(1),
      }),
      threshold: 0,
    });
    if (props.ruleDeadLetterQueue !== undefined) {
      this.ruleDeadLetterQueueDepth = alarm('RuleDeadLetterQueueDepth', {
        alarmDescription:
          'EventBridge could not deliver events to the queue (queue or key policy, KMS, or the queue was gone).',
        metric: props.ruleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: 'Maximum',
          period: Duration.minutes(1),
        }),
        threshold: 0,
      });
    }
    if (props.rule !== undefined) {
      this.ruleFailedInvocations = alarm('RuleFailedInvocations', {
        alarmDescription:
          'EventBridge gave up delivering events to the queue (FailedInvocations): they are in the rule DLQ. ' +
          'Check the queue policy and the key, then redrive the rule DLQ.',
        metric: ruleMetric('FailedInvocations', props.rule, props.eventBus),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
      this.ruleDeadLetterWriteFailures = alarm('RuleDeadLetterWriteFailures', {
        alarmDescription:
          'EventBridge could not write undeliverable events to the rule DLQ either (InvocationsFailedToBeSentToDlq): ' +
          'those events are lost. Check the rule DLQ policy; ask the producers to resend.',
        metric: ruleMetric('InvocationsFailedToBeSentToDlq', props.rule, props.eventBus),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
    }
    const oldestMessage = (queue: IQueue, whose: string): AlarmSettings => ({
      alarmDescription: `The oldest event in ${whose} waits more than ${OLDEST_MESSAGE_AGE_THRESHOLD.toMinutes()} minutes: the consumer is stuck, throttled or short of concurrency.`,
      metric: queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(5) }),
      threshold: OLDEST_MESSAGE_AGE_THRESHOLD.toSeconds(),
    });
    this.oldestMessageAge = alarm('OldestMessageAge', oldestMessage(props.queue, 'the bus queue'));
    this.producerQueueOldestMessageAge = Object.fromEntries(
      Object.entries(props.producerQueues).map(([name, queue]) => [
        name,
        alarm(`OldestMessageAge${pascal(name)}`, oldestMessage(queue, `the queue of producer ${name}`)),
      ]),
    );
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
    this.producerRefused = alarm('ProducerRefused', {
      alarmDescription:
        'Events were refused because of who sent them: a producer asked for more than its grant (PRODUCER_NOT_ALLOWED) ' +
        'or the sender is not a declared producer (PRODUCER_UNKNOWN). Read rejectionReason in the DLQ or the audit trail.',
      metric: serviceMetric(METRIC.producerRefused),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
    this.outcomeEventsNotPublished = alarm('OutcomeEventsNotPublished', {
      alarmDescription:
        'Outcomes were recorded in the audit trail but their identity.change.* events could not be published to the bus: ' +
        'downstream automation missed them. Check the function log ("outcome event not published") and catch up from the audit trail.',
      metric: serviceMetric(METRIC.outcomeEventsNotPublished),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });

    if (props.driftDeadLetterQueue !== undefined) {
      this.driftDetected = alarm('DriftDetected', {
        alarmDescription:
          'A drift run found users, groups or memberships of the managed scope that differ from what this service applied ' +
          '(changed outside it: the console, SCIM, another tool). Each finding is a DRIFT record in the audit trail ' +
          '(npm run audit); the identity.drift.detected event lists them. With driftAction "repair" the run also sent ' +
          'the events that put them back (producer drift-repair).',
        metric: serviceMetric(METRIC.driftFindings, 'Maximum'),
        threshold: 0,
      });
      this.driftRunFailed = alarm('DriftRunFailed', {
        alarmDescription:
          'A drift run could not be started by its schedule or failed (its invocation is in the drift DLQ, with the error): ' +
          'drift goes unseen until a run succeeds. A run also ends this way when the source queues held events for its ' +
          'whole invocation (DriftYieldTimeoutError: event processing goes first). Read the drift function\'s log, fix ' +
          'the cause, then purge the drift DLQ.',
        metric: props.driftDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: 'Maximum',
          period: Duration.minutes(5),
        }),
        threshold: 0,
      });
    }

    this.auditDigesterErrors = alarm('AuditDigesterErrors', {
      alarmDescription:
        'An audit digester run failed (see its log): the hours it did not digest are written by the next run, which ' +
        'starts from the newest digest in the bucket. If every run fails, AuditDigestsStale follows.',
      metric: props.auditDigester.metricErrors({ statistic: 'Sum', period: Duration.hours(1) }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
    this.auditDigestsStale = alarm('AuditDigestsStale', {
      alarmDescription:
        `No audit digest was written for ${AUDIT_DIGESTS_STALE_HOURS} hours (one is due every hour): the digester fails, ` +
        'is not started by its schedule, or is stuck. Records written meanwhile are not yet covered by tamper evidence; ' +
        'the next successful run digests every hour still due. (Also in ALARM during the first hours after the first deploy, ' +
        'before the first digest.)',
      metric: new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: METRIC.digestsWritten,
        dimensionsMap: { service: SERVICE_NAME },
        statistic: 'Sum',
        period: Duration.hours(1),
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: AUDIT_DIGESTS_STALE_HOURS,
      datapointsToAlarm: AUDIT_DIGESTS_STALE_HOURS,
      // No run at all publishes no data point: that is the failure this alarm is for.
      treatMissingData: TreatMissingData.BREACHING,
    });

    if (createdTopic !== undefined) this.letAlarmsPublish(createdTopic);
  }

  /**
   * The topic's policy replaces SNS's default one, so CloudWatch may publish only if it says so:
   * for this account's alarms, these alarms only.
   */
  private letAlarmsPublish(topic: Topic): void {
    topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': this.all.map((created) => created.alarmArn) },
        },
      }),
    );
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
  comparisonOperator?: ComparisonOperator;
  treatMissingData?: TreatMissingData;
};

/**
 * A rule's AWS/Events metric (Sum per 5 minutes). EventBridge's documentation lists these metrics
 * with the RuleName dimension and says a custom bus's rules carry EventBusName and RuleName: the
 * alarm adds both series (each missing one as 0), so it fires whichever form is published.
 */
function ruleMetric(metricName: string, rule: IRule, eventBus: IEventBus): MathExpression {
  const metric = (dimensionsMap: Record<string, string>) =>
    new Metric({ namespace: 'AWS/Events', metricName, dimensionsMap, statistic: 'Sum', period: RATE_PERIOD });
  return new MathExpression({
    label: `${metricName} of the rule`,
    expression: 'FILL(byRule, 0) + FILL(byBusAndRule, 0)',
    usingMetrics: {
      byRule: metric({ RuleName: rule.ruleName }),
      byBusAndRule: metric({ EventBusName: eventBus.eventBusName, RuleName: rule.ruleName }),
    },
    period: RATE_PERIOD,
  });
}

/** A Powertools EMF metric (every metric carries the `service` dimension). */
function serviceMetric(metricName: string, statistic = 'Sum'): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME },
    statistic,
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
