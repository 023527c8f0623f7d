/**
 * Builds this app's two stacks the way bin/ does (cdk-nag packs included), with settings
 * overridden per test, in a fixed environment so templates are deterministic.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  addComplianceChecks,
  IdentityProvisionerStack,
  IdentityProvisionerStateStack,
  parseProvisionerSettings,
  type ProvisionerSettings,
} from '../../lib';

export const TEST_ENV = { account: '123456789012', region: 'eu-west-1' };
export const TEST_IDENTITY_STORE_ID = 'd-1234567890';

/** Principals of the example producers: HR in another account, the rest in this one. */
export const HR_ROLE = 'arn:aws:iam::111122223333:role/hr-feed';
export const MANUAL_ROLE = 'arn:aws:iam::123456789012:role/ops/identity-manual';
export const PORTAL_ROLE = 'arn:aws:iam::444455556666:role/access-portal';
export const PORTAL_LOCAL_ROLE = 'arn:aws:iam::123456789012:role/access-portal-worker';
export const OPERATOR_ROLE = 'arn:aws:iam::123456789012:role/identity-operator';

/**
 * A typical deployment's producers: an HR feed in another account and a same-account manual
 * tool on the bus, and an access portal (one principal elsewhere, one here) through its own queue.
 */
export const EXAMPLE_PRODUCERS = {
  hr: {
    via: 'bus',
    principals: [HR_ROLE],
    eventTypes: ['user.upserted', 'user.deleted', 'group.upserted'],
    groups: ['Everyone', 'dept-*'],
  },
  manual: { via: 'bus', principals: [MANUAL_ROLE], source: 'acme.identity-manual', eventTypes: '*', groups: ['*'] },
  'access-portal': {
    via: 'queue',
    principals: [PORTAL_ROLE, PORTAL_LOCAL_ROLE],
    eventTypes: ['membership.added', 'membership.removed'],
    groups: ['app-*'],
  },
} as const satisfies ProvisionerSettings['producers'];

/** The settings of the typical deployment the shared templates are built from. */
export const EXAMPLE_SETTINGS: Partial<ProvisionerSettings> = { producers: EXAMPLE_PRODUCERS, operators: [OPERATOR_ROLE] };

export interface BuiltApp {
  app: App;
  stateStack: IdentityProvisionerStateStack;
  stack: IdentityProvisionerStack;
  /** Template of the stateful stack (key, tables). */
  state: Template;
  /** Template of the stateless stack (bus rule, queues, function, alarms). */
  stateless: Template;
}

export interface BuildOptions {
  /** Stack environment; undefined for an environment-agnostic app. */
  env?: typeof TEST_ENV;
  /** Run esbuild on the handler (slow); otherwise CDK uses a placeholder asset. */
  bundle?: boolean;
}

export function buildApp(overrides: Partial<ProvisionerSettings> = {}, options: BuildOptions = { env: TEST_ENV }): BuiltApp {
  const { env, bundle = false } = options;
  const app = new App({
    context: {
      '@aws-cdk/core:defaultCrossStackReferences': 'strong',
      // An empty list tells NodejsFunction to skip bundling: template assertions do not need the code.
      ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
  const settings = parseProvisionerSettings({ identityStoreId: TEST_IDENTITY_STORE_ID, ...overrides });
  const stateStack = new IdentityProvisionerStateStack(app, 'IdentityProvisionerState', { env, settings });
  const stack = new IdentityProvisionerStack(app, 'IdentityProvisioner', { env, settings, state: stateStack.state });
  addComplianceChecks(app);
  return {
    app,
    stateStack,
    stack,
    get state() {
      return Template.fromStack(stateStack);
    },
    get stateless() {
      return Template.fromStack(stack);
    },
  };
}

let defaultApp: { state: Template; stateless: Template; built: BuiltApp } | undefined;

/** The typical deployment (EXAMPLE_SETTINGS), synthesized once per test file. */
export function defaultTemplates(): { state: Template; stateless: Template; built: BuiltApp } {
  if (defaultApp === undefined) {
    const built = buildApp(EXAMPLE_SETTINGS);
    defaultApp = { built, state: built.state, stateless: built.stateless };
  }
  return defaultApp;
}

/** Every IAM policy statement in a template, flattened. */
export function policyStatements(template: Template): Array<Record<string, unknown>> {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies).flatMap(
    (policy) => (policy as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties.PolicyDocument.Statement,
  );
}

/** The statements of the IAM policies attached to the role(s) whose reference matches `role` (e.g. /StateConsumerRole/). */
export function rolePolicyStatements(template: Template, role: RegExp): Array<Record<string, unknown>> {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) => role.test(JSON.stringify(policy.Properties.Roles)));
  return policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>);
}

export function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The consumer role's ARN as the stateless stack names it: this account, the role name the stateful stack exports. */
export const CONSUMER_ROLE_ARN = {
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::123456789012:role/', { 'Fn::ImportValue': expect.stringMatching(/OutputRefStateConsumerRole/) }]],
};

/** The drift function's role ARN as the stateless stack names it (imported by name, like the consumer's). */
export const DRIFT_ROLE_ARN = {
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::123456789012:role/', { 'Fn::ImportValue': expect.stringMatching(/OutputRefStateDriftRole/) }]],
};

/** The statements of the resource policy (QueuePolicy, TopicPolicy) attached to a resource. */
export function resourcePolicyStatements(template: Template, type: string, attachedTo: string): Array<Record<string, unknown>> {
  const key = type === 'AWS::SQS::QueuePolicy' ? 'Queues' : 'Topics';
  const policies = Object.values(template.findResources(type)).filter((policy) =>
    JSON.stringify(policy.Properties[key]).includes(`"${attachedTo}"`),
  );
  if (policies.length !== 1) throw new Error(`expected one ${type} on ${attachedTo}, found ${policies.length}`);
  return policies[0].Properties.PolicyDocument.Statement;
}

/** The statements installed on the event bus (one AWS::Events::EventBusPolicy each), by Sid without its hash. */
export function busPolicyStatements(template: Template): Map<string, Record<string, unknown>> {
  const byId = new Map<string, Record<string, unknown>>();
  for (const policy of Object.values(template.findResources('AWS::Events::EventBusPolicy'))) {
    const statement = policy.Properties.Statement as Record<string, unknown>;
    byId.set(String(statement.Sid).replace(/-[0-9a-f]{8}$/, ''), statement);
  }
  return byId;
}

/** The logical id of the only resource of a type whose id starts with a prefix. */
export function logicalId(template: Template, type: string, idPrefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(idPrefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} starting with ${idPrefix}, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}
