import { App, Stack } from 'aws-cdk-lib';
import {
  configFromContext,
  IdentityProvisioner,
  IdentityProvisionerState,
  parseProvisionerSettings,
  ProvisionerConfigError,
} from '../../lib';

const valid = { identityStoreId: 'd-1234567890' };

function errorOf(settings: Record<string, unknown>): string {
  try {
    parseProvisionerSettings(settings);
  } catch (error) {
    expect(error).toBeInstanceOf(ProvisionerConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ProvisionerConfigError');
}

describe('settings validation', () => {
  it('applies the documented defaults when only identityStoreId is given', () => {
    expect(parseProvisionerSettings(valid)).toEqual({
      identityStoreId: 'd-1234567890',
      eventBusName: 'identity-provisioner',
      acceptedSources: ['identity-provisioner.hr', 'identity-provisioner.manual'],
      queueKind: 'standard',
      maxConcurrency: 2,
      requestsPerSecond: 20,
      managedGroupScope: 'created',
      maxMembershipRemovalsPerEvent: 10,
      deletionCap: 25,
      deletionWindowSeconds: 3600,
      auditRetentionDays: 0,
      idCacheTtlSeconds: 60,
      redeliveryBaseDelaySeconds: 30,
      retrySafetyMarginMs: 5000,
      removalPolicy: 'retain',
      batchSize: 10,
      functionTimeoutSeconds: 60,
    });
  });

  it('accepts a UUID identity store id', () => {
    expect(parseProvisionerSettings({ identityStoreId: '0123abcd-0123-4567-89ab-0123456789ab' }).identityStoreId).toBe(
      '0123abcd-0123-4567-89ab-0123456789ab',
    );
  });

  it('refuses a missing identityStoreId, naming the key', () => {
    expect(errorOf({})).toContain('identityStoreId: is required');
  });

  it('refuses a malformed identityStoreId, naming the key and the rule', () => {
    expect(errorOf({ identityStoreId: 'd-12345' })).toContain(
      'identityStoreId: must be "d-" followed by 10 hex digits, or a UUID',
    );
  });

  it('refuses alarmTopicArn and alarmEmail together', () => {
    expect(
      errorOf({ ...valid, alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops', alarmEmail: 'ops@example.com' }),
    ).toContain('alarmEmail: give alarmTopicArn or alarmEmail, not both');
  });

  it('refuses the outcome source among acceptedSources, because it would loop', () => {
    expect(errorOf({ ...valid, acceptedSources: ['identity-provisioner.hr', 'identity-provisioner'] })).toMatch(
      /acceptedSources: must not include "identity-provisioner".*loop/,
    );
  });

  it.each([['1'], ['1001'], ['2.5'], ['many']])('refuses maxConcurrency %s (outside 2..1000)', (value) => {
    expect(errorOf({ ...valid, maxConcurrency: value })).toContain('maxConcurrency: must be a whole number from 2 to 1000');
  });

  it('refuses eventBusName and existingEventBusName together', () => {
    expect(errorOf({ ...valid, eventBusName: 'mine', existingEventBusName: 'theirs' })).toContain(
      'existingEventBusName: give eventBusName (a bus to create) or existingEventBusName',
    );
  });

  it('refuses an unknown managedGroupScope form', () => {
    expect(errorOf({ ...valid, managedGroupScope: 'everything' })).toContain('managedGroupScope: must be "created"');
  });

  it('refuses a retry safety margin as long as the function timeout', () => {
    expect(errorOf({ ...valid, functionTimeoutSeconds: 5, retrySafetyMarginMs: 5000 })).toContain(
      'retrySafetyMarginMs: must be shorter than the function timeout (5000 ms)',
    );
  });

  it('refuses an unknown setting instead of ignoring a typo', () => {
    expect(errorOf({ ...valid, maxConcurency: 5 })).toContain('unknown setting(s): maxConcurency');
  });

  it('lists every bad key in one message', () => {
    const message = errorOf({ identityStoreId: 'nope', queueKind: 'lifo', batchSize: '0' });
    expect(message).toContain('identityStoreId:');
    expect(message).toContain('queueKind: must be "standard" or "fifo"');
    expect(message).toContain('batchSize: must be a whole number from 1 to 10');
  });
});

describe('settings from CDK context', () => {
  it('coerces -c strings: numbers, comma-separated and JSON lists', () => {
    const app = new App({
      context: {
        identityStoreId: 'd-1234567890',
        maxConcurrency: '10',
        requestsPerSecond: '15',
        acceptedSources: 'hr.system, manual.ops',
        queueKind: 'fifo',
      },
    });
    const config = configFromContext(app.node);
    expect(config).toMatchObject({
      maxConcurrency: 10,
      requestsPerSecond: 15,
      acceptedSources: ['hr.system', 'manual.ops'],
      queueKind: 'fifo',
    });
    const fromJson = configFromContext(
      new App({ context: { identityStoreId: 'd-1234567890', acceptedSources: '["a.b","c.d"]' } }).node,
    );
    expect(fromJson.acceptedSources).toEqual(['a.b', 'c.d']);
  });

  it('ignores context keys that are not settings (feature flags)', () => {
    const app = new App({ context: { identityStoreId: 'd-1234567890', '@aws-cdk/core:checkSecretUsage': true } });
    expect(() => configFromContext(app.node)).not.toThrow();
  });

  it('validates construct props the same way (another app instantiating the construct)', () => {
    const stack = new Stack(new App(), 'Consumer');
    const state = new IdentityProvisionerState(stack, 'State');
    expect(() => new IdentityProvisioner(stack, 'Provisioner', { identityStoreId: 'd-1234567890', maxConcurrency: 1, state })).toThrow(
      /maxConcurrency: must be a whole number from 2 to 1000/,
    );
  });
});
