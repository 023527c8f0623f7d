/**
 * The service's functions: ServiceFunction, one NodejsFunction subclass that carries the defaults
 * (runtime, arm64, tracing, memory, encrypted log group, bundling) and the grants both functions
 * need, and ProvisionerFunction, the consumer, with the bind*() helpers that grant access and set
 * the matching environment variable in one place. The drift function (lib/drift-detector.ts) is
 * the other ServiceFunction.
 *
 * Every variable of a function's runtime contract (lambdas/shared/config.ts) must be bound: a
 * synth-time validation names any that is missing, so a deployed function can never fail its
 * cold start on a forgotten variable.
 */
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { type IRole, Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, type IDestination, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { RUNTIME_ENV_KEYS, type RuntimeConfig } from '../lambdas/shared/config';
import { BUNDLE_MAIN_FIELDS, BUNDLE_SOURCES_CONTENT, BUNDLED_ZOD } from './bundling';
import { METRICS_NAMESPACE, OUTCOME_EVENT_SOURCE, SERVICE_NAME } from '../lambdas/shared/telemetry';
import { DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES } from '../lambdas/shared/ingestion';

/** The handler is someone else's code; this construct only points at it. */
export const CONSUMER_ENTRY = path.join(__dirname, '..', 'lambdas', 'handlers', 'sqs-consumer.ts');

/**
 * Exactly the Identity Store actions the adapters call: reads to resolve names to ids and
 * compare, writes to apply users, groups and memberships.
 */
export const IDENTITY_STORE_ACTIONS = [
  'identitystore:GetUserId',
  'identitystore:GetGroupId',
  'identitystore:GetGroupMembershipId',
  'identitystore:DescribeUser',
  'identitystore:DescribeGroup',
  'identitystore:ListGroupMembershipsForMember',
  'identitystore:ListGroupMemberships',
  'identitystore:CreateUser',
  'identitystore:UpdateUser',
  'identitystore:DeleteUser',
  'identitystore:CreateGroup',
  'identitystore:UpdateGroup',
  'identitystore:DeleteGroup',
  'identitystore:CreateGroupMembership',
  'identitystore:DeleteGroupMembership',
] as const;

/** The audit trail is append-only: PutItem, plus GetItem to confirm a put whose response was lost. */
export const AUDIT_TABLE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:GetItem'] as const;

/** Processing state and idempotency records are read and overwritten in place. */
export const READ_WRITE_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:DescribeTable',
] as const;

type RuntimeEnvKey = keyof RuntimeConfig;

/** Lambda's limit on all environment variables together (names and values). */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;
/** What an unresolved token (a table name, a queue URL) is counted as when estimating sizes at synth. */
export const TOKEN_ESTIMATE_CHARS = 128;

export interface ServiceFunctionProps {
  /**
   * The execution role, trusted by lambda.amazonaws.com and with no policies of its own: the
   * bind*() helpers attach every permission. It may come from another stack (imported mutable).
   */
  readonly role: IRole;
  /** Encrypts the log group; the function may also encrypt/decrypt with it (tables, queues). */
  readonly key: IKey;
  readonly timeout: Duration;
  /** Default 512 MB: the work is I/O bound, the memory buys CPU for JSON and TLS. */
  readonly memorySize?: number;
  /** Default one year. */
  readonly logRetention?: RetentionDays;
  readonly logRemovalPolicy?: RemovalPolicy;
}

export interface ProvisionerFunctionProps extends ServiceFunctionProps {
  /** Default CONSUMER_ENTRY. */
  readonly entry?: string;
}

/** What a ServiceFunction subclass states about itself: its code, and the variables it must be given. */
interface ServiceFunctionSpec<Key extends string> {
  readonly entry: string;
  /** Every variable of the function's runtime contract: a synth-time validation names any not set. */
  readonly runtimeEnvKeys: readonly Key[];
  /** Where the contract is defined, for the validation's message. */
  readonly contract: string;
  readonly reservedConcurrentExecutions?: number;
  readonly description?: string;
  /** Asynchronous invocations only: where a failed one goes, and how often Lambda retries it first. */
  readonly onFailure?: IDestination;
  readonly retryAttempts?: number;
}

/**
 * The defaults every function of this service shares (runtime, arm64, tracing, memory, encrypted
 * log group, esbuild bundling, no managed policies), the runtime-contract check, and the grants
 * both functions need. ProvisionerFunction (the consumer) and DriftFunction (lib/drift-detector.ts)
 * add their own.
 */
export abstract class ServiceFunction<Key extends string> extends NodejsFunction {
  private readonly boundEnvKeys = new Set<string>();
  /** Every variable this construct set, to estimate the environment's size at synth. */
  private readonly envValues = new Map<string, string>();
  private readonly role_: IRole;

  protected constructor(scope: Construct, id: string, props: ServiceFunctionProps, spec: ServiceFunctionSpec<Key>) {
    const logGroup = new LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? RetentionDays.ONE_YEAR,
      encryptionKey: props.key,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    // An explicit role without the AWSLambdaBasicExecutionRole managed policy: log writes are
    // granted on this function's own log group only.
    const { role } = props;
    logGroup.grantWrite(role);
    const baseEnvironment = {
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
    };

    super(scope, id, {
      entry: spec.entry,
      handler: 'handler',
      description: spec.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      tracing: Tracing.ACTIVE,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      reservedConcurrentExecutions: spec.reservedConcurrentExecutions,
      onFailure: spec.onFailure,
      retryAttempts: spec.retryAttempts,
      logGroup,
      role,
      environment: baseEnvironment,
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: BUNDLE_SOURCES_CONTENT,
        mainFields: BUNDLE_MAIN_FIELDS,
        // Resolved from the working directory, which NodejsFunction sets to the project root.
        esbuildArgs: { '--alias': `zod=./${BUNDLED_ZOD}` },
        format: OutputFormat.CJS,
        target: 'node24',
        // Bundle the AWS SDK v3 clients instead of using the runtime's copy: the deployed code
        // then runs exactly the SDK versions the tests ran (retry strategy, error shapes).
        externalModules: [],
        // esbuild from node_modules; never fall back to Docker (not available on these machines).
        forceDockerBundling: false,
      },
    });

    this.role_ = role;
    for (const [key, value] of Object.entries(baseEnvironment)) this.envValues.set(key, value);

    // X-Ray (tracing Active) adds xray:PutTraceSegments/PutTelemetryRecords on "*".
    this.acknowledgeOnRolePolicy({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the X-Ray actions PutTraceSegments and PutTelemetryRecords, which support no resource-level ' +
        'permissions (added by tracing: Active); every other statement names its resources.',
    });

    this.node.addValidation({
      validate: () =>
        spec.runtimeEnvKeys
          .filter((key) => !this.boundEnvKeys.has(key))
          .map((key) => `${key} is not set on the function: every variable of ${spec.contract} must be bound`),
    });
  }

  /**
   * Set one variable of the runtime contract. `sizeOf`: what to measure instead of `value` when
   * value is one opaque token (Stack.toJsonString) whose deployed text is that string's.
   */
  public setRuntimeEnv(key: Key, value: string, sizeOf: string = value): void {
    this.boundEnvKeys.add(key);
    this.envValues.set(key, sizeOf);
    this.addEnvironment(key, value);
  }

  /**
   * The environment's size as Lambda counts it (names and values together), each unresolved token
   * counted as TOKEN_ESTIMATE_CHARS characters: generous, so a deploy cannot fail where synth passed.
   */
  public estimatedEnvironmentSize(): { total: number; byKey: Map<string, number> } {
    const byKey = new Map<string, number>();
    for (const [key, value] of this.envValues) byKey.set(key, key.length + estimatedLength(value));
    return { total: [...byKey.values()].reduce((sum, size) => sum + size, 0), byKey };
  }

  /** Acknowledge cdk-nag findings on the policy the role's permissions land in (created on first grant). */
  protected acknowledgeOnRolePolicy(...acknowledgements: { id: string; reason: string }[]): void {
    const policy = this.role_.node.children.find((child) => child instanceof Policy);
    if (policy === undefined) throw new Error('the role has no policy yet: acknowledge after the first grant');
    Validations.of(policy).acknowledge(...acknowledgements);
  }

  /**
   * `actions` on the one identity store (and its user/group/membership ARNs). The store's ARN
   * carries its owner's account, which from a delegated administrator account is the management
   * account, not this one: `*` there, as AWS's own AWSIdentityCenterExternalManagementPolicy has
   * it. Store ids are globally unique, so the ARN still names exactly one store.
   */
  protected allowIdentityStore(actions: readonly string[], identityStoreId: string, identityStoreRegion: string): void {
    const { partition } = Stack.of(this);
    this.addToRolePolicy(
      new PolicyStatement({
        actions: [...actions],
        resources: [
          `arn:${partition}:identitystore::*:identitystore/${identityStoreId}`,
          // User, group and membership ARNs carry neither the account nor the store id.
          `arn:${partition}:identitystore:::user/*`,
          `arn:${partition}:identitystore:::group/*`,
          `arn:${partition}:identitystore:::membership/*`,
        ],
      }),
    );
    this.acknowledgeOnRolePolicy(
      ...['user', 'group', 'membership'].map((kind) => ({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:identitystore:::${kind}/*]`,
        reason:
          `Identity Store ${kind} ARNs are arn:aws:identitystore:::${kind}/<id>: they carry neither the ` +
          'account nor the identity store id, so no narrower ARN exists. These actions also require the ' +
          'identitystore/<identityStoreId> resource, which this statement limits to the one store.',
      })),
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:identitystore::*:identitystore/${identityStoreId}]`,
        reason:
          'The account of an identity store ARN is its owner: from a delegated administrator account that is ' +
          "the organization's management account, so it cannot be this stack's account. Store ids are globally " +
          'unique, so the ARN names exactly one store (the form AWSIdentityCenterExternalManagementPolicy uses).',
      },
    );
    this.setRuntimeEnv('IDENTITY_STORE_ID' as Key, identityStoreId);
    this.setRuntimeEnv('IDENTITY_STORE_REGION' as Key, identityStoreRegion);
  }

  /** `actions` on the table itself, not its indexes: neither function queries a GSI. */
  protected allowOnTable(table: ITable, actions: readonly string[], conditions?: Record<string, Record<string, unknown>>): void {
    this.addToRolePolicy(new PolicyStatement({ actions: [...actions], resources: [table.tableArn], conditions }));
  }

  /** Encrypt/decrypt with the key behind the tables and queues, named actions only. */
  public bindKey(key: IKey): void {
    this.addToRolePolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [key.keyArn],
      }),
    );
  }
}

/** The SQS consumer. */
export class ProvisionerFunction extends ServiceFunction<RuntimeEnvKey> {
  constructor(scope: Construct, id: string, props: ProvisionerFunctionProps) {
    super(scope, id, props, {
      entry: props.entry ?? CONSUMER_ENTRY,
      runtimeEnvKeys: RUNTIME_ENV_KEYS,
      contract: 'lambdas/shared/config.ts',
    });
    // The function is invoked only by its SQS event source mapping, never asynchronously.
    Validations.of(this).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Invoked synchronously by the SQS event source mapping only; failed records go to the source ' +
        "queue's DLQ through its redrive policy (maxReceiveCount 5). An async DLQ would never receive anything.",
    });
  }

  /** Identity Store read/write actions (IDENTITY_STORE_ACTIONS) on the one store. */
  public bindIdentityStore(identityStoreId: string, identityStoreRegion: string): void {
    this.allowIdentityStore(IDENTITY_STORE_ACTIONS, identityStoreId, identityStoreRegion);
  }

  /** Append-only: never UpdateItem or DeleteItem on the audit trail. */
  public bindAuditTable(table: ITable, retentionDays: number): void {
    this.allowOnTable(table, AUDIT_TABLE_ACTIONS);
    this.setRuntimeEnv('AUDIT_TABLE_NAME', table.tableName);
    this.setRuntimeEnv('AUDIT_RETENTION_DAYS', String(retentionDays));
  }

  public bindStateTable(table: ITable): void {
    this.allowOnTable(table, READ_WRITE_TABLE_ACTIONS);
    this.setRuntimeEnv('STATE_TABLE_NAME', table.tableName);
  }

  public bindIdempotencyTable(table: ITable): void {
    this.allowOnTable(table, READ_WRITE_TABLE_ACTIONS);
    this.setRuntimeEnv('IDEMPOTENCY_TABLE_NAME', table.tableName);
  }

  /**
   * Publishes the identity.change.* outcome events: PutEvents on this bus only, and only with the
   * outcome source, so a bug or an injected payload cannot publish as a producer.
   */
  public bindOutcomeBus(bus: IEventBus): void {
    this.addToRolePolicy(
      new PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [bus.eventBusArn],
        // events:source is multivalued (every entry's source): a plain StringEquals never matches
        // it, which would leave the function unable to publish at all. Every entry, this source.
        conditions: { 'ForAllValues:StringEquals': { 'events:source': OUTCOME_EVENT_SOURCE } },
      }),
    );
    this.setRuntimeEnv('EVENT_BUS_NAME', bus.eventBusName);
  }

  /**
   * The source queues (ChangeMessageVisibility to honour a RetryAfterSeconds wait longer than the
   * invocation) and their shared DLQ (SendMessage to move a rejected event there with its reason).
   * The event source mappings grant their own receive/delete permissions.
   */
  public bindQueues(sourceQueues: readonly IQueue[], deadLetterQueue: IQueue, queueKind: RuntimeConfig['QUEUE_KIND']): void {
    for (const sourceQueue of sourceQueues) sourceQueue.grant(this, 'sqs:ChangeMessageVisibility');
    deadLetterQueue.grant(this, 'sqs:SendMessage', 'sqs:GetQueueAttributes');
    this.setRuntimeEnv('DEAD_LETTER_QUEUE_URL', deadLetterQueue.queueUrl);
    this.setRuntimeEnv('DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES', String(DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES));
    this.setRuntimeEnv('QUEUE_KIND', queueKind);
  }
}

/** A string's length once deployed, each unresolved token counted as TOKEN_ESTIMATE_CHARS. */
export function estimatedLength(value: string): number {
  const tokens = value.match(/\$\{Token\[[^\]]*\]\}/g) ?? [];
  return value.length - tokens.reduce((sum, token) => sum + token.length, 0) + tokens.length * TOKEN_ESTIMATE_CHARS;
}

/**
 * The role EventBridge Scheduler assumes to start a scheduled function (drift, audit digests): for
 * schedules of this account's default group only (the confused-deputy conditions AWS documents).
 */
export function schedulerRole(scope: Construct, id: string, description: string): Role {
  const stack = Stack.of(scope);
  return new Role(scope, id, {
    assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
      conditions: {
        StringEquals: {
          'aws:SourceAccount': stack.account,
          'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' }),
        },
      },
    }),
    description,
  });
}
