/**
 * The doors of the local pipeline, planned from the deployment's own settings (`producers`,
 * `operators`) as the stack plans them: the bus and its rule for bus producers, the bus queue,
 * one queue per queue producer, the shared DLQ, the function's role, and the resource policies
 * of lib/access-policies.ts with local ARNs. Pure: nothing is started here, so the pipeline and
 * the cold-start bench share one plan.
 */
import { busStatements, queueStatementsByArn, type IngestionResources, type PolicyStatementJson } from '../../lib/access-policies';
import { ingestionEventPattern } from '../../lambdas/shared/ingestion';
import {
  busProducers,
  PRINCIPAL_ARN_PATTERN,
  producerDeclarationsSchema,
  queueProducers,
  runtimeProducersOf,
  type ProducerDeclarations,
  type RuntimeProducer,
} from '../../lambdas/shared/producers';
import { LocalPrincipals } from '../iam';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT_ID = '000000000000';

export const LOCAL_NAMES = {
  functionName: 'identity-provisioner-consumer',
  /** The queue the bus rule delivers to (only the rule and operators may send to it). */
  busQueue: 'identity-provisioner-events',
  deadLetterQueue: 'identity-provisioner-events-dlq',
  bus: 'identity-provisioner',
  rule: 'identity-changes-to-queue',
  functionRole: 'identity-provisioner-consumer-role',
  tables: { audit: 'identity-provisioner-audit', state: 'identity-provisioner-state', idempotency: 'identity-provisioner-idempotency' },
} as const;

/** A queue producer's own queue (`producer-` keeps it apart from the bus queue and the DLQ). */
export function producerQueueName(producer: string): string {
  return `identity-provisioner-producer-${producer}`;
}

export function localQueueArn(name: string): string {
  return `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${name}`;
}

export class LocalSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalSettingsError';
  }
}

export interface IngestionPlan {
  producers: ProducerDeclarations;
  operators: string[];
  /** Every queue the function consumes: the bus queue first, then the producer queues by name. */
  sourceQueues: string[];
  /** Queue name by queue producer. */
  producerQueues: Record<string, string>;
  resources: IngestionResources & { ruleArn?: string };
  /** The rule's pattern; undefined when no producer uses the bus (then there is no rule). */
  rulePattern: ReturnType<typeof ingestionEventPattern> | undefined;
  queuePolicies: Map<string, PolicyStatementJson[]>;
  busPolicy: PolicyStatementJson[];
  /** The function's PRODUCERS. */
  runtimeProducers: RuntimeProducer[];
  /** Who the local servers recognise: producers' principals, operators, the function's role. */
  principals: LocalPrincipals;
}

/** `producers` and `operators` in the shape of the deployment settings (cdk.json context). */
export interface IngestionSettings {
  producers: unknown;
  operators: readonly unknown[];
}

export function planLocalIngestion(settings: IngestionSettings): IngestionPlan {
  const parsed = producerDeclarationsSchema.safeParse(settings.producers);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `producers.${issue.path.join('.')}: ${issue.message}`);
    throw new LocalSettingsError(`Invalid local settings:\n  - ${problems.join('\n  - ')}`);
  }
  const producers = parsed.data;
  const operators = settings.operators.map((operator, index) => {
    if (typeof operator !== 'string' || !PRINCIPAL_ARN_PATTERN.test(operator)) {
      throw new LocalSettingsError(`Invalid local settings:\n  - operators.${index}: must be an IAM role or user ARN, got ${JSON.stringify(operator)}`);
    }
    return operator;
  });

  const producerQueues: Record<string, string> = {};
  for (const [name] of queueProducers(producers)) producerQueues[name] = producerQueueName(name);
  const producerQueueArns = Object.fromEntries(Object.entries(producerQueues).map(([name, queue]) => [name, localQueueArn(queue)]));
  const bus = busProducers(producers);
  const functionRoleArn = `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${LOCAL_NAMES.functionRole}`;
  const resources: IngestionPlan['resources'] = {
    accountId: LOCAL_ACCOUNT_ID,
    busArn: `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:event-bus/${LOCAL_NAMES.bus}`,
    ...(bus.length > 0 && { ruleArn: `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:rule/${LOCAL_NAMES.bus}/${LOCAL_NAMES.rule}` }),
    busQueueArn: localQueueArn(LOCAL_NAMES.busQueue),
    producerQueueArns,
    deadLetterQueueArn: localQueueArn(LOCAL_NAMES.deadLetterQueue),
    functionRoleArn,
    operatorPrincipals: operators,
    // The local pipeline creates its bus, so it polices every source on it.
    ownsBus: true,
  };

  const principals = new LocalPrincipals();
  // Lambda names the function role's session after the function.
  principals.add(functionRoleArn, LOCAL_NAMES.functionName);
  for (const [, producer] of Object.entries(producers)) for (const principal of producer.principals) principals.add(principal);
  for (const operator of operators) principals.add(operator);

  return {
    producers,
    operators,
    sourceQueues: [LOCAL_NAMES.busQueue, ...Object.values(producerQueues)],
    producerQueues,
    resources,
    rulePattern: bus.length > 0 ? ingestionEventPattern(bus.map(([, producer]) => producer.source)) : undefined,
    queuePolicies: queueStatementsByArn(producers, resources),
    busPolicy: busStatements(producers, resources),
    runtimeProducers: runtimeProducersOf(producers, producerQueueArns),
    principals,
  };
}
