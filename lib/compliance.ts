/**
 * cdk-nag 3.x: the rule packs run as validation plugins at synth; any finding that is not
 * acknowledged (Validations.of(construct).acknowledge, next to the construct it concerns)
 * fails the synth.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';

export function addComplianceChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
}
