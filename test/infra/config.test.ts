import { App, Stack } from 'aws-cdk-lib';
import {
  closestSetting,
  configFromContext,
  IdentityProvisioner,
  IdentityProvisionerState,
  isCdkContextKey,
  parseProvisionerSettings,
  ProvisionerConfigError,
} from '../../lib';
import { EXAMPLE_PRODUCERS, HR_ROLE, OPERATOR_ROLE } from './build-app';

const valid = { identityStoreId: 'd-1234567890' };
const hr = EXAMPLE_PRODUCERS.hr;

function errorOf(settings: Record<string, unknown>): string {
  try {
    parseProvisionerSettings(settings);
  } catch (error) {
    expect(error).toBeInstanceOf(ProvisionerConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ProvisionerConfigError');
}

function contextErrorOf(context: Record<string, unknown>): string {
  try {
    configFromContext(new App({ context }).node);
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
      producers: {},
      operators: [],
      queueKind: 'standard',
      maxConcurrency: 2,
      requestsPerSecond: 20,
      managedGroupScope: 'created',
      maxMembershipRemovalsPerEvent: 10,
      deletionCap: 25,
      deletionWindowSeconds: 3600,
      auditRetentionDays: 0,
      auditDigestRetentionDays: 3650,
      idCacheTtlSeconds: 60,
      redeliveryBaseDelaySeconds: 30,
      retrySafetyMarginMs: 5000,
      removalPolicy: 'retain',
      batchSize: 10,
      functionTimeoutSeconds: 60,
      maxClockSkewSeconds: 300,
      occurredAtFloor: '2000-01-01T00:00:00Z',
      driftSchedule: 'rate(1 day)',
      driftAction: 'report',
    });
  });

  it('bounds occurredAt: a skew of 0..3600 s and a floor with a time zone, each refused by name', () => {
    expect(errorOf({ ...valid, maxClockSkewSeconds: 86_400 })).toContain('maxClockSkewSeconds: must be a whole number from 0 to 3600');
    expect(errorOf({ ...valid, maxClockSkewSeconds: '-1' })).toContain('maxClockSkewSeconds: must be a whole number from 0 to 3600');
    expect(errorOf({ ...valid, occurredAtFloor: '2000-01-01' })).toContain('occurredAtFloor: must be an ISO-8601 date-time with a time zone');
    expect(errorOf({ ...valid, occurredAtFloor: '2000-01-01T00:00:00' })).toContain('occurredAtFloor: must be an ISO-8601 date-time with a time zone');
    expect(parseProvisionerSettings({ ...valid, maxClockSkewSeconds: '60', occurredAtFloor: '2020-01-01T00:00:00+01:00' })).toMatchObject({
      maxClockSkewSeconds: 60,
      occurredAtFloor: '2020-01-01T00:00:00+01:00',
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

  it('lists every bad key in one message', () => {
    const message = errorOf({ identityStoreId: 'nope', queueKind: 'lifo', batchSize: '0' });
    expect(message).toContain('identityStoreId:');
    expect(message).toContain('queueKind: must be "standard" or "fifo"');
    expect(message).toContain('batchSize: must be a whole number from 1 to 10');
  });
});

describe('unknown and removed settings', () => {
  it('refuses a misspelt setting and names the one it is closest to', () => {
    expect(errorOf({ ...valid, maxConcurency: 5 })).toContain('maxConcurency: unknown setting, did you mean maxConcurrency?');
  });

  it.each([
    ['MaxConcurrency', 'maxConcurrency'],
    ['identityStoreID', 'identityStoreId'],
    ['producer', 'producers'],
    ['operator', 'operators'],
    ['alarmTopicARN', 'alarmTopicArn'],
    ['bacthSize', 'batchSize'],
  ])('suggests for %s: %s', (typo, setting) => {
    expect(closestSetting(typo)).toBe(setting);
  });

  it('suggests the setting for a key with a Unicode look-alike letter (Cyrillic "с")', () => {
    expect(errorOf({ ...valid, maxConcurren\u0441y: 4 })).toContain('did you mean maxConcurrency?');
  });

  it('suggests nothing for a key unlike any setting', () => {
    expect(closestSetting('foo')).toBeUndefined();
    expect(errorOf({ ...valid, wibble: 1 })).toContain('wibble: unknown setting (the settings are listed in docs/deploy.md)');
  });

  it('refuses acceptedSources with what replaced it', () => {
    expect(errorOf({ ...valid, acceptedSources: ['identity-provisioner.hr'] })).toContain(
      'acceptedSources: replaced by producers (declare each producer with its source; see docs/deploy.md)',
    );
  });
});

describe('producers and operators', () => {
  const producersError = (producers: unknown) => errorOf({ ...valid, producers });

  it('accepts the example producers and fills in the default bus source', () => {
    const config = parseProvisionerSettings({ ...valid, producers: EXAMPLE_PRODUCERS });
    expect(config.producers.hr.source).toBe('identity-provisioner.hr');
    expect(config.producers.manual.source).toBe('acme.identity-manual');
    expect(config.producers['access-portal'].source).toBeUndefined();
    expect(config.producers.manual.eventTypes).toHaveLength(6);
  });

  it.each([[' app-*'], ['app-* '], ['\tapp-*']])('refuses a group pattern with white space around it: %j', (pattern) => {
    expect(producersError({ hr: { ...hr, groups: [pattern] } })).toContain('producers.hr.groups.0: must not start or end with white space');
  });

  it.each([['app-*-admins'], ['*app'], ['app**']])('refuses "*" anywhere but at the end: %s', (pattern) => {
    expect(producersError({ hr: { ...hr, groups: [pattern] } })).toContain(
      'producers.hr.groups.0: must be a group name, a prefix ending in a single "*", or "*"',
    );
  });

  it('refuses a list with one bad group pattern among good ones', () => {
    expect(producersError({ hr: { ...hr, groups: ['Everyone', 'dept-*', 'a*b'] } })).toContain('producers.hr.groups.2:');
  });

  it.each([
    ['an account root', 'arn:aws:iam::111122223333:root'],
    ['a bare account id', '111122223333'],
    ['an assumed-role session', 'arn:aws:sts::111122223333:assumed-role/hr-feed/session'],
    ['a wildcard role', 'arn:aws:iam::111122223333:role/*'],
    ['a role with a trailing space', `${HR_ROLE} `],
  ])('refuses %s as a principal', (_what, principal) => {
    expect(producersError({ hr: { ...hr, principals: [principal] } })).toContain('producers.hr.principals.0: must be an IAM role or user ARN');
  });

  it('refuses two producers with one source', () => {
    expect(
      producersError({
        hr: { ...hr, source: 'acme.people' },
        workday: { ...hr, principals: ['arn:aws:iam::111122223333:role/workday'], source: 'acme.people' },
      }),
    ).toContain('"acme.people" is already the source of producer');
  });

  it('refuses a producer named so that its default source is another producer\'s explicit one', () => {
    expect(
      producersError({
        hr: hr,
        other: { ...hr, principals: ['arn:aws:iam::111122223333:role/other'], source: 'identity-provisioner.hr' },
      }),
    ).toContain('is already the source of producer');
  });

  it('refuses the outcome source "identity-provisioner" as a producer source (it would loop)', () => {
    expect(producersError({ hr: { ...hr, source: 'identity-provisioner' } })).toContain(
      'producers.hr.source: must not be "identity-provisioner"',
    );
  });

  it('refuses an AWS service source such as "aws.x"', () => {
    expect(producersError({ hr: { ...hr, source: 'aws.x' } })).toContain('producers.hr.source: must not start with "aws."');
  });

  it('refuses a source on a queue producer', () => {
    expect(producersError({ portal: { ...EXAMPLE_PRODUCERS['access-portal'], source: 'acme.portal' } })).toContain(
      'producers.portal.source: is for via "bus" only',
    );
  });

  it('refuses one principal sending as two bus producers', () => {
    expect(producersError({ hr, payroll: { ...hr, source: 'acme.payroll' } })).toContain(
      'a principal may send through the bus as one producer only',
    );
  });

  it.each([['HR'], ['1hr'], ['hr_feed'], ['hr feed']])('refuses the producer name %j', (name) => {
    expect(producersError({ [name]: hr })).toContain(`producers.${name}: a producer name must be 1-40 of a-z 0-9 -`);
  });

  it('refuses an unknown event type in a list of good ones', () => {
    expect(producersError({ hr: { ...hr, eventTypes: ['user.upserted', 'user.updated'] } })).toContain('producers.hr.eventTypes');
  });

  it('refuses an unknown key in a producer (a typo in "groups")', () => {
    expect(producersError({ hr: { ...hr, group: ['x'] } })).toContain('producers.hr.group: unknown key, did you mean groups?');
  });

  it('refuses a look-alike of the outcome source (a Unicode hyphen) instead of taking it as a new source', () => {
    expect(producersError({ hr: { ...hr, source: 'identity\u2010provisioner' } })).toContain('producers.hr.source: must be 1-256 of A-Z a-z 0-9');
  });

  it('refuses a principal ARN with a Cyrillic letter in the partition', () => {
    expect(producersError({ hr: { ...hr, principals: ['arn:\u0430ws:iam::111122223333:role/hr-feed'] } })).toContain(
      'producers.hr.principals.0: must be an IAM role or user ARN',
    );
  });

  it.each([['Bus'], ['BUS'], ['sqs']])('refuses via %j (only "bus" or "queue", in lower case)', (via) => {
    expect(producersError({ hr: { ...hr, via } })).toContain('producers.hr.via: must be "bus" or "queue"');
  });

  it('refuses a producer with no principal (nobody could send as it, or everybody, depending on reading)', () => {
    expect(producersError({ hr: { ...hr, principals: [] } })).toContain('producers.hr.principals: must name at least one IAM role or user ARN');
  });

  it('refuses an operator that is not a role or user ARN', () => {
    expect(errorOf({ ...valid, operators: ['arn:aws:iam::123456789012:root'] })).toContain('operators.0: must be IAM role or user ARNs');
  });
});

describe('settings from CDK context', () => {
  it('coerces -c strings: numbers, JSON producers, comma-separated and JSON operator lists', () => {
    const config = configFromContext(
      new App({
        context: {
          identityStoreId: 'd-1234567890',
          maxConcurrency: '10',
          requestsPerSecond: '15',
          queueKind: 'fifo',
          producers: JSON.stringify(EXAMPLE_PRODUCERS),
          operators: `${OPERATOR_ROLE}, arn:aws:iam::123456789012:user/alice`,
        },
      }).node,
    );
    expect(config).toMatchObject({ maxConcurrency: 10, requestsPerSecond: 15, queueKind: 'fifo' });
    expect(Object.keys(config.producers).sort()).toEqual(['access-portal', 'hr', 'manual']);
    expect(config.operators).toEqual([OPERATOR_ROLE, 'arn:aws:iam::123456789012:user/alice']);
    const fromJson = configFromContext(new App({ context: { ...valid, operators: `["${OPERATOR_ROLE}"]` } }).node);
    expect(fromJson.operators).toEqual([OPERATOR_ROLE]);
  });

  it('refuses -c producers that is not valid JSON, naming the key', () => {
    expect(contextErrorOf({ ...valid, producers: '{"hr": {"via": "bus",' })).toContain('producers: must be an object keyed by producer name (JSON)');
  });

  it('refuses -c producers that is a JSON array instead of an object', () => {
    expect(contextErrorOf({ ...valid, producers: '[]' })).toContain('producers: must be an object keyed by producer name (JSON)');
  });

  it('refuses a misspelt -c key with "did you mean" (-c maxConcurency=4)', () => {
    expect(contextErrorOf({ ...valid, maxConcurency: '4' })).toContain('maxConcurency: unknown setting, did you mean maxConcurrency?');
  });

  it('refuses -c acceptedSources with what replaced it', () => {
    expect(contextErrorOf({ ...valid, acceptedSources: 'identity-provisioner.hr' })).toContain(
      'acceptedSources: replaced by producers',
    );
  });

  it('reads context from cdk.json and -c alike: a typo in cdk.json context is refused too', () => {
    // An App given context is how the CLI passes both (CDK_CONTEXT_JSON): one source.
    expect(contextErrorOf({ ...valid, '@aws-cdk/core:checkSecretUsage': true, removalPolicyy: 'destroy' })).toContain(
      'did you mean removalPolicy?',
    );
  });

  it('skips what CDK itself puts in context (printed from a real `cdk synth`)', () => {
    const cdkOwn = {
      'cli-telemetry': false,
      'acknowledged-issue-numbers': [34892],
      '@aws-cdk/aws-lambda:recognizeLayerVersion': true,
      '@aws-cdk/core:target-partitions': ['aws', 'aws-cn'],
      '@aws-cdk/core:failSynthOnValidationErrors': false,
      'aws:cdk:enable-path-metadata': true,
      'aws:cdk:enable-asset-metadata': true,
      'aws:cdk:version-reporting': true,
      'aws:cdk:bundling-stacks': ['**'],
      'aws-cdk:enableDiffNoFail': true,
      'availability-zones:account=123456789012:region=eu-west-1': ['eu-west-1a'],
    };
    for (const key of Object.keys(cdkOwn)) expect(isCdkContextKey(key)).toBe(true);
    expect(() => configFromContext(new App({ context: { ...valid, ...cdkOwn } }).node)).not.toThrow();
  });

  it('takes every other key as a setting: CDK\'s rule does not swallow look-alikes', () => {
    for (const key of ['maxConcurency', 'cli_telemetry', 'cliTelemetry', 'awsRegion', 'aws-region']) {
      expect(isCdkContextKey(key)).toBe(false);
    }
  });

  it('validates construct props the same way (another app instantiating the construct)', () => {
    const stack = new Stack(new App(), 'Consumer');
    const state = new IdentityProvisionerState(stack, 'State');
    expect(() => new IdentityProvisioner(stack, 'Provisioner', { identityStoreId: 'd-1234567890', maxConcurrency: 1, state })).toThrow(
      /maxConcurrency: must be a whole number from 2 to 1000/,
    );
  });

  it('refuses acceptedSources passed as a construct prop (an older caller)', () => {
    const stack = new Stack(new App(), 'Consumer');
    const state = new IdentityProvisionerState(stack, 'State');
    const props = { identityStoreId: 'd-1234567890', acceptedSources: ['a.b'], state } as unknown as ConstructorParameters<typeof IdentityProvisioner>[2];
    expect(() => new IdentityProvisioner(stack, 'Provisioner', props)).toThrow(/acceptedSources: replaced by producers/);
  });
});
