/**
 * Requests against the doors' resource policies, with the decision each must get. The same cases
 * are decided by an independent IAM evaluator (tools/iam-oracle: its answers are kept in
 * test/fixtures/iam-oracle-decisions.json) and by the local stand-ins' evaluator (local/iam), so the
 * policies lib/access-policies.ts writes, and the local enforcement of them, are checked against
 * an implementation of IAM that this project did not write.
 */
import { busStatements, queueStatementsByArn, type IngestionResources, type PolicyStatementJson } from '../../lib/access-policies';
import { producerDeclarationsSchema } from '../../lambdas/shared/producers';

export const ACCOUNT = '123456789012';
const HR_ACCOUNT = '111122223333';
const role = (name: string, account = ACCOUNT) => `arn:aws:iam::${account}:role/${name}`;

export const PRODUCERS = producerDeclarationsSchema.parse({
  hr: { via: 'bus', principals: [role('hr-feed', HR_ACCOUNT)], eventTypes: ['user.upserted', 'user.deleted', 'group.upserted'], groups: ['*'] },
  'access-portal': { via: 'queue', principals: [role('access-portal')], eventTypes: ['membership.added', 'membership.removed'], groups: ['app-*'] },
});

export const RESOURCES: IngestionResources = {
  accountId: ACCOUNT,
  busArn: `arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/identity-provisioner`,
  ruleArn: `arn:aws:events:eu-west-1:${ACCOUNT}:rule/identity-provisioner/IngestRule`,
  busQueueArn: `arn:aws:sqs:eu-west-1:${ACCOUNT}:bus-queue`,
  producerQueueArns: { 'access-portal': `arn:aws:sqs:eu-west-1:${ACCOUNT}:portal-queue` },
  deadLetterQueueArn: `arn:aws:sqs:eu-west-1:${ACCOUNT}:dlq`,
  ruleDeadLetterQueueArn: `arn:aws:sqs:eu-west-1:${ACCOUNT}:rule-dlq`,
  functionRoleArn: role('consumer'),
  operatorPrincipals: [role('oncall')],
  ownsBus: true,
};

export type Decision = 'Allowed' | 'Denied';

export interface AccessCase {
  what: string;
  principal: string;
  action: string;
  resource: string;
  /** The request context: a list for a multivalued key (every entry of a PutEvents call). */
  context: Record<string, string | string[]>;
  expected: Decision;
}

/** The resource policy that governs a case's resource, as the generator writes it today. */
export function policyFor(resource: string): PolicyStatementJson[] {
  if (resource === RESOURCES.busArn) return busStatements(PRODUCERS, RESOURCES);
  const statements = queueStatementsByArn(PRODUCERS, RESOURCES).get(resource);
  if (statements === undefined) throw new Error(`no policy for ${resource}`);
  return statements;
}

const cases: AccessCase[] = [];
const hr = role('hr-feed', HR_ACCOUNT);
const powerUser = role('PowerUser');
const put = (what: string, principal: string, sources: string[], types: string[], expected: Decision) =>
  cases.push({ what, principal, action: 'events:PutEvents', resource: RESOURCES.busArn, context: { 'aws:PrincipalArn': principal, 'events:source': sources, 'events:detail-type': types }, expected });
const sqs = (what: string, principal: string, action: string, queue: string, expected: Decision) =>
  cases.push({ what, principal, action, resource: queue, context: { 'aws:PrincipalArn': principal }, expected });

put('bus: a PowerUser as hr', powerUser, ['identity-provisioner.hr'], ['user.upserted'], 'Denied');
put('bus: hr (another account), a granted type', hr, ['identity-provisioner.hr'], ['user.upserted'], 'Allowed');
put('bus: hr, two granted types in one call', hr, ['identity-provisioner.hr'], ['user.upserted', 'user.deleted'], 'Allowed');
put('bus: hr, a type outside its grant', hr, ['identity-provisioner.hr'], ['membership.added'], 'Denied');
put('bus: hr, a granted and an ungranted type in one call', hr, ['identity-provisioner.hr'], ['user.upserted', 'group.deleted'], 'Denied');
put('bus: hr with a source of its own invention', hr, ['identity-provisioner.manual'], ['user.upserted'], 'Denied');
put('bus: hr, its source and an undeclared one in one call', hr, ['identity-provisioner.hr', 'acme.x'], ['user.upserted'], 'Denied');
put('bus: hr, its source and the outcome source in one call', hr, ['identity-provisioner.hr', 'identity-provisioner'], ['user.upserted', 'identity.change.applied'], 'Denied');
put('bus: a PowerUser with an undeclared source', powerUser, ['acme.x'], ['user.upserted'], 'Denied');
put('bus: a PowerUser, an undeclared source and hr in one call', powerUser, ['acme.x', 'identity-provisioner.hr'], ['user.upserted'], 'Denied');
put('bus: a PowerUser with the outcome source', powerUser, ['identity-provisioner'], ['identity.change.applied'], 'Denied');
put('bus: the function with the outcome source', RESOURCES.functionRoleArn, ['identity-provisioner'], ['identity.change.applied'], 'Allowed');
put('bus: the function as hr', RESOURCES.functionRoleArn, ['identity-provisioner.hr'], ['user.upserted'], 'Denied');

const portalQueue = RESOURCES.producerQueueArns['access-portal']!;
sqs('bus queue: a PowerUser sends', powerUser, 'sqs:SendMessage', RESOURCES.busQueueArn, 'Denied');
sqs('bus queue: the portal sends (it could forge an envelope)', role('access-portal'), 'sqs:SendMessage', RESOURCES.busQueueArn, 'Denied');
sqs('bus queue: an operator sends (a redrive)', role('oncall'), 'sqs:SendMessage', RESOURCES.busQueueArn, 'Allowed');
sqs('bus queue: a PowerUser purges', powerUser, 'sqs:PurgeQueue', RESOURCES.busQueueArn, 'Denied');
sqs('bus queue: the function receives', RESOURCES.functionRoleArn, 'sqs:ReceiveMessage', RESOURCES.busQueueArn, 'Allowed');
sqs('bus queue: an operator purges', role('oncall'), 'sqs:PurgeQueue', RESOURCES.busQueueArn, 'Allowed');
sqs('portal queue: a PowerUser sends', powerUser, 'sqs:SendMessage', portalQueue, 'Denied');
sqs('portal queue: the portal sends', role('access-portal'), 'sqs:SendMessage', portalQueue, 'Allowed');
sqs('portal queue: hr sends', hr, 'sqs:SendMessage', portalQueue, 'Denied');
sqs('portal queue: a PowerUser receives', powerUser, 'sqs:ReceiveMessage', portalQueue, 'Denied');
sqs('portal queue: the portal deletes from its own queue', role('access-portal'), 'sqs:DeleteMessage', portalQueue, 'Denied');
sqs('portal queue: the function deletes', RESOURCES.functionRoleArn, 'sqs:DeleteMessage', portalQueue, 'Allowed');
sqs('DLQ: a PowerUser sends', powerUser, 'sqs:SendMessage', RESOURCES.deadLetterQueueArn, 'Denied');
sqs('DLQ: the function sends (a rejection)', RESOURCES.functionRoleArn, 'sqs:SendMessage', RESOURCES.deadLetterQueueArn, 'Allowed');
sqs('DLQ: a PowerUser reads', powerUser, 'sqs:ReceiveMessage', RESOURCES.deadLetterQueueArn, 'Allowed');
sqs('DLQ: a PowerUser purges', powerUser, 'sqs:PurgeQueue', RESOURCES.deadLetterQueueArn, 'Denied');
sqs('DLQ: the function deletes', RESOURCES.functionRoleArn, 'sqs:DeleteMessage', RESOURCES.deadLetterQueueArn, 'Denied');
sqs('DLQ: an operator deletes', role('oncall'), 'sqs:DeleteMessage', RESOURCES.deadLetterQueueArn, 'Allowed');
sqs('rule DLQ: a PowerUser sends', powerUser, 'sqs:SendMessage', RESOURCES.ruleDeadLetterQueueArn!, 'Denied');
sqs('rule DLQ: a PowerUser purges', powerUser, 'sqs:PurgeQueue', RESOURCES.ruleDeadLetterQueueArn!, 'Denied');

export const ACCESS_CASES: readonly AccessCase[] = cases;
