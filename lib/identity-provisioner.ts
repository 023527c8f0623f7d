/**
 * The stateless half: the bus rule, the source queues (the bus queue and one queue per `via: queue`
 * producer) and their shared DLQ, the rule's own DLQ, the consumer function, the resource policies
 * that let only declared producers in, and the alarms. It takes the stateful half (key, tables,
 * the function's role) as a prop, so it can be replaced or redeployed without touching the audit
 * trail.
 *
 *   bus producers   -> EventBridge bus -> rule (their sources x v1 detail-types) -> bus queue ---.
 *                                         '-> rule DLQ (delivery failed)                        |-> function
 *   queue producers -> their own producer queue ----------------------------------------------'
 *   every source queue -> DLQ (5 receives / rejected by the function)
 *   function -> bus (identity.change.applied|rejected|failed, source identity-provisioner only)
 *   drift schedule -> drift function (lib/drift-detector.ts) -> DRIFT records, identity.drift.detected,
 *     and with driftAction "repair" events on the bus as the built-in bus producer drift-repair
 *
 * Who may send where is decided in lib/access-policies.ts (plain IAM JSON, also enforced by the
 * local pipeline); this construct installs those statements on the bus and the queues.
 */
import { createHash } from 'node:crypto';
import { Annotations, CfnResource, Duration, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { EventBus, type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { type IRole, PolicyStatement, Role } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption, type QueueProps } from 'aws-cdk-lib/aws-sqs';
import { EVENTS_TARGET_QUEUE_SAME_ACCOUNT } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES, ingestionEventPattern, SOURCE_QUEUE_MAX_MESSAGE_BYTES } from '../lambdas/shared/ingestion';
import {
  busProducers,
  type ProducerDeclarations,
  queueProducers,
  runtimeProducersOf,
  withDriftRepairProducer,
} from '../lambdas/shared/producers';
import {
  busQueueStatements,
  busStatements,
  deadLetterQueueStatements,
  type IngestionResources,
  pascal,
  type PolicyStatementJson,
  producerQueueStatements,
  ruleDeadLetterQueueStatements,
} from './access-policies';
import {
  alarmTopicProblem,
  configErrorMessage,
  driftEnabled,
  parseProvisionerSettings,
  type ProvisionerConfig,
  ProvisionerConfigError,
  type ProvisionerSettings,
} from './config';
import { AuditDigester } from './audit-digests';
import { DriftDetector } from './drift-detector';
import type { IdentityProvisionerState } from './identity-provisioner-state';
import { ProvisionerAlarms } from './provisioner-alarms';
import { estimatedLength, LAMBDA_ENVIRONMENT_LIMIT_BYTES, ProvisionerFunction } from './provisioner-function';

/** Region used when neither identityStoreRegion nor a concrete stack region is known. */
export const FALLBACK_IDENTITY_STORE_REGION = 'us-east-1';
/** The one MessageGroupId EventBridge can put on a FIFO target (a rule target takes a fixed value). */
export const EVENTBRIDGE_MESSAGE_GROUP_ID = 'eventbridge';
/** How long EventBridge keeps retrying delivery to the queue before it uses the rule's DLQ. */
export const RULE_TARGET_MAX_EVENT_AGE = Duration.hours(24);
export const RULE_TARGET_RETRY_ATTEMPTS = 185;
export { DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES, SOURCE_QUEUE_MAX_MESSAGE_BYTES };
/** Receives before SQS moves a message to the DLQ. */
export const MAX_RECEIVE_COUNT = 5;
/** Lambda's guidance: visibility timeout >= 6x the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** EventBridge's limit on an event bus's resource policy (the whole policy, every statement). */
export const EVENT_BUS_POLICY_LIMIT_BYTES = 10240;
/** An EventBusPolicy StatementId: 1-64 of A-Z a-z 0-9 - _ (and CloudFormation's physical id, unique per account and Region). */
const STATEMENT_ID_MAX = 64;

export interface IdentityProvisionerProps extends ProvisionerSettings {
  /** Key, tables and the function's role from the stateful half. */
  readonly state: IdentityProvisionerState;
}

export class IdentityProvisioner extends Construct {
  public readonly config: ProvisionerConfig;
  /**
   * The producers the doors and the consumer know: the declared ones, plus the built-in
   * drift-repair producer (lambdas/shared/producers.ts) when the drift function is deployed.
   */
  public readonly producers: ProducerDeclarations;
  /** The Identity Store region the function talks to (resolved default). */
  public readonly identityStoreRegion: string;
  public readonly eventBus: IEventBus;
  /** The deployment created the bus (not existingEventBusName): every source on it is policed. */
  public readonly ownsBus: boolean;
  /** Delivers bus producers' events to the bus queue; absent when no producer uses the bus. */
  public readonly rule?: Rule;
  /** The bus queue: only the rule (and operators redriving) may send to it. */
  public readonly queue: Queue;
  /** One queue per `via: queue` producer, by producer name. */
  public readonly producerQueues: Readonly<Record<string, Queue>>;
  /** The source queues' shared DLQ: poison messages and events the function rejects. */
  public readonly deadLetterQueue: Queue;
  /** Events EventBridge could not deliver to the bus queue; absent with the rule. */
  public readonly ruleDeadLetterQueue?: Queue;
  /** The function's role (from the stateful half), imported so its policies live in this stack. */
  public readonly role: IRole;
  public readonly function: ProvisionerFunction;
  /** The drift function's role (from the stateful half), imported; absent with driftSchedule "off". */
  public readonly driftRole?: IRole;
  /** The scheduled drift function; absent with driftSchedule "off". */
  public readonly drift?: DriftDetector;
  /** The hourly audit digester (lib/audit-digests.ts); its bucket and role are in the stateful half. */
  public readonly auditDigester: AuditDigester;
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
    checkAlarmTopicRegion(this, config);
    const fifo = config.queueKind === 'fifo';
    const functionTimeout = Duration.seconds(config.functionTimeoutSeconds);
    // DLQs hold events not yet applied: they follow the removal policy of the stateful half.
    const dlqRemovalPolicy = config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const encrypted = {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: state.key,
      enforceSSL: true,
    };

    this.ownsBus = config.existingEventBusName === undefined;
    this.eventBus =
      config.existingEventBusName !== undefined
        ? EventBus.fromEventBusName(this, 'EventBus', config.existingEventBusName)
        : new EventBus(this, 'EventBus', { eventBusName: config.eventBusName });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...encrypted,
      fifo: fifo || undefined,
      maxMessageSizeBytes: DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES,
      retentionPeriod: Duration.days(14),
      removalPolicy: dlqRemovalPolicy,
    });
    const sourceQueueProps: QueueProps = {
      fifo: fifo || undefined,
      // EventBridge cannot set a MessageDeduplicationId on a rule's SQS target, and requires
      // content-based deduplication on a FIFO target. It is safe: every body carries a unique
      // event id, so equal bodies are duplicates. A producer's explicit MessageDeduplicationId wins.
      contentBasedDeduplication: fifo ? true : undefined,
      visibilityTimeout: Duration.seconds(config.functionTimeoutSeconds * VISIBILITY_TIMEOUT_FACTOR),
      maxMessageSizeBytes: SOURCE_QUEUE_MAX_MESSAGE_BYTES,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    };
    this.queue = new Queue(this, 'Queue', { ...encrypted, ...sourceQueueProps });

    const producerQueues: Record<string, Queue> = {};
    for (const [name] of queueProducers(config.producers)) {
      producerQueues[name] = new Queue(this, `ProducerQueue${pascal(name)}`, {
        ...sourceQueueProps,
        // SQS-managed keys: a sender in another account could use the customer managed key only
        // through key-policy grants to it, one more door to keep in step with the declarations.
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
    }
    this.producerQueues = producerQueues;

    const dlqIsTheEnd =
      'This queue is itself a dead-letter queue, the end of the line: a redrive from it would lose the ' +
      'message; it is watched by an alarm and redriven by an operator (start-message-move-task).';
    Validations.of(this.deadLetterQueue).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: dlqIsTheEnd });

    // The roles come from the stateful half (the audit table's policy names them). Imported mutable:
    // the functions' permissions are attached here, in a policy of this stack, so the stateful
    // stack never refers to the stateless one. By name, not by ARN: the ARN is then built with this
    // stack's account, so CDK sees a same-account principal and grants through the role's policy
    // alone (an imported ARN's account is unknown at synth, and every grant would also add an
    // Allow for the role to the queue policies).
    this.role = Role.fromRoleName(this, 'ConsumerRole', state.consumerRole.roleName, { mutable: true });
    if (driftEnabled(config)) {
      this.driftRole = Role.fromRoleName(this, 'DriftRole', state.driftRole.roleName, { mutable: true });
      this.producers = withDriftRepairProducer(config.producers, this.driftRole.roleArn, Stack.of(this).account);
    } else {
      this.producers = config.producers;
    }

    const buses = busProducers(this.producers);
    if (buses.length > 0) {
      // EventBridge cannot use a FIFO queue as a rule DLQ: this one is always standard. SQS-managed
      // encryption, not the key: if the key broke, the delivery and the write to this DLQ would fail together.
      this.ruleDeadLetterQueue = new Queue(this, 'RuleDeadLetterQueue', {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        // An event the bus queue could not take (EventBridge events may be up to 1 MB) lands here.
        maxMessageSizeBytes: DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES,
        retentionPeriod: Duration.days(14),
        removalPolicy: dlqRemovalPolicy,
      });
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
        description: 'identity-change events (contract v1) from the declared bus producers to the bus queue',
        // The same pattern the local pipeline's rule uses (lambdas/shared/ingestion.ts).
        eventPattern: toCdkEventPattern(ingestionEventPattern(buses.map(([, producer]) => producer.source))),
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
    }
    if (busProducers(config.producers).length === 0) {
      Annotations.of(this).addWarningV2(
        'identity-provisioner:noProducers',
        Object.keys(config.producers).length === 0
          ? 'No producers are declared: nothing outside this stack can send events (no producer queue; the bus takes only ' +
              'drift repairs, if any). Declare them in the producers setting (docs/deploy.md).'
          : 'No declared producer uses the bus: the bus accepts no identity-change events from outside this stack.',
      );
    }
    if (config.operators.length === 0) {
      Annotations.of(this).addWarningV2(
        'identity-provisioner:noOperators',
        'No operators are declared: nobody can redrive or purge the DLQs (a message move task sends as its caller, and ' +
          'the queue policies deny everyone else). Declare the on-call roles in the operators setting (docs/deploy.md).',
      );
    }

    this.function = new ProvisionerFunction(this, 'Consumer', {
      role: this.role,
      key: state.key,
      timeout: functionTimeout,
    });
    const fn = this.function;
    const sourceQueues = [this.queue, ...Object.values(producerQueues)];
    fn.bindIdentityStore(config.identityStoreId, this.identityStoreRegion);
    fn.bindKey(state.key);
    fn.bindAuditTable(state.auditTable, config.auditRetentionDays);
    fn.bindStateTable(state.stateTable);
    fn.bindIdempotencyTable(state.idempotencyTable);
    fn.bindOutcomeBus(this.eventBus);
    fn.bindQueues(sourceQueues, this.deadLetterQueue, config.queueKind);
    // The whole budget, shared at run time by every instance that has work (through the state
    // table); QUOTA_INSTANCES is how many may call at once, each instance's share when that
    // table cannot be reached: each source queue's mapping, plus the drift function.
    const quota = {
      requestsPerSecond: config.requestsPerSecond,
      instances: config.maxConcurrency * sourceQueues.length + (this.driftRole === undefined ? 0 : 1),
    };
    fn.setRuntimeEnv('REQUESTS_PER_SECOND', String(quota.requestsPerSecond));
    fn.setRuntimeEnv('QUOTA_INSTANCES', String(quota.instances));
    fn.setRuntimeEnv('MANAGED_GROUP_SCOPE', config.managedGroupScope);
    fn.setRuntimeEnv('MAX_MEMBERSHIP_REMOVALS_PER_EVENT', String(config.maxMembershipRemovalsPerEvent));
    fn.setRuntimeEnv('DELETION_CAP', String(config.deletionCap));
    fn.setRuntimeEnv('DELETION_WINDOW_SECONDS', String(config.deletionWindowSeconds));
    fn.setRuntimeEnv('ID_CACHE_TTL_SECONDS', String(config.idCacheTtlSeconds));
    fn.setRuntimeEnv('RETRY_SAFETY_MARGIN_MS', String(config.retrySafetyMarginMs));
    fn.setRuntimeEnv('REDELIVERY_BASE_DELAY_SECONDS', String(config.redeliveryBaseDelaySeconds));
    fn.setRuntimeEnv('MAX_CLOCK_SKEW_SECONDS', String(config.maxClockSkewSeconds));
    fn.setRuntimeEnv('OCCURRED_AT_FLOOR', config.occurredAtFloor);
    // The function records the last allowed delivery as FAILED, so it must know the redrive limit.
    fn.setRuntimeEnv('MAX_RECEIVE_COUNT', String(MAX_RECEIVE_COUNT));
    // Who sent a record: its producer queue's ARN, or the bus source and accounts.
    const runtimeProducers = runtimeProducersOf(
      this.producers,
      Object.fromEntries(Object.entries(producerQueues).map(([name, queue]) => [name, queue.queueArn])),
    );
    fn.setRuntimeEnv('PRODUCERS', Stack.of(this).toJsonString(runtimeProducers), JSON.stringify(runtimeProducers));
    checkEnvironmentSize(fn);

    for (const sourceQueue of sourceQueues) {
      fn.addEventSource(
        new SqsEventSource(sourceQueue, {
          batchSize: config.batchSize,
          // Only the records the handler reports as failed go back to the queue.
          reportBatchItemFailures: true,
          // Caps concurrent invocations from this queue (no reserved concurrency needed).
          maxConcurrency: config.maxConcurrency,
        }),
      );
      Validations.of(fn.node.findChild(`SqsEventSource:${Names.nodeUniqueId(sourceQueue.node)}`)).acknowledge({
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason:
          'SQS event source mappings support no on-failure destination (Kinesis/DynamoDB streams and Kafka ' +
          "only); failed records reach the queue's DLQ through its redrive policy after 5 receives.",
      });
    }

    this.installResourcePolicies();

    if (this.driftRole !== undefined) {
      this.drift = new DriftDetector(this, 'Drift', {
        role: this.driftRole,
        key: state.key,
        auditTable: state.auditTable,
        auditRetentionDays: config.auditRetentionDays,
        stateTable: state.stateTable,
        eventBus: this.eventBus,
        sourceQueues,
        identityStoreId: config.identityStoreId,
        identityStoreRegion: this.identityStoreRegion,
        managedGroupScope: config.managedGroupScope,
        // Takes its slots from the same shared budget; it also waits while the source queues hold events.
        quota,
        retrySafetyMarginMs: config.retrySafetyMarginMs,
        schedule: config.driftSchedule,
        action: config.driftAction,
        removalPolicy: dlqRemovalPolicy,
      });
      checkDriftEnvironmentSize(this.drift);
    }

    this.auditDigester = new AuditDigester(this, 'AuditDigester', {
      // Imported by name, like the consumer's and the drift function's roles: its policy lives here.
      role: Role.fromRoleName(this, 'AuditDigesterRole', state.auditDigests.digesterRole.roleName, { mutable: true }),
      key: state.key,
      auditTable: state.auditTable,
      bucket: state.auditDigests.bucket,
    });

    this.alarms = new ProvisionerAlarms(this, 'Alarms', {
      key: state.key,
      queue: this.queue,
      producerQueues,
      deadLetterQueue: this.deadLetterQueue,
      ruleDeadLetterQueue: this.ruleDeadLetterQueue,
      rule: this.rule,
      eventBus: this.eventBus,
      alarmTopicArn: config.alarmTopicArn,
      alarmEmail: config.alarmEmail,
      driftDeadLetterQueue: this.drift?.deadLetterQueue,
      auditDigester: this.auditDigester.function,
    });
  }

  /**
   * The doors: who may send to the bus, the bus queue, each producer queue and the DLQs, from
   * lib/access-policies.ts (the same statements the local pipeline enforces).
   */
  private installResourcePolicies(): void {
    const { config } = this;
    const resources: IngestionResources = {
      accountId: Stack.of(this).account,
      busArn: this.eventBus.eventBusArn,
      ruleArn: this.rule?.ruleArn,
      busQueueArn: this.queue.queueArn,
      producerQueueArns: Object.fromEntries(Object.entries(this.producerQueues).map(([name, queue]) => [name, queue.queueArn])),
      deadLetterQueueArn: this.deadLetterQueue.queueArn,
      ruleDeadLetterQueueArn: this.ruleDeadLetterQueue?.queueArn,
      functionRoleArn: this.role.roleArn,
      driftRoleArn: this.driftRole?.roleArn,
      operatorPrincipals: config.operators,
      ownsBus: this.ownsBus,
    };
    const install = (queue: Queue, statements: PolicyStatementJson[]) => {
      for (const statement of statements) queue.addToResourcePolicy(PolicyStatement.fromJson(statement));
    };
    install(this.queue, busQueueStatements(resources));
    for (const [name, producer] of queueProducers(this.producers)) {
      install(this.producerQueues[name], producerQueueStatements(name, producer, resources));
    }
    install(this.deadLetterQueue, deadLetterQueueStatements(resources));
    if (this.ruleDeadLetterQueue !== undefined) install(this.ruleDeadLetterQueue, ruleDeadLetterQueueStatements(resources));

    const busPolicy = busStatements(this.producers, resources);
    checkBusPolicySize(busPolicy);
    const stackName = Stack.of(this).stackName;
    for (const statement of busPolicy) {
      // The StatementId is CloudFormation's physical id, unique per account and Region across
      // stacks: suffixed with a hash of this stack and construct, so two deployments never clash.
      const statementId = uniqueStatementId(statement.Sid, `${stackName}/${this.node.path}`);
      // The plain resource: CfnEventBusPolicy's constructor prints a deprecation warning for its
      // legacy `principal` property on every synth, even when it is not used.
      new CfnResource(this, `BusPolicy${statement.Sid}`, {
        type: 'AWS::Events::EventBusPolicy',
        properties: {
          EventBusName: this.eventBus.eventBusName,
          StatementId: statementId,
          Statement: PolicyStatement.fromJson({ ...statement, Sid: statementId }).toStatementJson(),
        },
      });
    }
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

/**
 * Alarm actions must name a topic in the alarms' own Region and partition, which only the stack
 * knows (the settings schema cannot see it): refused here, at synth, instead of at deploy.
 */
function checkAlarmTopicRegion(scope: Construct, config: ProvisionerConfig): void {
  if (config.alarmTopicArn === undefined) return;
  const stackRegion = Stack.of(scope).region;
  const [region, regionIs] = !Token.isUnresolved(stackRegion)
    ? [stackRegion, "the stack's Region"]
    : [config.identityStoreRegion, 'identityStoreRegion, the stack having no Region at synth'];
  if (region === undefined) {
    Annotations.of(scope).addWarningV2(
      'identity-provisioner:alarmTopicRegionUnchecked',
      'alarmTopicArn cannot be checked at synth: the stack has no Region and identityStoreRegion is not set. ' +
        "The topic must be in the Region the stack is deployed to, or the deploy fails.",
    );
    return;
  }
  const problem = alarmTopicProblem(config.alarmTopicArn, region, regionIs);
  if (problem !== undefined) throw new ProvisionerConfigError(configErrorMessage([problem]));
}

/** Lambda refuses a function whose variables exceed 4 KB together; the producers are what grows. */
function checkEnvironmentSize(fn: ProvisionerFunction): void {
  const { total, byKey } = fn.estimatedEnvironmentSize();
  if (total <= LAMBDA_ENVIRONMENT_LIMIT_BYTES) return;
  throw new ProvisionerConfigError(
    configErrorMessage([
      `producers: the function's environment would be about ${total} bytes (PRODUCERS alone about ` +
        `${byKey.get('PRODUCERS') ?? 0}), over Lambda's ${LAMBDA_ENVIRONMENT_LIMIT_BYTES}-byte limit for all variables ` +
        'together: declare fewer producers, principals or group patterns (a prefix such as "app-*" covers many groups)',
    ]),
  );
}

/** The drift function's variables grow with the source queues (SOURCE_QUEUE_URLS): one per queue producer. */
function checkDriftEnvironmentSize(drift: DriftDetector): void {
  const { total, byKey } = drift.function.estimatedEnvironmentSize();
  if (total <= LAMBDA_ENVIRONMENT_LIMIT_BYTES) return;
  throw new ProvisionerConfigError(
    configErrorMessage([
      `producers: the drift function's environment would be about ${total} bytes (SOURCE_QUEUE_URLS alone about ` +
        `${byKey.get('SOURCE_QUEUE_URLS') ?? 0}), over Lambda's ${LAMBDA_ENVIRONMENT_LIMIT_BYTES}-byte limit: declare fewer ` +
        'queue producers (bus producers need no queue), or set driftSchedule to "off"',
    ]),
  );
}

/** EventBridge refuses a bus policy over 10 KB; on an existing bus, other statements count too. */
function checkBusPolicySize(statements: PolicyStatementJson[]): void {
  const size = estimatedLength(JSON.stringify({ Version: '2012-10-17', Statement: statements }));
  if (size <= EVENT_BUS_POLICY_LIMIT_BYTES) return;
  throw new ProvisionerConfigError(
    configErrorMessage([
      `producers: the event bus policy would be about ${size} bytes, over EventBridge's ${EVENT_BUS_POLICY_LIMIT_BYTES}-byte ` +
        'limit: declare fewer bus producers or principals, or move some producers to via "queue"',
    ]),
  );
}

/** `OnlyTheFunctionSendsOutcomes` -> `OnlyTheFunctionSendsOutcomes-1a2b3c4d`, at most 64 characters. */
function uniqueStatementId(sid: string, owner: string): string {
  const hash = createHash('sha256').update(`${owner}\n${sid}`).digest('hex').slice(0, 8);
  return `${sid.slice(0, STATEMENT_ID_MAX - hash.length - 1)}-${hash}`;
}

/** EventBridge's JSON pattern in the CDK's camelCase form. */
function toCdkEventPattern(pattern: ReturnType<typeof ingestionEventPattern>): { source: string[]; detailType: string[] } {
  return { source: pattern.source, detailType: pattern['detail-type'] };
}
