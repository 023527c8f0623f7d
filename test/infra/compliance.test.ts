import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { ProvisionerSettings } from '../../lib';
import { buildApp, type BuiltApp, EXAMPLE_PRODUCERS, EXAMPLE_SETTINGS } from './build-app';

/** Every unacknowledged finding of both packs, as "rule at path". */
function nagFindings(built: BuiltApp): string[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    pack
      .validateScope(built.app)
      .violations.flatMap((violation) =>
        violation.violatingResources.map((resource) => `${violation.severity} ${violation.ruleName} at ${resource.constructPath}`),
      ),
  );
}

describe('cdk-nag (AwsSolutions + Serverless)', () => {
  // The real bundle, once: proves esbuild bundles the handler locally, without Docker.
  const bundled = buildApp(EXAMPLE_SETTINGS, { env: { account: '123456789012', region: 'eu-west-1' }, bundle: true });

  it('synthesizes the app with both packs registered', () => {
    expect(() => bundled.app.synth()).not.toThrow();
  });

  it('leaves no unacknowledged error or warning in the typical deployment (bus and queue producers)', () => {
    expect(nagFindings(bundled)).toEqual([]);
  });

  it('leaves no warning or error annotation on either stack', () => {
    for (const stack of [bundled.stateStack, bundled.stack]) {
      expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
      expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    }
  });

  it('with no producer or operator declared: only the warnings that nothing outside the stack can send, and nobody redrive', () => {
    const built = buildApp({});
    const warnings = Annotations.fromStack(built.stack).findWarning('*', Match.anyValue());
    expect(warnings.map((warning) => warning.entry.data)).toEqual([
      expect.stringContaining('No producers are declared'),
      expect.stringContaining('No operators are declared: nobody can redrive or purge the DLQs'),
    ]);
    expect(Annotations.fromStack(built.stateStack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  it.each<[string, Partial<ProvisionerSettings>]>([
    ['no producer at all (the default)', {}],
    ['queue producers only', { producers: { 'access-portal': EXAMPLE_PRODUCERS['access-portal'] } }],
    ['FIFO with an e-mail subscription', { ...EXAMPLE_SETTINGS, queueKind: 'fifo', alarmEmail: 'ops@example.com' }],
    ['an existing bus and alarm topic, destroy policy, audit TTL', {
      ...EXAMPLE_SETTINGS,
      existingEventBusName: 'org-identity',
      alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops',
      removalPolicy: 'destroy',
      auditRetentionDays: 400,
    }],
  ])('leaves no unacknowledged finding with %s', (_name, settings) => {
    expect(nagFindings(buildApp(settings))).toEqual([]);
  });
});
