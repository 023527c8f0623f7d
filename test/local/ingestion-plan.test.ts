/** The local pipeline's settings are the deployment's: validated the same way, refused naming the field. */
import { LOCAL_DEFAULTS } from '../../local/pipeline/defaults';
import { LocalSettingsError, planLocalIngestion } from '../../local/pipeline/ingestion';

describe('planLocalIngestion', () => {
  it('plans the defaults: the bus queue plus one queue per queue producer, a rule for the bus producers', () => {
    const plan = planLocalIngestion(LOCAL_DEFAULTS);
    expect(plan.sourceQueues).toEqual(['identity-provisioner-events', 'identity-provisioner-producer-onboarding']);
    expect(plan.rulePattern?.source).toEqual(['identity-provisioner.access-portal', 'identity-provisioner.hr']);
    expect(plan.runtimeProducers.find((p) => p.name === 'access-portal')).toMatchObject({ via: 'bus', accounts: ['111122223333'] });
    expect([...plan.queuePolicies.keys()]).toHaveLength(3);
  });

  it('has no rule when no producer uses the bus, and then only operators may send to the bus queue', () => {
    const plan = planLocalIngestion({ producers: { onboarding: LOCAL_DEFAULTS.producers.onboarding }, operators: LOCAL_DEFAULTS.operators });
    expect(plan.rulePattern).toBeUndefined();
    expect(plan.resources.ruleArn).toBeUndefined();
    expect(plan.queuePolicies.get(plan.resources.busQueueArn)![0].Condition).toEqual({ ArnNotLike: { 'aws:PrincipalArn': LOCAL_DEFAULTS.operators } });
  });

  it('refuses what synth refuses, naming the field: a whole account as principal, a source on a queue producer, a bad operator', () => {
    const error = (settings: Parameters<typeof planLocalIngestion>[0]) => {
      try {
        planLocalIngestion(settings);
      } catch (caught) {
        expect(caught).toBeInstanceOf(LocalSettingsError);
        return (caught as Error).message;
      }
      throw new Error('accepted');
    };
    expect(error({ producers: { hr: { via: 'bus', principals: ['arn:aws:iam::000000000000:root'], eventTypes: '*', groups: ['*'] } }, operators: [] })).toMatch(
      /producers\.hr\.principals\.0: must be an IAM role or user ARN/,
    );
    expect(error({ producers: { q: { via: 'queue', source: 'x', principals: ['arn:aws:iam::000000000000:role/q'], eventTypes: '*', groups: [] } }, operators: [] })).toMatch(
      /producers\.q\.source/,
    );
    expect(error({ producers: {}, operators: ['arn:aws:iam::000000000000:role/ok', '000000000000'] })).toMatch(/operators\.1: must be an IAM role or user ARN/);
  });
});
