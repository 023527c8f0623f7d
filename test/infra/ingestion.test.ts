import { Match } from 'aws-cdk-lib/assertions';
import { EVENT_TYPES } from '../../lambdas/domain/identity-change';
import { buildApp, defaultTemplates, logicalId } from './build-app';

const { stateless } = defaultTemplates();
const queueId = logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerQueue');
const dlqId = logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerDeadLetterQueue');
const ruleDlqId = logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerRuleDeadLetterQueue');

function tlsOnlyPolicyFor(queueLogicalId: string) {
  return {
    Queues: [{ Ref: queueLogicalId }],
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Effect: 'Deny',
          Action: 'sqs:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      ]),
    },
  };
}

describe('ingestion queue', () => {
  const queue = () => stateless.findResources('AWS::SQS::Queue')[queueId].Properties;

  it('is encrypted with the stateful stack key', () => {
    expect(queue().KmsMasterKeyId).toEqual({ 'Fn::ImportValue': expect.stringMatching(/StateKey.*Arn/) });
  });

  it('has a visibility timeout of 6x the function timeout', () => {
    expect(queue().VisibilityTimeout).toBe(360);
    buildApp({ functionTimeoutSeconds: 120 }).stateless.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 720,
    });
  });

  it('moves a message to its DLQ after 5 receives', () => {
    expect(queue().RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 });
  });

  it('is TLS-only', () => {
    stateless.hasResourceProperties('AWS::SQS::QueuePolicy', tlsOnlyPolicyFor(queueId));
  });

  it('lets EventBridge send to it only on behalf of this account', () => {
    stateless.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: Match.arrayWith(['sqs:SendMessage']),
            Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
          }),
        ]),
      },
    });
  });

  it('is a standard queue by default', () => {
    expect(queue().FifoQueue).toBeUndefined();
  });
});

describe('dead-letter queues', () => {
  it('the source DLQ is encrypted with the key, keeps messages 14 days and outlives the stack', () => {
    expect(stateless.findResources('AWS::SQS::Queue')[dlqId]).toMatchObject({
      Properties: {
        KmsMasterKeyId: { 'Fn::ImportValue': expect.stringMatching(/StateKey.*Arn/) },
        MessageRetentionPeriod: 1209600,
      },
      DeletionPolicy: 'Retain',
    });
  });

  it('the source DLQ is TLS-only', () => {
    stateless.hasResourceProperties('AWS::SQS::QueuePolicy', tlsOnlyPolicyFor(dlqId));
  });

  it('the rule DLQ is encrypted with the key and TLS-only', () => {
    expect(stateless.findResources('AWS::SQS::Queue')[ruleDlqId].Properties.KmsMasterKeyId).toEqual({
      'Fn::ImportValue': expect.stringMatching(/StateKey.*Arn/),
    });
    stateless.hasResourceProperties('AWS::SQS::QueuePolicy', tlsOnlyPolicyFor(ruleDlqId));
  });

  it('the rule DLQ accepts messages from this rule only', () => {
    stateless.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: ruleDlqId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [logicalId(stateless, 'AWS::Events::Rule', 'ProvisionerRule'), 'Arn'] } } },
          }),
        ]),
      },
    });
  });
});

describe('event bus and rule', () => {
  it('creates a bus named identity-provisioner by default', () => {
    stateless.hasResourceProperties('AWS::Events::EventBus', { Name: 'identity-provisioner' });
  });

  it('matches the accepted sources and the six v1 detail-types on that bus', () => {
    stateless.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: logicalId(stateless, 'AWS::Events::EventBus', 'ProvisionerEventBus') },
      EventPattern: {
        source: ['identity-provisioner.hr', 'identity-provisioner.manual'],
        'detail-type': [...EVENT_TYPES],
      },
    });
    expect(EVENT_TYPES).toHaveLength(6);
  });

  it('targets the queue with its own retry policy and DLQ', () => {
    stateless.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [queueId, 'Arn'] },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [ruleDlqId, 'Arn'] } },
        }),
      ],
    });
  });

  it('uses an existing bus instead of creating one when existingEventBusName is set', () => {
    const template = buildApp({ existingEventBusName: 'org-identity' }).stateless;
    template.resourceCountIs('AWS::Events::EventBus', 0);
    template.hasResourceProperties('AWS::Events::Rule', { EventBusName: 'org-identity' });
  });

  it('accepts the configured sources', () => {
    buildApp({ acceptedSources: ['acme.workday'] }).stateless.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ source: ['acme.workday'] }),
    });
  });
});

describe('FIFO', () => {
  const fifo = buildApp({ queueKind: 'fifo' }).stateless;

  it('makes the queue FIFO with content-based deduplication (EventBridge requires it on a FIFO target)', () => {
    fifo.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: true,
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }),
    });
  });

  it('makes the DLQ FIFO too (a FIFO queue needs a FIFO DLQ)', () => {
    const queues = Object.values(fifo.findResources('AWS::SQS::Queue')).map((queue) => queue.Properties);
    expect(queues.filter((queue) => queue.FifoQueue === true)).toHaveLength(2);
  });

  it('keeps the rule DLQ standard (EventBridge accepts no FIFO DLQ)', () => {
    const queues = Object.values(fifo.findResources('AWS::SQS::Queue')).map((queue) => queue.Properties);
    expect(queues.filter((queue) => queue.FifoQueue === undefined)).toHaveLength(1);
  });

  it('gives the rule target a fixed MessageGroupId', () => {
    fifo.hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({ SqsParameters: { MessageGroupId: 'eventbridge' } })],
    });
  });

  it('tells the function the queue kind', () => {
    fifo.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ QUEUE_KIND: 'fifo' }) },
    });
  });
});

describe('stack outputs', () => {
  it.each([
    ['QueueUrl', { Ref: queueId }],
    ['QueueArn', { 'Fn::GetAtt': [queueId, 'Arn'] }],
    ['DeadLetterQueueUrl', { Ref: dlqId }],
    ['EventBusName', { Ref: logicalId(stateless, 'AWS::Events::EventBus', 'ProvisionerEventBus') }],
    ['FunctionName', { Ref: logicalId(stateless, 'AWS::Lambda::Function', 'ProvisionerConsumer') }],
    ['AuditTableName', { 'Fn::ImportValue': Match.stringLikeRegexp('StateAuditTable') }],
    ['StateTableName', { 'Fn::ImportValue': Match.stringLikeRegexp('StateStateTable') }],
  ])('outputs %s', (name, value) => {
    stateless.hasOutput(name, { Value: value });
  });
});
