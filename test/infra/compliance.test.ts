import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { ProvisionerSettings } from '../../lib';
import { buildApp, type BuiltApp } from './build-app';

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
  const bundled = buildApp({}, { env: { account: '123456789012', region: 'eu-west-1' }, bundle: true });

  it('synthesizes the app with both packs registered', () => {
    expect(() => bundled.app.synth()).not.toThrow();
  });

  it('leaves no unacknowledged error or warning in the default deployment', () => {
    expect(nagFindings(bundled)).toEqual([]);
  });

  it('leaves no warning or error annotation on either stack', () => {
    for (const stack of [bundled.stateStack, bundled.stack]) {
      expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
      expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    }
  });

  it.each<[string, Partial<ProvisionerSettings>]>([
    ['FIFO with an e-mail subscription', { queueKind: 'fifo', alarmEmail: 'ops@example.com' }],
    ['an existing bus and alarm topic, destroy policy, audit TTL', {
      existingEventBusName: 'org-identity',
      alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops',
      removalPolicy: 'destroy',
      auditRetentionDays: 400,
    }],
  ])('leaves no unacknowledged finding with %s', (_name, settings) => {
    expect(nagFindings(buildApp(settings))).toEqual([]);
  });
});
