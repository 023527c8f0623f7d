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

/** The default deployment (only identityStoreId set), synthesized once per test file. */
export function defaultTemplates(): { state: Template; stateless: Template; built: BuiltApp } {
  if (defaultApp === undefined) {
    const built = buildApp();
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

export function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The logical id of the only resource of a type whose id starts with a prefix. */
export function logicalId(template: Template, type: string, idPrefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(idPrefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} starting with ${idPrefix}, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}
