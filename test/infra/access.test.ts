/**
 * The doors, as the template renders them: who may put events on the bus, send to each queue,
 * take messages off it, and write to the DLQs (lib/access-policies.ts, installed by the stack).
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { OUTCOME_EVENT_SOURCE } from '../../lambdas/shared/telemetry';
import { IdentityProvisionerStack, IdentityProvisionerStateStack, parseProvisionerSettings, ProvisionerConfigError } from '../../lib';
import {
  buildApp,
  busPolicyStatements,
  CONSUMER_ROLE_ARN,
  DRIFT_ROLE_ARN,
  defaultTemplates,
  EXAMPLE_PRODUCERS,
  EXAMPLE_SETTINGS,
  HR_ROLE,
  logicalId,
  MANUAL_ROLE,
  OPERATOR_ROLE,
  PORTAL_LOCAL_ROLE,
  PORTAL_ROLE,
  resourcePolicyStatements,
  TEST_ENV,
} from './build-app';

const { stateless } = defaultTemplates();
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const queueId = logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerQueue');
const portalQueueId = logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerProducerQueueAccessPortal');
const dlqId = logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerDeadLetterQueue');
const ruleDlqId = logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerRuleDeadLetterQueue');
const ruleArn = getAtt(logicalId(stateless, 'AWS::Events::Rule', 'ProvisionerRule'));
const busArn = getAtt(logicalId(stateless, 'AWS::Events::EventBus', 'ProvisionerEventBus'));
const functionRoleArn = CONSUMER_ROLE_ARN;
const queueStatements = (template: Template, id: string) => resourcePolicyStatements(template, 'AWS::SQS::QueuePolicy', id);
const sid = (statements: Array<Record<string, unknown>>, wanted: string) => {
  const found = statements.filter((statement) => statement.Sid === wanted);
  if (found.length !== 1) throw new Error(`expected one statement ${wanted}, found ${found.length}`);
  return found[0];
};

describe('the bus queue: only the rule delivers', () => {
  const statements = () => queueStatements(stateless, queueId);

  it('denies SendMessage to everyone but the rule (aws:SourceArn) and the operators', () => {
    expect(sid(statements(), 'OnlyTheRuleAndOperatorsSend')).toEqual({
      Sid: 'OnlyTheRuleAndOperatorsSend',
      Effect: 'Deny',
      Principal: '*',
      Action: 'sqs:SendMessage',
      Resource: getAtt(queueId),
      Condition: { ArnNotEquals: { 'aws:SourceArn': ruleArn }, ArnNotLike: { 'aws:PrincipalArn': [OPERATOR_ROLE] } },
    });
  });

  it('lets no producer principal send, not even a bus producer of this account (it could forge another producer\'s envelope)', () => {
    const text = JSON.stringify(statements());
    for (const principal of [HR_ROLE, MANUAL_ROLE, PORTAL_ROLE, PORTAL_LOCAL_ROLE]) expect(text).not.toContain(principal);
  });

  it('denies receiving, deleting and purging to everyone but the consumer role and the operators', () => {
    expect(sid(statements(), 'OnlyTheConsumerAndOperatorsTakeMessages')).toMatchObject({
      Effect: 'Deny',
      Principal: '*',
      Action: expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:PurgeQueue', 'sqs:ChangeMessageVisibility']),
      Condition: { ArnNotLike: { 'aws:PrincipalArn': [functionRoleArn, OPERATOR_ROLE] } },
    });
  });

  it('with no operators declared, only the rule: the condition names no principal', () => {
    const template = buildApp({ producers: EXAMPLE_PRODUCERS }).stateless;
    expect(sid(queueStatements(template, logicalId(template, 'AWS::SQS::Queue', 'ProvisionerQueue')), 'OnlyTheRuleAndOperatorsSend').Condition).toEqual({
      ArnNotEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [logicalId(template, 'AWS::Events::Rule', 'ProvisionerRule'), 'Arn'] } },
    });
  });

  it('with no producer, no operator and drift off (no rule at all), denies SendMessage to everyone (no condition at all)', () => {
    const template = buildApp({ driftSchedule: 'off' }).stateless;
    const deny = sid(queueStatements(template, logicalId(template, 'AWS::SQS::Queue', 'ProvisionerQueue')), 'OnlyTheRuleAndOperatorsSend');
    expect(deny).toMatchObject({ Effect: 'Deny', Principal: '*', Action: 'sqs:SendMessage' });
    expect(deny.Condition).toBeUndefined();
  });
});

describe('a producer queue: only its producer sends', () => {
  const statements = () => queueStatements(stateless, portalQueueId);

  it('denies SendMessage to everyone but the producer\'s principals and the operators', () => {
    expect(sid(statements(), 'OnlyTheProducerSends')).toEqual({
      Sid: 'OnlyTheProducerSends',
      Effect: 'Deny',
      Principal: '*',
      Action: 'sqs:SendMessage',
      Resource: getAtt(portalQueueId),
      Condition: { ArnNotLike: { 'aws:PrincipalArn': [PORTAL_ROLE, PORTAL_LOCAL_ROLE, OPERATOR_ROLE] } },
    });
  });

  it('allows the producer\'s principal in another account to send (and only it: the same-account one needs no Allow)', () => {
    expect(sid(statements(), 'ProducerInOtherAccountSends')).toEqual({
      Sid: 'ProducerInOtherAccountSends',
      Effect: 'Allow',
      Principal: { AWS: PORTAL_ROLE },
      Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      Resource: getAtt(portalQueueId),
    });
  });

  it('names no other producer\'s principal', () => {
    const text = JSON.stringify(statements());
    expect(text).not.toContain(HR_ROLE);
    expect(text).not.toContain(MANUAL_ROLE);
  });

  it('lets only the consumer and the operators take messages off it', () => {
    expect(sid(statements(), 'OnlyTheConsumerAndOperatorsTakeMessages').Condition).toEqual({
      ArnNotLike: { 'aws:PrincipalArn': [functionRoleArn, OPERATOR_ROLE] },
    });
  });

  it('adds no Allow when every principal is in this account', () => {
    const template = buildApp({
      producers: { 'access-portal': { ...EXAMPLE_PRODUCERS['access-portal'], principals: [PORTAL_LOCAL_ROLE] } },
    }).stateless;
    const id = logicalId(template, 'AWS::SQS::Queue', 'ProvisionerProducerQueueAccessPortal');
    expect(queueStatements(template, id).filter((statement) => statement.Effect === 'Allow')).toEqual([]);
  });
});

describe('the dead-letter queues: producers cannot write to them', () => {
  it('the DLQ: only the function role sends (to move a rejected event there)', () => {
    expect(sid(queueStatements(stateless, dlqId), 'OnlyTheFunctionSends')).toEqual({
      Sid: 'OnlyTheFunctionSends',
      Effect: 'Deny',
      Principal: '*',
      Action: 'sqs:SendMessage',
      Resource: getAtt(dlqId),
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': functionRoleArn } },
    });
  });

  it('the DLQ: only operators delete or purge', () => {
    expect(sid(queueStatements(stateless, dlqId), 'OnlyOperatorsDeleteMessages')).toMatchObject({
      Effect: 'Deny',
      Action: ['sqs:DeleteMessage', 'sqs:PurgeQueue'],
      Condition: { ArnNotLike: { 'aws:PrincipalArn': [OPERATOR_ROLE] } },
    });
  });

  it('the rule DLQ: only this rule sends (aws:SourceArn)', () => {
    expect(sid(queueStatements(stateless, ruleDlqId), 'OnlyTheRuleSends')).toEqual({
      Sid: 'OnlyTheRuleSends',
      Effect: 'Deny',
      Principal: '*',
      Action: 'sqs:SendMessage',
      Resource: getAtt(ruleDlqId),
      Condition: { ArnNotEquals: { 'aws:SourceArn': ruleArn } },
    });
  });

  it('the rule DLQ: only operators delete or purge', () => {
    expect(sid(queueStatements(stateless, ruleDlqId), 'OnlyOperatorsDeleteMessages').Condition).toEqual({
      ArnNotLike: { 'aws:PrincipalArn': [OPERATOR_ROLE] },
    });
  });

  it('no DLQ names a producer principal', () => {
    const text = JSON.stringify([...queueStatements(stateless, dlqId), ...queueStatements(stateless, ruleDlqId)]);
    for (const principal of [HR_ROLE, MANUAL_ROLE, PORTAL_ROLE, PORTAL_LOCAL_ROLE]) expect(text).not.toContain(principal);
  });
});

describe('the bus policy: each source tied to its producer', () => {
  const bus = busPolicyStatements(stateless);

  it('HR\'s source may be used by HR\'s principals only', () => {
    expect(bus.get('OnlyHrSendsAsHr')).toMatchObject({
      Effect: 'Deny',
      Principal: '*',
      Action: 'events:PutEvents',
      Resource: busArn,
      Condition: {
        'ForAnyValue:StringEquals': { 'events:source': 'identity-provisioner.hr' },
        ArnNotLike: { 'aws:PrincipalArn': [HR_ROLE] },
      },
    });
  });

  it('HR may send only its event types', () => {
    expect(bus.get('HrSendsOnlyItsEventTypes')).toMatchObject({
      Effect: 'Deny',
      Condition: {
        'ForAnyValue:StringEquals': { 'events:source': 'identity-provisioner.hr' },
        'ForAnyValue:StringNotEquals': { 'events:detail-type': ['user.upserted', 'user.deleted', 'group.upserted'] },
      },
    });
  });

  it('HR, in another account, is allowed in, with its own source only', () => {
    expect(bus.get('HrInOtherAccountSends')).toMatchObject({
      Effect: 'Allow',
      Principal: { AWS: HR_ROLE },
      Action: 'events:PutEvents',
      Resource: busArn,
      Condition: { 'ForAllValues:StringEquals': { 'events:source': 'identity-provisioner.hr' } },
    });
  });

  it('the same-account producer gets no cross-account Allow, only its Denies', () => {
    expect(bus.has('ManualInOtherAccountSends')).toBe(false);
    expect(bus.get('OnlyManualSendsAsManual')).toMatchObject({
      Condition: { 'ForAnyValue:StringEquals': { 'events:source': 'acme.identity-manual' }, ArnNotLike: { 'aws:PrincipalArn': [MANUAL_ROLE] } },
    });
  });

  it('the queue producer has no statement on the bus', () => {
    expect([...bus.keys()].filter((id) => id.includes('AccessPortal'))).toEqual([]);
    expect(JSON.stringify([...bus.values()])).not.toContain(PORTAL_ROLE);
  });

  it('the outcome source is the functions\' only (the consumer\'s, and the drift function\'s for identity.drift.detected)', () => {
    expect(bus.get('OnlyTheFunctionSendsOutcomes')).toMatchObject({
      Effect: 'Deny',
      Condition: {
        'ForAnyValue:StringEquals': { 'events:source': OUTCOME_EVENT_SOURCE },
        ArnNotEquals: { 'aws:PrincipalArn': [functionRoleArn, DRIFT_ROLE_ARN] },
      },
    });
  });

  it('no undeclared source on the bus this deployment owns', () => {
    expect(bus.get('NoUndeclaredSources')).toMatchObject({
      Effect: 'Deny',
      Condition: {
        'ForAnyValue:StringNotEquals': {
          'events:source': ['identity-provisioner.drift-repair', 'identity-provisioner.hr', 'acme.identity-manual', OUTCOME_EVENT_SOURCE],
        },
      },
    });
  });

  it('exactly these statements, each its own AWS::Events::EventBusPolicy on this bus', () => {
    expect([...bus.keys()].sort()).toEqual([
      'DriftRepairSendsOnlyItsEventTypes',
      'HrInOtherAccountSends',
      'HrSendsOnlyItsEventTypes',
      'ManualSendsOnlyItsEventTypes',
      'NoUndeclaredSources',
      'OnlyDriftRepairSendsAsDriftRepair',
      'OnlyHrSendsAsHr',
      'OnlyManualSendsAsManual',
      'OnlyTheFunctionSendsOutcomes',
    ]);
    stateless.allResourcesProperties('AWS::Events::EventBusPolicy', {
      EventBusName: { Ref: logicalId(stateless, 'AWS::Events::EventBus', 'ProvisionerEventBus') },
    });
  });

  it('each StatementId equals its Sid, is at most 64 of A-Z a-z 0-9 - _, and unique', () => {
    const policies = Object.values(stateless.findResources('AWS::Events::EventBusPolicy')).map((policy) => policy.Properties);
    for (const policy of policies) {
      expect(policy.StatementId).toBe(policy.Statement.Sid);
      expect(policy.StatementId).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    }
    expect(new Set(policies.map((policy) => policy.StatementId)).size).toBe(policies.length);
  });

  it('statement ids differ between two deployments in one account (CloudFormation\'s physical ids)', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const settings = parseProvisionerSettings({ identityStoreId: 'd-1234567890', ...EXAMPLE_SETTINGS });
    const stacks = ['Blue', 'Green'].map((colour) => {
      const state = new IdentityProvisionerStateStack(app, `State${colour}`, { env: TEST_ENV, settings });
      return new IdentityProvisionerStack(app, `Provisioner${colour}`, { env: TEST_ENV, settings, state: state.state });
    });
    const ids = stacks.map((stack) =>
      Object.values(Template.fromStack(stack).findResources('AWS::Events::EventBusPolicy')).map((policy) => policy.Properties.StatementId),
    );
    expect(ids[0]).toHaveLength(9);
    expect(ids[0].filter((id) => ids[1].includes(id))).toEqual([]);
  });

  it('a producer name of 40 characters still gives statement ids of at most 64', () => {
    const long = 'a'.repeat(20) + '-' + 'b'.repeat(19);
    const template = buildApp({ producers: { [long]: EXAMPLE_PRODUCERS.hr } }).stateless;
    for (const policy of Object.values(template.findResources('AWS::Events::EventBusPolicy'))) {
      expect(policy.Properties.StatementId.length).toBeLessThanOrEqual(64);
    }
  });
});

describe('the bus policy with no producer declared (and drift off: test/infra/drift.test.ts has it on)', () => {
  const bus = busPolicyStatements(buildApp({ driftSchedule: 'off' }).stateless);

  it('denies every source but the outcome source, which only the function may use', () => {
    expect([...bus.keys()].sort()).toEqual(['NoUndeclaredSources', 'OnlyTheFunctionSendsOutcomes']);
    expect(bus.get('NoUndeclaredSources')?.Condition).toEqual({ 'ForAnyValue:StringNotEquals': { 'events:source': [OUTCOME_EVENT_SOURCE] } });
  });

  it('allows no one in', () => {
    expect([...bus.values()].filter((statement) => statement.Effect === 'Allow')).toEqual([]);
  });
});

describe('an existing bus (existingEventBusName)', () => {
  const template = buildApp({ ...EXAMPLE_SETTINGS, existingEventBusName: 'org-identity' }).stateless;
  const bus = busPolicyStatements(template);
  const existingBusArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:eu-west-1:123456789012:event-bus/org-identity']] };

  it('installs the producers\' statements on that bus', () => {
    template.allResourcesProperties('AWS::Events::EventBusPolicy', { EventBusName: 'org-identity' });
    expect(bus.get('OnlyHrSendsAsHr')).toMatchObject({ Resource: existingBusArn });
    expect(bus.has('HrInOtherAccountSends')).toBe(true);
    expect(bus.has('OnlyTheFunctionSendsOutcomes')).toBe(true);
  });

  it('does not police the sources it does not own (other applications share the bus)', () => {
    expect(bus.has('NoUndeclaredSources')).toBe(false);
  });

  it('grants the function PutEvents on that bus, with the outcome source only', () => {
    const policy = Object.values(template.findResources('AWS::IAM::Policy'))[0];
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual({
      Effect: 'Allow',
      Action: 'events:PutEvents',
      Resource: existingBusArn,
      Condition: { 'ForAllValues:StringEquals': { 'events:source': OUTCOME_EVENT_SOURCE } },
    });
  });
});

describe('AWS size limits, checked at synth', () => {
  it('refuses producers whose bus policy would exceed EventBridge\'s 10 KB, naming producers', () => {
    const producers = Object.fromEntries(
      Array.from({ length: 8 }, (_, i) => [
        `feed-${i}`,
        {
          via: 'bus' as const,
          principals: Array.from({ length: 20 }, (_, j) => `arn:aws:iam::123456789012:role/identity-feeds/feed-${i}-sender-${j}`),
          eventTypes: '*' as const,
          groups: ['*'],
        },
      ]),
    );
    expect(() => buildApp({ producers })).toThrow(ProvisionerConfigError);
    expect(() => buildApp({ producers })).toThrow(/producers: the event bus policy would be about \d+ bytes, over EventBridge's 10240-byte limit/);
  });

  it('refuses producers whose PRODUCERS variable would push the function over Lambda\'s 4 KB, naming producers', () => {
    const groups = Array.from({ length: 200 }, (_, i) => `application-group-${i}`);
    expect(() => buildApp({ producers: { hr: { ...EXAMPLE_PRODUCERS.hr, groups } } })).toThrow(
      /producers: the function's environment would be about \d+ bytes \(PRODUCERS alone about \d+\), over Lambda's 4096-byte limit/,
    );
  });

  it('counts each queue ARN (unresolved at synth) generously: many queue producers are refused before deploy', () => {
    const producers = Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [`portal-${i}`, { ...EXAMPLE_PRODUCERS['access-portal'], principals: [`arn:aws:iam::123456789012:role/p${i}`] }]),
    );
    expect(() => buildApp({ producers })).toThrow(/producers: the function's environment would be about/);
  });
});

describe('policy grammar: multivalued condition keys take set operators', () => {
  // events:source and events:detail-type carry every entry of a PutEvents call. A single-valued
  // operator on them never matches: a Deny so written never applies, an Allow never allows.
  const MULTIVALUED_KEYS = ['events:source', 'events:detail-type'];

  function conditionsIn(value: unknown, found: Array<{ operator: string; key: string }> = []): Array<{ operator: string; key: string }> {
    if (Array.isArray(value)) value.forEach((item) => conditionsIn(item, found));
    else if (value !== null && typeof value === 'object') {
      for (const [field, inner] of Object.entries(value)) {
        if (field === 'Condition' && inner !== null && typeof inner === 'object') {
          for (const [operator, keys] of Object.entries(inner)) {
            for (const key of Object.keys(keys as object)) found.push({ operator, key });
          }
        } else conditionsIn(inner, found);
      }
    }
    return found;
  }

  const templates = [
    ['default', defaultTemplates().stateless],
    ['existing bus', buildApp({ ...EXAMPLE_SETTINGS, existingEventBusName: 'org-identity' }).stateless],
    ['no producers', buildApp({}).stateless],
  ] as const;

  it.each(templates)('%s: every condition on events:source / events:detail-type uses ForAnyValue or ForAllValues', (_name, template) => {
    const onMultivalued = conditionsIn(template.toJSON()).filter(({ key }) => MULTIVALUED_KEYS.includes(key));
    expect(onMultivalued.length).toBeGreaterThan(0);
    expect(onMultivalued.filter(({ operator }) => !/^For(Any|All)Value(s)?:/.test(operator))).toEqual([]);
  });
});
