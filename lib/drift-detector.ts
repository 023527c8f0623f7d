/**
 * Drift detection, deployed: a function that compares the managed scope of the identity store
 * with what the service last applied (lambdas/domain/drift.ts), started by an EventBridge
 * Scheduler schedule (`driftSchedule`, default daily), and the queue where a run that could not
 * start or failed ends up.
 *
 *   Scheduler (its own role: lambda:InvokeFunction on this function only)
 *     -> drift function (reserved concurrency 1: two runs never overlap)
 *          reads the identity store (read actions only) and the state table, paced like a consumer
 *          instance and waiting while the source queues have events;
 *          appends DRIFT records to the audit trail, remembers findings (DRIFT# items),
 *          publishes identity.drift.detected (outcome source), and with driftAction "repair"
 *          puts events on the bus as the built-in producer drift-repair (lambdas/shared/producers.ts).
 *     -> failed to start (Scheduler) or failed (Lambda, asynchronous invocation): the drift DLQ.
 *
 * The function's role comes from the stateful half (the audit table's policy names it), imported
 * by name like the consumer's; every permission is attached here.
 */
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { AnyPrincipal, Effect, type IRole, PolicyStatement, Role } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { type ISchedule, type IScheduleTarget, Schedule, ScheduleExpression, type ScheduleTargetConfig } from 'aws-cdk-lib/aws-scheduler';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DRIFT_RUNTIME_ENV_KEYS, type DriftRuntimeConfig } from '../lambdas/shared/config';
import { DRIFT_REPAIR_EVENT_TYPES, DRIFT_REPAIR_SOURCE } from '../lambdas/shared/producers';
import { DRIFT_DETAIL_TYPE, OUTCOME_EVENT_SOURCE } from '../lambdas/shared/telemetry';
import { QUOTA_LEDGER_KEY } from '../lambdas/shared/tables';
import type { DriftAction } from './config';
import { AUDIT_TABLE_ACTIONS, schedulerRole, ServiceFunction, type ServiceFunctionProps } from './provisioner-function';

/** The handler is someone else's code; this construct only points at it. */
export const DRIFT_ENTRY = path.join(__dirname, '..', 'lambdas', 'handlers', 'drift-detector.ts');

/**
 * Exactly the Identity Store calls a drift run makes (lambdas/domain/managed-view.ts): list the
 * groups, list each managed group's members, describe the users concerned. Reads only: the drift
 * function cannot change the store; a repair is an event the consumer applies.
 */
export const IDENTITY_STORE_READ_ACTIONS = [
  'identitystore:ListGroups',
  'identitystore:ListGroupMemberships',
  'identitystore:DescribeUser',
] as const;

/** Reads of the state table: applied facts (a paged Scan), managed marks, intents, drift memory. */
export const STATE_TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan'] as const;
/** Writes of the state table, on the drift memory items only (dynamodb:LeadingKeys). */
export const DRIFT_MEMORY_WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] as const;
/** The partition keys of the drift memory items: when each current finding was first seen. */
export const DRIFT_MEMORY_KEY_PATTERN = 'DRIFT#*';

/** A run walks the whole managed scope and waits while events are processed: the longest Lambda allows. */
export const DRIFT_FUNCTION_TIMEOUT = Duration.minutes(15);
/** How long Scheduler keeps trying to start a run (Lambda refusing the invocation), and how often. */
export const DRIFT_SCHEDULE_MAX_EVENT_AGE = Duration.hours(1);
export const DRIFT_SCHEDULE_RETRY_ATTEMPTS = 3;

type DriftRuntimeEnvKey = keyof DriftRuntimeConfig;

export interface DriftFunctionProps extends ServiceFunctionProps {
  /** Where Lambda puts an asynchronous invocation (a scheduled run) that failed (on-failure destination). */
  readonly deadLetterQueue: IQueue;
}

/** The drift function: the service's function defaults, reserved concurrency 1, no retry of a failed run. */
export class DriftFunction extends ServiceFunction<DriftRuntimeEnvKey> {
  constructor(scope: Construct, id: string, props: DriftFunctionProps) {
    super(scope, id, props, {
      entry: DRIFT_ENTRY,
      runtimeEnvKeys: DRIFT_RUNTIME_ENV_KEYS,
      contract: 'the drift configuration (driftRuntimeConfigSchema, lambdas/shared/config.ts)',
      // Two runs never overlap: a run started while another is going waits in Lambda's async queue.
      reservedConcurrentExecutions: 1,
      description: 'identity-provisioner drift detection: compares the managed scope with what the service applied',
      // A failed run (its error with it) goes to the drift DLQ, which an alarm watches. It is not
      // retried at once (it would read the whole scope again): the next scheduled run starts afresh.
      onFailure: new SqsDestination(props.deadLetterQueue),
      retryAttempts: 0,
    });
    Validations.of(this).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Failed asynchronous (scheduled) invocations go to an on-failure destination instead, the drift DLQ, whose ' +
        'records carry the error as well; a DeadLetterConfig to the same queue would put each failure there twice.',
    });
  }

  /** Identity Store reads only, on the one store. */
  public bindIdentityStore(identityStoreId: string, identityStoreRegion: string): void {
    this.allowIdentityStore(IDENTITY_STORE_READ_ACTIONS, identityStoreId, identityStoreRegion);
  }

  /**
   * Reads anywhere in the state table; writes only to the drift memory items (DRIFT#...) and to
   * the shared Identity Store budget's item (its calls take their slots there, as the consumer's do).
   */
  public bindStateTable(table: ITable): void {
    this.allowOnTable(table, STATE_TABLE_READ_ACTIONS);
    this.allowOnTable(table, DRIFT_MEMORY_WRITE_ACTIONS, {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [DRIFT_MEMORY_KEY_PATTERN] },
    });
    this.allowOnTable(table, ['dynamodb:UpdateItem'], {
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [QUOTA_LEDGER_KEY] },
    });
    this.setRuntimeEnv('STATE_TABLE_NAME', table.tableName);
  }

  /** Append-only, as the consumer: PutItem (conditional on the item not existing), GetItem to confirm a put whose answer was lost. */
  public bindAuditTable(table: ITable, retentionDays: number): void {
    this.allowOnTable(table, AUDIT_TABLE_ACTIONS);
    this.setRuntimeEnv('AUDIT_TABLE_NAME', table.tableName);
    this.setRuntimeEnv('AUDIT_RETENTION_DAYS', String(retentionDays));
  }

  /**
   * PutEvents on this bus: the outcome source for identity.drift.detected and, with driftAction
   * "repair" only, the drift-repair producer's source for repairs (its event types). A reporting
   * function cannot send a repair at all: the drift-repair producer still exists (it is declared
   * whenever the function is deployed), but its one principal has no Allow for its source. Both
   * operators are ForAllValues (every entry): events:source and events:detail-type are multivalued.
   */
  public bindBus(bus: IEventBus, action: DriftAction): void {
    const repairs = action === 'repair';
    this.addToRolePolicy(
      new PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [bus.eventBusArn],
        conditions: {
          'ForAllValues:StringEquals': {
            'events:source': repairs ? [OUTCOME_EVENT_SOURCE, DRIFT_REPAIR_SOURCE] : [OUTCOME_EVENT_SOURCE],
            'events:detail-type': repairs ? [DRIFT_DETAIL_TYPE, ...DRIFT_REPAIR_EVENT_TYPES] : [DRIFT_DETAIL_TYPE],
          },
        },
      }),
    );
    this.setRuntimeEnv('EVENT_BUS_NAME', bus.eventBusName);
    this.setRuntimeEnv('DRIFT_ACTION', action);
  }

  /** The consumer's source queues: how many events they hold (GetQueueAttributes), to wait while they have work. */
  public bindSourceQueues(sourceQueues: readonly IQueue[]): void {
    this.addToRolePolicy(
      new PolicyStatement({ actions: ['sqs:GetQueueAttributes'], resources: sourceQueues.map((queue) => queue.queueArn) }),
    );
    this.setRuntimeEnv(
      'SOURCE_QUEUE_URLS',
      Stack.of(this).toJsonString(sourceQueues.map((queue) => queue.queueUrl)),
      JSON.stringify(sourceQueues.map((queue) => queue.queueUrl)),
    );
  }
}

export interface DriftDetectorProps {
  /** The drift function's role, imported from the stateful half. */
  readonly role: IRole;
  readonly key: IKey;
  readonly auditTable: ITable;
  readonly auditRetentionDays: number;
  readonly stateTable: ITable;
  readonly eventBus: IEventBus;
  /** The consumer's source queues (the bus queue and every producer queue). */
  readonly sourceQueues: readonly IQueue[];
  readonly identityStoreId: string;
  readonly identityStoreRegion: string;
  readonly managedGroupScope: string;
  /** The consumer's per-instance share of the Identity Store budget: a drift run is paced as one more instance. */
  /** The deployment's shared Identity Store budget (as the consumer's). */
  readonly quota: { requestsPerSecond: number; instances: number };
  readonly retrySafetyMarginMs: number;
  /** A validated driftSchedule (not `off`). */
  readonly schedule: string;
  readonly action: DriftAction;
  /** What happens to the DLQ when the stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
}

export class DriftDetector extends Construct {
  public readonly function: DriftFunction;
  public readonly schedule: Schedule;
  /** The role Scheduler invokes the function with. */
  public readonly schedulerRole: Role;
  /** Runs Scheduler could not start, and runs that failed. */
  public readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: DriftDetectorProps) {
    super(scope, id);

    // SQS-managed encryption, like the rule's DLQ: Scheduler and Lambda write to it as the
    // scheduler's and the function's roles, with no key grant to keep in step.
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.deadLetterQueue).acknowledge(
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason:
          'This queue is itself a dead-letter queue (of the drift schedule and of the drift function\'s asynchronous ' +
          'invocations), the end of the line: it is watched by an alarm; the next scheduled run starts afresh.',
      },
      {
        id: 'AwsSolutions-SQS3',
        reason:
          "This is the drift schedule's dead-letter queue (Target DeadLetterConfig) and the drift function's on-failure " +
          'destination, which cdk-nag does not recognise as a DLQ because no queue redrive policy points at it.',
      },
    );

    this.function = new DriftFunction(this, 'Function', {
      role: props.role,
      key: props.key,
      timeout: DRIFT_FUNCTION_TIMEOUT,
      deadLetterQueue: this.deadLetterQueue,
    });
    const fn = this.function;
    fn.bindIdentityStore(props.identityStoreId, props.identityStoreRegion);
    fn.bindKey(props.key);
    fn.bindAuditTable(props.auditTable, props.auditRetentionDays);
    fn.bindStateTable(props.stateTable);
    fn.bindBus(props.eventBus, props.action);
    fn.bindSourceQueues(props.sourceQueues);
    fn.setRuntimeEnv('REQUESTS_PER_SECOND', String(props.quota.requestsPerSecond));
    fn.setRuntimeEnv('QUOTA_INSTANCES', String(props.quota.instances));
    fn.setRuntimeEnv('MANAGED_GROUP_SCOPE', props.managedGroupScope);
    fn.setRuntimeEnv('RETRY_SAFETY_MARGIN_MS', String(props.retrySafetyMarginMs));

    // It may invoke this one function and write the DLQ.
    this.schedulerRole = schedulerRole(this, 'SchedulerRole', 'identity-provisioner drift schedule: invokes the drift function');
    this.schedule = new Schedule(this, 'Schedule', {
      schedule: ScheduleExpression.expression(props.schedule),
      description: `identity-provisioner drift detection (${props.action})`,
      target: new InvokeDriftFunction(fn, this.schedulerRole, this.deadLetterQueue),
    });

    // Only the scheduler (its role) and Lambda (as the function's role) put messages here.
    this.deadLetterQueue.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyTheDriftScheduleAndFunctionSend',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['sqs:SendMessage'],
        resources: [this.deadLetterQueue.queueArn],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': [this.schedulerRole.roleArn, props.role.roleArn] } },
      }),
    );
  }
}

/**
 * Scheduler's Lambda target with exactly lambda:InvokeFunction on the function (the aws-scheduler-targets
 * LambdaInvoke also grants every version and alias, `<arn>:*`, which this schedule never invokes),
 * a retry policy and the DLQ.
 */
class InvokeDriftFunction implements IScheduleTarget {
  constructor(
    private readonly fn: DriftFunction,
    private readonly role: Role,
    private readonly deadLetterQueue: IQueue,
  ) {}

  bind(_schedule: ISchedule): ScheduleTargetConfig {
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.fn.functionArn] }));
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }));
    return {
      arn: this.fn.functionArn,
      role: this.role,
      deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
      retryPolicy: {
        maximumEventAgeInSeconds: DRIFT_SCHEDULE_MAX_EVENT_AGE.toSeconds(),
        maximumRetryAttempts: DRIFT_SCHEDULE_RETRY_ATTEMPTS,
      },
    };
  }
}
