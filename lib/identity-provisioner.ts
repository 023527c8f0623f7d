/**
 * The stateless half: the bus rule, the ingestion queue and its DLQ, the rule's own DLQ, the
 * consumer function and the alarms. It takes the stateful half (key and tables) as a prop, so it
 * can be replaced or redeployed without touching the audit trail.
 *
 *   producers -> EventBridge bus -> rule (accepted sources x v1 detail-types) -> SQS queue -> function
 *                                   '-> rule DLQ (delivery failed)              '-> DLQ (5 receives / rejected)
 *   function  -> bus (identity.change.applied|rejected|failed, source identity-provisioner)
 */
import { Annotations, Duration, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { EventBus, type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { EVENTS_TARGET_QUEUE_SAME_ACCOUNT } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { ingestionEventPattern } from '../lambdas/shared/ingestion';
import { parseProvisionerSettings, type ProvisionerConfig, type ProvisionerSettings } from './config';
import type { IdentityProvisionerState } from './identity-provisioner-state';
import { ProvisionerAlarms } from './provisioner-alarms';
import { ProvisionerFunction } from './provisioner-function';

/** Region used when neither identityStoreRegion nor a concrete stack region is known. */
export const FALLBACK_IDENTITY_STORE_REGION = 'us-east-1';
/** The one MessageGroupId EventBridge can put on a FIFO target (a rule target takes a fixed value). */
export const EVENTBRIDGE_MESSAGE_GROUP_ID = 'eventbridge';
/** How long EventBridge keeps retrying delivery to the queue before it uses the rule's DLQ. */
export const RULE_TARGET_MAX_EVENT_AGE = Duration.hours(24);
export const RULE_TARGET_RETRY_ATTEMPTS = 185;
/** Receives before SQS moves a message to the DLQ. */
export const MAX_RECEIVE_COUNT = 5;
/** Lambda's guidance: visibility timeout >= 6x the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

export interface IdentityProvisionerProps extends ProvisionerSettings {
  /** Key and tables from the stateful half. */
  readonly state: IdentityProvisionerState;
}

export class IdentityProvisioner extends Construct {
  public readonly config: ProvisionerConfig;
  /** The Identity Store region the function talks to (resolved default). */
  public readonly identityStoreRegion: string;
  public readonly eventBus: IEventBus;
  public readonly rule: Rule;
  public readonly queue: Queue;
  /** The source queue's DLQ: poison messages and events the function rejects. */
  public readonly deadLetterQueue: Queue;
  /** Events EventBridge could not deliver to the queue. */
  public readonly ruleDeadLetterQueue: Queue;
  public readonly function: ProvisionerFunction;
  public readonly alarms: ProvisionerAlarms;

  constructor(scope: Construct, id: string, props: IdentityProvisionerProps) {
    super(scope, id);
    // Without this flag an SQS target on an encrypted queue gets a queue policy with no condition
    // at all; with it, EventBridge may send only on behalf of this account. Set here (before any
    // child exists) so the construct is safe whatever the consuming app's cdk.json says.
    this.node.setContext(EVENTS_TARGET_QUEUE_SAME_ACCOUNT, true);

    const { state, ...settings } = props;
    const config = parseProvisionerSettings(settings);
    this.config = config;
    this.identityStoreRegion = resolveIdentityStoreRegion(this, config.identityStoreRegion);
    const fifo = config.queueKind === 'fifo';
    const functionTimeout = Duration.seconds(config.functionTimeoutSeconds);
    // DLQs hold events not yet applied: they follow the removal policy of the stateful half.
    const dlqRemovalPolicy = config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const encrypted = {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: state.key,
      enforceSSL: true,
    };

    this.eventBus =
      config.existingEventBusName !== undefined
        ? EventBus.fromEventBusName(this, 'EventBus', config.existingEventBusName)
        : new EventBus(this, 'EventBus', { eventBusName: config.eventBusName });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...encrypted,
      fifo: fifo || undefined,
      retentionPeriod: Duration.days(14),
      removalPolicy: dlqRemovalPolicy,
    });
    this.queue = new Queue(this, 'Queue', {
      ...encrypted,
      fifo: fifo || undefined,
      // EventBridge cannot set a MessageDeduplicationId on a rule's SQS target, and requires
      // content-based deduplication on a FIFO target. It is safe: every body carries a unique
      // event id, so equal bodies are duplicates. A producer's explicit MessageDeduplicationId wins.
      contentBasedDeduplication: fifo ? true : undefined,
      visibilityTimeout: Duration.seconds(config.functionTimeoutSeconds * VISIBILITY_TIMEOUT_FACTOR),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    // EventBridge cannot use a FIFO queue as a rule DLQ: this one is always standard.
    this.ruleDeadLetterQueue = new Queue(this, 'RuleDeadLetterQueue', {
      ...encrypted,
      retentionPeriod: Duration.days(14),
      removalPolicy: dlqRemovalPolicy,
    });

    const dlqIsTheEnd =
      'This queue is itself a dead-letter queue, the end of the line: a redrive from it would lose the ' +
      'message; it is watched by an alarm and redriven by an operator (start-message-move-task).';
    Validations.of(this.deadLetterQueue).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: dlqIsTheEnd });
    Validations.of(this.ruleDeadLetterQueue).acknowledge(
      { id: 'Serverless-SQSRedrivePolicy', reason: dlqIsTheEnd },
      {
        id: 'AwsSolutions-SQS3',
        reason:
          "This is the EventBridge rule target's dead-letter queue (RuleTarget DeadLetterConfig), which " +
          'cdk-nag does not recognise as a DLQ because no queue redrive policy points at it.',
      },
    );

    this.rule = new Rule(this, 'Rule', {
      eventBus: this.eventBus,
      description: 'identity-change events (contract v1) from the accepted producers to the provisioner queue',
      // The same pattern the local pipeline's rule uses (lambdas/shared/ingestion.ts).
      eventPattern: toCdkEventPattern(ingestionEventPattern([...config.acceptedSources])),
    });
    this.rule.addTarget(
      new SqsQueue(this.queue, {
        deadLetterQueue: this.ruleDeadLetterQueue,
        maxEventAge: RULE_TARGET_MAX_EVENT_AGE,
        retryAttempts: RULE_TARGET_RETRY_ATTEMPTS,
        // A rule can only put a fixed group id: EventBridge-delivered events share one group.
        messageGroupId: fifo ? EVENTBRIDGE_MESSAGE_GROUP_ID : undefined,
      }),
    );

    this.function = new ProvisionerFunction(this, 'Consumer', {
      key: state.key,
      timeout: functionTimeout,
    });
    const fn = this.function;
    fn.bindIdentityStore(config.identityStoreId, this.identityStoreRegion);
    fn.bindKey(state.key);
    fn.bindAuditTable(state.auditTable, config.auditRetentionDays);
    fn.bindStateTable(state.stateTable);
    fn.bindIdempotencyTable(state.idempotencyTable);
    fn.bindOutcomeBus(this.eventBus);
    fn.bindQueues(this.queue, this.deadLetterQueue, config.queueKind);
    // Each concurrent instance gets an equal share, so the deployment as a whole stays under budget.
    fn.setRuntimeEnv('REQUESTS_PER_SECOND', String(config.requestsPerSecond / config.maxConcurrency));
    fn.setRuntimeEnv('MANAGED_GROUP_SCOPE', config.managedGroupScope);
    fn.setRuntimeEnv('MAX_MEMBERSHIP_REMOVALS_PER_EVENT', String(config.maxMembershipRemovalsPerEvent));
    fn.setRuntimeEnv('DELETION_CAP', String(config.deletionCap));
    fn.setRuntimeEnv('DELETION_WINDOW_SECONDS', String(config.deletionWindowSeconds));
    fn.setRuntimeEnv('ID_CACHE_TTL_SECONDS', String(config.idCacheTtlSeconds));
    fn.setRuntimeEnv('RETRY_SAFETY_MARGIN_MS', String(config.retrySafetyMarginMs));
    fn.setRuntimeEnv('REDELIVERY_BASE_DELAY_SECONDS', String(config.redeliveryBaseDelaySeconds));
    // The function records the last allowed delivery as FAILED, so it must know the redrive limit.
    fn.setRuntimeEnv('MAX_RECEIVE_COUNT', String(MAX_RECEIVE_COUNT));

    const eventSource = new SqsEventSource(this.queue, {
      batchSize: config.batchSize,
      // Only the records the handler reports as failed go back to the queue.
      reportBatchItemFailures: true,
      // Caps concurrent invocations from this queue (no reserved concurrency needed).
      maxConcurrency: config.maxConcurrency,
    });
    fn.addEventSource(eventSource);
    Validations.of(fn.node.findChild(`SqsEventSource:${Names.nodeUniqueId(this.queue.node)}`)).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        'SQS event source mappings support no on-failure destination (Kinesis/DynamoDB streams and Kafka ' +
        "only); failed records reach the queue's DLQ through its redrive policy after 5 receives.",
    });

    this.alarms = new ProvisionerAlarms(this, 'Alarms', {
      key: state.key,
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      ruleDeadLetterQueue: this.ruleDeadLetterQueue,
      alarmTopicArn: config.alarmTopicArn,
      alarmEmail: config.alarmEmail,
    });
  }
}

/**
 * identityStoreRegion, else the stack's region. An environment-agnostic stack has no region at
 * synth: the default is then us-east-1 and a warning says so.
 */
function resolveIdentityStoreRegion(scope: Construct, configured: string | undefined): string {
  if (configured !== undefined) return configured;
  const stackRegion = Stack.of(scope).region;
  if (!Token.isUnresolved(stackRegion)) return stackRegion;
  Annotations.of(scope).addWarningV2(
    'identity-provisioner:identityStoreRegionDefaulted',
    `identityStoreRegion is not set and the stack has no region at synth: using ${FALLBACK_IDENTITY_STORE_REGION}. ` +
      'Set -c identityStoreRegion=<region of IAM Identity Center> or give the stack an env.',
  );
  return FALLBACK_IDENTITY_STORE_REGION;
}

/** EventBridge's JSON pattern in the CDK's camelCase form. */
function toCdkEventPattern(pattern: ReturnType<typeof ingestionEventPattern>): { source: string[]; detailType: string[] } {
  return { source: pattern.source, detailType: pattern['detail-type'] };
}
