#!/usr/bin/env node
/**
 * The CDK app: reads and validates the settings from context, builds the stateful and the
 * stateless stack, and runs cdk-nag (AwsSolutions + Serverless) at synth.
 *
 *   npx cdk deploy --all -c identityStoreId=d-1234567890 [-c key=value ...]   (see docs/deploy.md)
 */
import { App } from 'aws-cdk-lib';
import {
  addComplianceChecks,
  configFromContext,
  IdentityProvisionerStack,
  IdentityProvisionerStateStack,
  type ProvisionerConfig,
  ProvisionerConfigError,
} from '../lib';

const app = new App({
  // Defaults under cdk.json and -c: keep CloudFormation exports between the two stacks
  // (producer-protecting), stated explicitly instead of left to a changing library default.
  context: { '@aws-cdk/core:defaultCrossStackReferences': 'strong' },
});
// The CLI fills these from the profile; without them the stacks are environment-agnostic.
const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };

// Settings are checked twice: alone (configFromContext), then against the stacks (an alarm topic
// in another Region, an environment or bus policy over AWS's size limits).
exitOnConfigError(() => {
  const settings: ProvisionerConfig = configFromContext(app.node);
  const stateStack = new IdentityProvisionerStateStack(app, 'IdentityProvisionerState', {
    env,
    settings,
    description: 'identity-provisioner: KMS key, audit/state/idempotency tables, consumer role (stateful, kept across redeploys)',
    terminationProtection: settings.removalPolicy === 'retain',
  });
  new IdentityProvisionerStack(app, 'IdentityProvisioner', {
    env,
    settings,
    state: stateStack.state,
    description: 'identity-provisioner: event bus rule and policies, queues, consumer function, alarms (stateless)',
  });
});

addComplianceChecks(app);

/** A bad setting ends the synth with the message alone, not a stack trace. */
function exitOnConfigError(build: () => void): void {
  try {
    build();
  } catch (error) {
    if (!(error instanceof ProvisionerConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
