/**
 * Who may put what where: the resource policies of the bus, the queues and the DLQs, as plain
 * IAM policy JSON built from the producer declarations. The stack turns them into CDK policy
 * statements (lib/identity-provisioner.ts); the local SQS and EventBridge evaluate the very same
 * documents (local/iam), so a sender refused in AWS is refused on a laptop too.
 *
 * Same-account principals need no Allow on a queue or a bus: only an explicit Deny keeps them
 * out. So every door is a Deny to everyone but the declared principals, plus an Allow for the
 * declared principals of other accounts. No CDK import here: ARNs are strings (tokens in lib/).
 *
 * A condition on a key the request does not carry: a positive operator (ArnEquals) does not
 * match, a negated one (ArnNotLike) does. `aws:SourceArn` is present only when a service (here
 * EventBridge) acts for a resource; `aws:PrincipalArn` is the role ARN for a role's sessions.
 *
 * `events:source` and `events:detail-type` are multivalued: one PutEvents call carries the sources
 * and detail-types of all its entries, and the call is authorised as a whole. A plain StringEquals
 * on them never matches (so a Deny written that way would never apply); they take the set
 * operators: ForAnyValue (some entry has it) and ForAllValues (every entry has it).
 */
import {
  accountOfPrincipal,
  busProducers,
  queueProducers,
  type ProducerDeclaration,
  type ProducerDeclarations,
} from '../lambdas/shared/producers';
import { OUTCOME_EVENT_SOURCE } from '../lambdas/shared/telemetry';

export type ConditionBlock = Record<string, Record<string, string | string[]>>;

export interface PolicyStatementJson {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Principal: '*' | { AWS: string[] } | { Service: string };
  Action: string[];
  Resource: string[];
  Condition?: ConditionBlock;
}

/** The ARNs the policies name (CDK tokens in lib/, plain strings locally). */
export interface IngestionResources {
  accountId: string;
  busArn: string;
  /** The rule that delivers bus events to the bus queue; absent when no producer uses the bus. */
  ruleArn?: string;
  /** The queue the rule delivers to. */
  busQueueArn: string;
  /** One queue per `via: queue` producer, by producer name. */
  producerQueueArns: Readonly<Record<string, string>>;
  deadLetterQueueArn: string;
  ruleDeadLetterQueueArn?: string;
  /** The consumer function's role: moves rejected events to the DLQ, publishes outcome events. */
  functionRoleArn: string;
  /**
   * The drift function's role, when it is deployed: it publishes `identity.drift.detected` with the
   * outcome source (and sends repairs as the built-in drift-repair producer, declared with it).
   */
  driftRoleArn?: string;
  /** Roles allowed to redrive the DLQs into the queues (a message move sends as its caller). */
  operatorPrincipals: readonly string[];
  /** The deployment created the bus, so every source on it is its to police (not a shared bus). */
  ownsBus: boolean;
}

/** SendMessageBatch is authorised as sqs:SendMessage. */
const SEND_MESSAGE = ['sqs:SendMessage'];
/** What takes a message off a queue: whoever can do these can make an event (an offboarding) vanish. */
const TAKE_MESSAGES = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:PurgeQueue'];
const DESTROY_MESSAGES = ['sqs:DeleteMessage', 'sqs:PurgeQueue'];
const PUT_EVENTS = ['events:PutEvents'];

/** A Deny to every principal, where the condition (if any) holds: the shape of every door. */
function denyToAll(sid: string, actions: string[], resource: string, condition: ConditionBlock = {}): PolicyStatementJson {
  return {
    Sid: sid,
    Effect: 'Deny',
    Principal: '*',
    Action: actions,
    Resource: [resource],
    ...(Object.keys(condition).length > 0 && { Condition: condition }),
  };
}

/** `aws:PrincipalArn` is none of these (no condition at all when the list is empty: nobody is exempt). */
function principalNotIn(principals: readonly string[]): ConditionBlock {
  return principals.length > 0 ? { ArnNotLike: { 'aws:PrincipalArn': [...principals] } } : {};
}

/**
 * The bus queue: only the rule delivers to it (and operators redriving the DLQs). A producer that
 * could write to it directly could forge an EventBridge envelope with another producer's source.
 */
export function busQueueStatements(resources: IngestionResources): PolicyStatementJson[] {
  const fromTheRule: ConditionBlock = resources.ruleArn !== undefined ? { ArnNotEquals: { 'aws:SourceArn': resources.ruleArn } } : {};
  return [
    denyToAll('OnlyTheRuleAndOperatorsSend', SEND_MESSAGE, resources.busQueueArn, {
      ...fromTheRule,
      ...principalNotIn(resources.operatorPrincipals),
    }),
    onlyTheConsumerTakesMessages(resources.busQueueArn, resources),
  ];
}

/**
 * A source queue: only the consumer (the event source mapping polls with the function's role) and
 * the operators receive, delete or purge. Anyone else who could would be able to drop an event
 * before it is applied: an offboarding, say, by the person being offboarded.
 */
function onlyTheConsumerTakesMessages(queueArn: string, resources: IngestionResources): PolicyStatementJson {
  return denyToAll(
    'OnlyTheConsumerAndOperatorsTakeMessages',
    TAKE_MESSAGES,
    queueArn,
    principalNotIn([resources.functionRoleArn, ...resources.operatorPrincipals]),
  );
}

/** A DLQ: it may be read (inspected) by the account's principals, but only operators delete or purge. */
function onlyOperatorsDestroyMessages(queueArn: string, resources: IngestionResources): PolicyStatementJson {
  return denyToAll('OnlyOperatorsDeleteMessages', DESTROY_MESSAGES, queueArn, principalNotIn(resources.operatorPrincipals));
}

/** A queue producer's own queue: only its principals send (and operators redriving). */
export function producerQueueStatements(name: string, producer: ProducerDeclaration, resources: IngestionResources): PolicyStatementJson[] {
  const queueArn = resources.producerQueueArns[name];
  if (queueArn === undefined) throw new Error(`no queue ARN for queue producer "${name}"`);
  const statements: PolicyStatementJson[] = [
    denyToAll('OnlyTheProducerSends', SEND_MESSAGE, queueArn, principalNotIn([...producer.principals, ...resources.operatorPrincipals])),
    onlyTheConsumerTakesMessages(queueArn, resources),
  ];
  const external = otherAccountPrincipals(producer, resources.accountId);
  if (external.length > 0) {
    statements.push({
      Sid: 'ProducerInOtherAccountSends',
      Effect: 'Allow',
      Principal: { AWS: external },
      Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      Resource: [queueArn],
    });
  }
  return statements;
}

/** The DLQ: only the function moves rejected events into it (the queues' redrive is SQS's own). */
export function deadLetterQueueStatements(resources: IngestionResources): PolicyStatementJson[] {
  return [
    denyToAll('OnlyTheFunctionSends', SEND_MESSAGE, resources.deadLetterQueueArn, {
      ArnNotEquals: { 'aws:PrincipalArn': resources.functionRoleArn },
    }),
    onlyOperatorsDestroyMessages(resources.deadLetterQueueArn, resources),
  ];
}

/** The rule's DLQ: only EventBridge, for this rule. */
export function ruleDeadLetterQueueStatements(resources: IngestionResources): PolicyStatementJson[] {
  if (resources.ruleDeadLetterQueueArn === undefined || resources.ruleArn === undefined) return [];
  return [
    denyToAll('OnlyTheRuleSends', SEND_MESSAGE, resources.ruleDeadLetterQueueArn, { ArnNotEquals: { 'aws:SourceArn': resources.ruleArn } }),
    onlyOperatorsDestroyMessages(resources.ruleDeadLetterQueueArn, resources),
  ];
}

/**
 * The bus: each producer's source is usable by its principals only, for its event types only;
 * the outcome source by the function only; on a bus this deployment owns, no other source at all.
 */
export function busStatements(producers: ProducerDeclarations, resources: IngestionResources): PolicyStatementJson[] {
  const bus = resources.busArn;
  const statements: PolicyStatementJson[] = [];
  for (const [name, producer] of busProducers(producers)) {
    const id = pascal(name);
    const usesItsSource = { 'ForAnyValue:StringEquals': { 'events:source': producer.source } };
    // Some entry uses P's source, and the caller is not one of P's principals.
    statements.push(denyToAll(`Only${id}SendsAs${id}`, PUT_EVENTS, bus, { ...usesItsSource, ...principalNotIn(producer.principals) }));
    // Some entry uses P's source, and some entry's detail-type is outside P's event types. (A
    // principal belongs to one bus producer only, so its calls carry no other declared source.)
    statements.push(
      denyToAll(`${id}SendsOnlyItsEventTypes`, PUT_EVENTS, bus, {
        ...usesItsSource,
        'ForAnyValue:StringNotEquals': { 'events:detail-type': [...producer.eventTypes] },
      }),
    );
    const external = otherAccountPrincipals(producer, resources.accountId);
    if (external.length > 0) {
      statements.push({
        Sid: `${id}InOtherAccountSends`,
        Effect: 'Allow',
        Principal: { AWS: external },
        Action: PUT_EVENTS,
        Resource: [bus],
        // Every entry uses P's source.
        Condition: { 'ForAllValues:StringEquals': { 'events:source': producer.source } },
      });
    }
  }
  // The consumer publishes identity.change.*, the drift function identity.drift.detected (its own
  // IAM policy holds it to that detail-type).
  const outcomePublishers = [resources.functionRoleArn, ...(resources.driftRoleArn !== undefined ? [resources.driftRoleArn] : [])];
  statements.push(
    denyToAll('OnlyTheFunctionSendsOutcomes', PUT_EVENTS, bus, {
      'ForAnyValue:StringEquals': { 'events:source': OUTCOME_EVENT_SOURCE },
      ArnNotEquals: { 'aws:PrincipalArn': outcomePublishers.length === 1 ? outcomePublishers[0] : outcomePublishers },
    }),
  );
  if (resources.ownsBus) {
    // Some entry's source is neither a declared producer's nor the outcome source.
    statements.push(
      denyToAll('NoUndeclaredSources', PUT_EVENTS, bus, {
        'ForAnyValue:StringNotEquals': { 'events:source': [...busProducers(producers).map(([, p]) => p.source), OUTCOME_EVENT_SOURCE] },
      }),
    );
  }
  return statements;
}

/** Every queue statement, by the queue ARN it governs (what local/ installs on its queues). */
export function queueStatementsByArn(producers: ProducerDeclarations, resources: IngestionResources): Map<string, PolicyStatementJson[]> {
  const byArn = new Map<string, PolicyStatementJson[]>();
  byArn.set(resources.busQueueArn, busQueueStatements(resources));
  for (const [name, producer] of queueProducers(producers)) {
    byArn.set(resources.producerQueueArns[name], producerQueueStatements(name, producer, resources));
  }
  byArn.set(resources.deadLetterQueueArn, deadLetterQueueStatements(resources));
  if (resources.ruleDeadLetterQueueArn !== undefined) {
    byArn.set(resources.ruleDeadLetterQueueArn, ruleDeadLetterQueueStatements(resources));
  }
  return byArn;
}

/** A producer's principals outside `accountId` (a built-in producer states its account: its role's ARN is a token at synth). */
function otherAccountPrincipals(producer: ProducerDeclaration, accountId: string): string[] {
  if (producer.account !== undefined) return producer.account === accountId ? [] : [...producer.principals];
  return producer.principals.filter((arn) => accountOfPrincipal(arn) !== accountId);
}

/** `access-portal` -> `AccessPortal`: statement ids allow only letters and digits. */
export function pascal(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
