/**
 * This app's two stacks: the stateful one (key, tables) deployed once and kept, the stateless
 * one (bus rule, queues, function, alarms) that can be replaced freely.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { pascal } from './access-policies';
import type { ProvisionerSettings } from './config';
import { IdentityProvisioner } from './identity-provisioner';
import { IdentityProvisionerState } from './identity-provisioner-state';

export interface IdentityProvisionerStateStackProps extends StackProps {
  readonly settings: ProvisionerSettings;
}

export class IdentityProvisionerStateStack extends Stack {
  public readonly state: IdentityProvisionerState;

  constructor(scope: Construct, id: string, props: IdentityProvisionerStateStackProps) {
    super(scope, id, props);
    this.state = new IdentityProvisionerState(this, 'State', {
      removalPolicy: props.settings.removalPolicy,
      auditRetentionDays: props.settings.auditRetentionDays,
      auditDigestRetentionDays: props.settings.auditDigestRetentionDays,
    });
    new CfnOutput(this, 'AuditTableName', { value: this.state.auditTable.tableName });
    new CfnOutput(this, 'AuditDigestBucketName', {
      value: this.state.auditDigests.bucket.bucketName,
      description: 'Hourly audit digests (Object Lock): npm run audit -- verify reads them',
    });
    new CfnOutput(this, 'StateTableName', { value: this.state.stateTable.tableName });
    new CfnOutput(this, 'IdempotencyTableName', { value: this.state.idempotencyTable.tableName });
    // Exported whether or not the stateless stack deploys the drift function: turning drift off
    // would otherwise remove an export the deployed stateless stack still imports, and fail.
    this.exportValue(this.state.driftRole.roleName);
  }
}

export interface IdentityProvisionerStackProps extends StackProps {
  readonly settings: ProvisionerSettings;
  readonly state: IdentityProvisionerState;
}

export class IdentityProvisionerStack extends Stack {
  public readonly provisioner: IdentityProvisioner;

  constructor(scope: Construct, id: string, props: IdentityProvisionerStackProps) {
    super(scope, id, props);
    this.provisioner = new IdentityProvisioner(this, 'Provisioner', { ...props.settings, state: props.state });
    const { provisioner } = this;
    new CfnOutput(this, 'QueueUrl', { value: provisioner.queue.queueUrl });
    new CfnOutput(this, 'QueueArn', { value: provisioner.queue.queueArn });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: provisioner.deadLetterQueue.queueUrl });
    if (provisioner.ruleDeadLetterQueue !== undefined) {
      new CfnOutput(this, 'RuleDeadLetterQueueUrl', { value: provisioner.ruleDeadLetterQueue.queueUrl });
    }
    // One per queue producer, named after it: the URL that producer sends to.
    for (const [name, queue] of Object.entries(provisioner.producerQueues)) {
      new CfnOutput(this, `ProducerQueueUrl${pascal(name)}`, {
        value: queue.queueUrl,
        description: `Queue of producer "${name}" (via queue): send bare v1 documents here`,
      });
    }
    new CfnOutput(this, 'EventBusName', { value: provisioner.eventBus.eventBusName });
    new CfnOutput(this, 'FunctionName', { value: provisioner.function.functionName });
    if (provisioner.drift !== undefined) {
      new CfnOutput(this, 'DriftFunctionName', {
        value: provisioner.drift.function.functionName,
        description: 'The scheduled drift detection function (invoke it to run a check now)',
      });
      new CfnOutput(this, 'DriftDeadLetterQueueUrl', { value: provisioner.drift.deadLetterQueue.queueUrl });
    }
    new CfnOutput(this, 'AlarmTopicArn', { value: provisioner.alarms.topic.topicArn });
    // Repeated here so one stack's outputs are enough to operate the pipeline.
    new CfnOutput(this, 'AuditTableName', { value: props.state.auditTable.tableName });
    new CfnOutput(this, 'StateTableName', { value: props.state.stateTable.tableName });
    new CfnOutput(this, 'AuditDigestBucketName', {
      value: props.state.auditDigests.bucket.bucketName,
      description: 'Hourly audit digests (Object Lock): npm run audit -- verify reads them',
    });
    new CfnOutput(this, 'AuditDigesterFunctionName', { value: provisioner.auditDigester.function.functionName });
  }
}
