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
  DRIFT_REPAIR_PRODUCER,
  PRINCIPAL_ARN_PATTERN,
  producerDeclarationsSchema,
  queueProducers,
  runtimeProducersOf,
  type ProducerDeclarations,
  type RuntimeProducer,
  withDriftRepairProducer,
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
  /** The drift function's role: `npm run drift -- --repair` sends its repairs as it (producer drift-repair). */
  driftRole: 'drift-detector',
  tables: { audit: 'identity-provisioner-audit', state: 'identity-provisioner-state', idempotency: 'identity-provisioner-idempotency' },
} as const;

/** A queue producer's own queue (`producer-` keeps it apart from the bus queue and the DLQ). */
export function producerQueueName(producer: string): string {
  return `identity-provisioner-producer-${producer}`;
}

/** The local drift role: the one principal of the built-in drift-repair producer. */
export const LOCAL_DRIFT_ROLE_ARN = `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${LOCAL_NAMES.driftRole}`;

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
  /** The declared producers (the settings' own). */
  producers: ProducerDeclarations;
  /**
   * The built-in producers: drift-repair (principal LOCAL_DRIFT_ROLE_ARN, through the bus) when
   * the settings deploy the drift function (`drift`), as the stack has it; else none. The doors,
   * the policies and the function's PRODUCERS cover them with the declared ones.
   */
  builtInProducers: ProducerDeclarations;
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
  /**
   * The deployment has the drift function (driftSchedule is not "off"): then the built-in
   * drift-repair producer exists, so `npm run drift -- --repair` can send as the local drift role.
   * Default false (a plan of the consumer's doors alone).
   */
  drift?: boolean;
}

export function planLocalIngestion(settings: IngestionSettings): IngestionPlan {
  const parsed = producerDeclarationsSchema.safeParse(settings.producers);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `producers.${issue.path.join('.')}: ${issue.message}`);
    throw new LocalSettingsError(`Invalid local settings:\n  - ${problems.join('\n  - ')}`);
  }
  const producers = parsed.data;
  // Declared and built-in: what the doors, the policies and the function know.
  const everyProducer = settings.drift === true ? withDriftRepairProducer(producers, LOCAL_DRIFT_ROLE_ARN, LOCAL_ACCOUNT_ID) : producers;
  const builtInProducers: ProducerDeclarations =
    settings.drift === true ? { [DRIFT_REPAIR_PRODUCER]: everyProducer[DRIFT_REPAIR_PRODUCER] } : {};
  const operators = settings.operators.map((operator, index) => {
    if (typeof operator !== 'string' || !PRINCIPAL_ARN_PATTERN.test(operator)) {
      throw new LocalSettingsError(`Invalid local settings:\n  - operators.${index}: must be an IAM role or user ARN, got ${JSON.stringify(operator)}`);
    }
    return operator;
  });

  const producerQueues: Record<string, string> = {};
  for (const [name] of queueProducers(producers)) producerQueues[name] = producerQueueName(name);
  const producerQueueArns = Object.fromEntries(Object.entries(producerQueues).map(([name, queue]) => [name, localQueueArn(queue)]));
  const bus = busProducers(everyProducer);
  const functionRoleArn = `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${LOCAL_NAMES.functionRole}`;
  const resources: IngestionPlan['resources'] = {
    accountId: LOCAL_ACCOUNT_ID,
    busArn: `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:event-bus/${LOCAL_NAMES.bus}`,
    ...(bus.length > 0 && { ruleArn: `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:rule/${LOCAL_NAMES.bus}/${LOCAL_NAMES.rule}` }),
    busQueueArn: localQueueArn(LOCAL_NAMES.busQueue),
    producerQueueArns,
    deadLetterQueueArn: localQueueArn(LOCAL_NAMES.deadLetterQueue),
    functionRoleArn,
    ...(settings.drift === true && { driftRoleArn: LOCAL_DRIFT_ROLE_ARN }),
    operatorPrincipals: operators,
    // The local pipeline creates its bus, so it polices every source on it.
    ownsBus: true,
  };

  const principals = new LocalPrincipals();
  // Lambda names the function role's session after the function.
  principals.add(functionRoleArn, LOCAL_NAMES.functionName);
  for (const [, producer] of Object.entries(everyProducer)) for (const principal of producer.principals) principals.add(principal);
  for (const operator of operators) principals.add(operator);

  return {
    producers,
    builtInProducers,
    operators,
    sourceQueues: [LOCAL_NAMES.busQueue, ...Object.values(producerQueues)],
    producerQueues,
    resources,
    rulePattern: bus.length > 0 ? ingestionEventPattern(bus.map(([, producer]) => producer.source)) : undefined,
    queuePolicies: queueStatementsByArn(everyProducer, resources),
    busPolicy: busStatements(everyProducer, resources),
    runtimeProducers: runtimeProducersOf(everyProducer, producerQueueArns),
    principals,
  };
}
