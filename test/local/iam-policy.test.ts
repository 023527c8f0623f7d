/**
 * The local policy evaluator (local/iam) against the statements lib/access-policies.ts writes and
 * against inputs that try to get round them: missing keys, negated operators, lists with one bad
 * value, the case of ARNs, wildcards, principals of other accounts.
 */
import { busStatements, producerQueueStatements, type IngestionResources } from '../../lib/access-policies';
import {
  evaluatePolicy,
  LocalPrincipals,
  localAccessKeyIdFor,
  localUniqueIdFor,
  parsePolicy,
  PolicyError,
  senderIdOf,
  type AuthorizationRequest,
  type StatementInput,
} from '../../local/iam';
import { producerDeclarationsSchema } from '../../lambdas/shared/producers';
import { OUTCOME_EVENT_SOURCE } from '../../lambdas/shared/telemetry';

const ACCOUNT = '000000000000';
const QUEUE = `arn:aws:sqs:us-east-1:${ACCOUNT}:q`;
const ROLE = (name: string, account = ACCOUNT) => `arn:aws:iam::${account}:role/${name}`;

function request(overrides: Partial<AuthorizationRequest> & { arn?: string; account?: string } = {}): AuthorizationRequest {
  const arn = overrides.arn ?? ROLE('someone');
  const account = overrides.account ?? arn.split(':')[4];
  return {
    action: 'sqs:SendMessage',
    resource: QUEUE,
    resourceAccount: ACCOUNT,
    principal: { type: 'aws', arn, account },
    context: { 'aws:PrincipalArn': arn, 'aws:PrincipalAccount': account },
    ...overrides,
  };
}

const deny = (condition: StatementInput['Condition']): StatementInput => ({
  Sid: 'D',
  Effect: 'Deny',
  Principal: '*',
  Action: ['sqs:SendMessage'],
  Resource: [QUEUE],
  ...(condition && { Condition: condition }),
});

describe('condition operators', () => {
  it('a positive operator on a key the request lacks does not match; a negated one does', () => {
    const positive = parsePolicy([deny({ ArnEquals: { 'aws:SourceArn': 'arn:aws:events:us-east-1:000000000000:rule/r' } })]);
    const negated = parsePolicy([deny({ ArnNotEquals: { 'aws:SourceArn': 'arn:aws:events:us-east-1:000000000000:rule/r' } })]);
    expect(evaluatePolicy(positive, request()).allowed).toBe(true);
    expect(evaluatePolicy(negated, request())).toMatchObject({ allowed: false, by: 'explicitDeny' });
  });

  it('StringNotEquals on a missing key holds, so a Deny "unless source X" denies a request without a source', () => {
    const policy = parsePolicy([deny({ StringNotEquals: { 'events:source': 'hr' } })]);
    expect(evaluatePolicy(policy, request({ context: {} })).allowed).toBe(false);
    expect(evaluatePolicy(policy, request({ context: { 'events:source': 'hr' } })).allowed).toBe(true);
  });

  it('a list matches if any value matches; a negated list holds only if none does', () => {
    const policy = parsePolicy([deny({ ArnNotLike: { 'aws:PrincipalArn': [ROLE('a'), ROLE('b')] } })]);
    expect(evaluatePolicy(policy, request({ arn: ROLE('b') })).allowed).toBe(true);
    expect(evaluatePolicy(policy, request({ arn: ROLE('c') })).allowed).toBe(false);
  });

  it('compares ARNs case-sensitively: a role written in another case is not the declared one', () => {
    const policy = parsePolicy([deny({ ArnNotLike: { 'aws:PrincipalArn': ROLE('hr-feed') } })]);
    expect(evaluatePolicy(policy, request({ arn: ROLE('HR-Feed') })).allowed).toBe(false);
    expect(evaluatePolicy(policy, request({ arn: ROLE('hr-feed') })).allowed).toBe(true);
  });

  it('compares string values case-sensitively and keys case-insensitively', () => {
    const policy = parsePolicy([deny({ StringEquals: { 'EVENTS:SOURCE': 'identity-provisioner.hr' } })]);
    expect(evaluatePolicy(policy, request({ context: { 'events:source': 'identity-provisioner.hr' } })).allowed).toBe(false);
    expect(evaluatePolicy(policy, request({ context: { 'events:source': 'Identity-Provisioner.HR' } })).allowed).toBe(true);
    // A look-alike (Cyrillic "р") is another string.
    expect(evaluatePolicy(policy, request({ context: { 'events:source': 'identity-provisioner.h\u0440' } })).allowed).toBe(true);
  });

  it('ArnLike and ArnEquals take * and ? within each of the six ARN parts', () => {
    const like = parsePolicy([deny({ ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/deploy-?' } })]);
    expect(evaluatePolicy(like, request({ arn: ROLE('deploy-1', '111122223333') })).allowed).toBe(false);
    expect(evaluatePolicy(like, request({ arn: ROLE('deploy-12') })).allowed).toBe(true);
    const equals = parsePolicy([deny({ ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::000000000000:role/*' } })]);
    expect(evaluatePolicy(equals, request({ arn: ROLE('anything') })).allowed).toBe(false);
    // A pattern of fewer than six parts matches nothing: `*` does not stand in for the missing colons.
    const parts = parsePolicy([deny({ ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*' } })]);
    expect(evaluatePolicy(parts, request({ arn: ROLE('x') })).allowed).toBe(true);
    // `*` within the resource part spans its slashes, as IAM's does.
    const resource = parsePolicy([deny({ ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::000000000000:role/*' } })]);
    expect(evaluatePolicy(resource, request({ arn: 'arn:aws:iam::000000000000:role/path/x' })).allowed).toBe(false);
  });

  it('several keys and several operators must all hold', () => {
    const policy = parsePolicy([deny({ StringEquals: { 'events:source': 's' }, ArnNotLike: { 'aws:PrincipalArn': ROLE('owner') } })]);
    expect(evaluatePolicy(policy, request({ arn: ROLE('owner'), context: { 'events:source': 's', 'aws:PrincipalArn': ROLE('owner') } })).allowed).toBe(true);
    expect(evaluatePolicy(policy, request({ arn: ROLE('other'), context: { 'events:source': 't', 'aws:PrincipalArn': ROLE('other') } })).allowed).toBe(true);
    expect(evaluatePolicy(policy, request({ arn: ROLE('other'), context: { 'events:source': 's', 'aws:PrincipalArn': ROLE('other') } })).allowed).toBe(false);
  });

  it('set operators: ForAnyValue needs one matching value (none when the key is missing), ForAllValues every one (all of none)', () => {
    const any = parsePolicy([deny({ 'ForAnyValue:StringNotEquals': { 'events:detail-type': ['a', 'b'] } })]);
    expect(evaluatePolicy(any, request({ context: { 'events:detail-type': ['a', 'b'] } })).allowed).toBe(true);
    expect(evaluatePolicy(any, request({ context: { 'events:detail-type': ['a', 'c'] } })).allowed).toBe(false);
    expect(evaluatePolicy(any, request({ context: {} })).allowed).toBe(true);
    const all = parsePolicy([deny({ 'ForAllValues:StringEquals': { 'events:source': 's' } })]);
    expect(evaluatePolicy(all, request({ context: {} })).allowed).toBe(false);
    expect(evaluatePolicy(all, request({ context: { 'events:source': ['s', 't'] } })).allowed).toBe(true);
  });

  it('refuses what it cannot evaluate instead of ignoring it', () => {
    expect(() => parsePolicy([deny({ StringEqualsIfExists: { 'events:source': 's' } })])).toThrow(PolicyError);
    expect(() => parsePolicy([deny({ 'ForSomeValues:StringEquals': { 'events:source': 's' } })])).toThrow(/ForSomeValues:StringEquals/);
    expect(() => parsePolicy([{ ...deny(undefined), NotPrincipal: { AWS: ROLE('x') } } as unknown as StatementInput])).toThrow(/NotPrincipal/);
    expect(() => parsePolicy('{not json')).toThrow(/not valid JSON/);
  });
});

describe('who needs an Allow', () => {
  const allowExternal: StatementInput = { Sid: 'A', Effect: 'Allow', Principal: { AWS: [ROLE('feed', '111122223333')] }, Action: ['sqs:SendMessage'], Resource: [QUEUE] };

  it('a principal of the resource account is allowed absent a Deny; one of another account only with a matching Allow', () => {
    const policy = parsePolicy([allowExternal]);
    expect(evaluatePolicy(policy, request({ arn: ROLE('anyone') }))).toEqual({ allowed: true, by: 'sameAccount' });
    expect(evaluatePolicy(policy, request({ arn: ROLE('feed', '111122223333') }))).toEqual({ allowed: true, by: 'allow' });
    expect(evaluatePolicy(policy, request({ arn: ROLE('other', '111122223333') }))).toEqual({ allowed: false, by: 'noAllow' });
    expect(evaluatePolicy(policy, request({ arn: ROLE('feed', '444455556666') }))).toEqual({ allowed: false, by: 'noAllow' });
  });

  it('an explicit Deny beats an Allow that names the principal', () => {
    const policy = parsePolicy([allowExternal, deny(undefined)]);
    expect(evaluatePolicy(policy, request({ arn: ROLE('feed', '111122223333') })).allowed).toBe(false);
  });

  it('an Allow for another action or resource does not let the principal in', () => {
    const policy = parsePolicy([{ ...allowExternal, Action: ['sqs:ReceiveMessage'] }, { ...allowExternal, Sid: 'B', Resource: [`${QUEUE}-other`] }]);
    expect(evaluatePolicy(policy, request({ arn: ROLE('feed', '111122223333') })).allowed).toBe(false);
  });
});

describe('the statements lib/access-policies.ts writes', () => {
  const producers = producerDeclarationsSchema.parse({
    hr: { via: 'bus', principals: [ROLE('hr-feed')], eventTypes: '*', groups: ['*'] },
    portal: { via: 'bus', principals: [ROLE('access-portal', '111122223333')], eventTypes: ['membership.added'], groups: ['app-*'] },
    tool: { via: 'queue', principals: [ROLE('tool')], eventTypes: '*', groups: ['*'] },
  });
  const resources: IngestionResources = {
    accountId: ACCOUNT,
    busArn: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/b`,
    ruleArn: `arn:aws:events:us-east-1:${ACCOUNT}:rule/b/r`,
    busQueueArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:bus-queue`,
    producerQueueArns: { tool: QUEUE },
    deadLetterQueueArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:dlq`,
    functionRoleArn: ROLE('fn'),
    operatorPrincipals: [ROLE('operator')],
    ownsBus: true,
  };
  const bus = parsePolicy(busStatements(producers, resources));
  const put = (arn: string, source: string, detailType: string) => {
    const account = arn.split(':')[4];
    return evaluatePolicy(bus, {
      action: 'events:PutEvents',
      resource: resources.busArn,
      resourceAccount: ACCOUNT,
      principal: { type: 'aws', arn, account },
      context: { 'aws:PrincipalArn': arn, 'events:source': [source], 'events:detail-type': [detailType] },
    });
  };

  it('the bus: each source only for its principals and event types; the outcome source only for the function; nothing undeclared', () => {
    expect(put(ROLE('hr-feed'), 'identity-provisioner.hr', 'user.upserted').allowed).toBe(true);
    expect(put(ROLE('intruder'), 'identity-provisioner.hr', 'user.upserted')).toMatchObject({ allowed: false, statement: { sid: 'OnlyHrSendsAsHr' } });
    expect(put(ROLE('access-portal', '111122223333'), 'identity-provisioner.portal', 'membership.added').allowed).toBe(true);
    expect(put(ROLE('access-portal', '111122223333'), 'identity-provisioner.portal', 'user.deleted')).toMatchObject({ allowed: false, statement: { sid: 'PortalSendsOnlyItsEventTypes' } });
    // The portal may not use hr's source (it is not hr's principal), nor an undeclared one.
    expect(put(ROLE('access-portal', '111122223333'), 'identity-provisioner.hr', 'membership.added').allowed).toBe(false);
    expect(put(ROLE('hr-feed'), 'identity-provisioner.other', 'user.upserted')).toMatchObject({ allowed: false, statement: { sid: 'NoUndeclaredSources' } });
    expect(put(ROLE('fn'), OUTCOME_EVENT_SOURCE, 'identity.change.applied').allowed).toBe(true);
    expect(put(ROLE('hr-feed'), OUTCOME_EVENT_SOURCE, 'identity.change.applied').allowed).toBe(false);
    // A principal of the portal's account that is not the portal gets no Allow.
    expect(put(ROLE('other', '111122223333'), 'identity-provisioner.portal', 'membership.added').allowed).toBe(false);
  });

  it('a producer queue: its principals and the operators send; anyone else, a look-alike role included, is denied', () => {
    const policy = parsePolicy(producerQueueStatements('tool', producers.tool, resources));
    expect(evaluatePolicy(policy, request({ arn: ROLE('tool') })).allowed).toBe(true);
    expect(evaluatePolicy(policy, request({ arn: ROLE('operator') })).allowed).toBe(true);
    expect(evaluatePolicy(policy, request({ arn: ROLE('tool-2') })).allowed).toBe(false);
    expect(evaluatePolicy(policy, request({ arn: ROLE('Tool') })).allowed).toBe(false);
    expect(evaluatePolicy(policy, request({ arn: `arn:aws:iam::${ACCOUNT}:user/tool` })).allowed).toBe(false);
  });
});

describe('local credentials', () => {
  it('the access key id is a pure function of the principal: ASIA for a role, AKIA for a user', () => {
    expect(localAccessKeyIdFor(ROLE('hr-feed'))).toBe(localAccessKeyIdFor(ROLE('hr-feed')));
    expect(localAccessKeyIdFor(ROLE('hr-feed'))).not.toBe(localAccessKeyIdFor(ROLE('HR-Feed')));
    expect(localAccessKeyIdFor(ROLE('hr-feed'))).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(localAccessKeyIdFor(`arn:aws:iam::${ACCOUNT}:user/alice`)).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(() => localAccessKeyIdFor(`arn:aws:iam::${ACCOUNT}:root`)).toThrow(/not an IAM role or user ARN/);
  });

  it('maps a SigV4 Authorization header to the registered principal, anything else to the unknown caller', () => {
    const principals = new LocalPrincipals([{ arn: ROLE('fn'), sessionName: 'consumer' }, `arn:aws:iam::${ACCOUNT}:user/alice`]);
    const header = (key: string) => `AWS4-HMAC-SHA256 Credential=${key}/20261130/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=abc`;
    const fn = principals.callerOf(header(localAccessKeyIdFor(ROLE('fn'))), ACCOUNT);
    expect(fn).toMatchObject({ arn: ROLE('fn'), known: true });
    expect(senderIdOf(fn)).toBe(`${localUniqueIdFor(ROLE('fn'))}:consumer`);
    expect(senderIdOf(fn)).toMatch(/^AROA[A-Z2-7]{17}:consumer$/);
    expect(senderIdOf(principals.callerOf(header(localAccessKeyIdFor(`arn:aws:iam::${ACCOUNT}:user/alice`)), ACCOUNT))).toMatch(/^AIDA[A-Z2-7]{17}$/);
    // The key of an unregistered role, a made-up key, no header at all: the unknown caller, named by no policy.
    for (const unknown of [header(localAccessKeyIdFor(ROLE('not-registered'))), header('AKIAEXAMPLE'), undefined]) {
      expect(principals.callerOf(unknown, ACCOUNT)).toMatchObject({ arn: `arn:aws:iam::${ACCOUNT}:user/unknown-local-caller`, known: false });
    }
  });
});
