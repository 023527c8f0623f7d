import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { DEAD_LETTER_ATTRIBUTES_MAX_BYTES, SQS_MAX_MESSAGE_BYTES } from '../../lambdas/adapters/sqs-transport';
import { EVENT_TYPES } from '../../lambdas/domain/identity-change';
import { DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES, SOURCE_QUEUE_MAX_MESSAGE_BYTES, type ProvisionerSettings } from '../../lib';
import { buildApp, defaultTemplates, EXAMPLE_PRODUCERS, EXAMPLE_SETTINGS, logicalId, OPERATOR_ROLE } from './build-app';

const { stateless } = defaultTemplates();
const queueId = logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerQueue');
const portalQueueId = logicalId(stateless, 'AWS::SQS::Queue', 'ProvisionerProducerQueueAccessPortal');
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

  it('the rule DLQ uses SQS-managed encryption, not the key (a broken key must not fail the delivery and its DLQ together)', () => {
    const ruleDlq = stateless.findResources('AWS::SQS::Queue')[ruleDlqId].Properties;
    expect(ruleDlq.SqsManagedSseEnabled).toBe(true);
    expect(ruleDlq.KmsMasterKeyId).toBeUndefined();
  });

  it('the rule DLQ is TLS-only', () => {
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

  it('matches exactly the bus producers\' sources and the six v1 detail-types on that bus', () => {
    stateless.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: logicalId(stateless, 'AWS::Events::EventBus', 'ProvisionerEventBus') },
      EventPattern: {
        // The built-in drift-repair, hr (default source) and manual (its own source); never the queue
        // producer, never the outcome source.
        source: ['identity-provisioner.drift-repair', 'identity-provisioner.hr', 'acme.identity-manual'],
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
    const template = buildApp({ ...EXAMPLE_SETTINGS, existingEventBusName: 'org-identity' }).stateless;
    template.resourceCountIs('AWS::Events::EventBus', 0);
    template.hasResourceProperties('AWS::Events::Rule', { EventBusName: 'org-identity' });
  });
});

describe('with no producer declared and drift off (with drift on, its repairs use the bus: test/infra/drift.test.ts)', () => {
  const built = buildApp({ driftSchedule: 'off' });
  const template = built.stateless;

  it('synthesizes, with no rule and no rule DLQ', () => {
    template.resourceCountIs('AWS::Events::Rule', 0);
    expect(Object.keys(template.findResources('AWS::SQS::Queue')).filter((id) => id.startsWith('ProvisionerRuleDeadLetterQueue'))).toEqual([]);
  });

  it('warns that nothing outside the stack can send events', () => {
    const warnings = built.stack.provisioner.node.metadata.filter((entry) => entry.type === 'aws:cdk:warning');
    expect(JSON.stringify(warnings)).toContain('No producers are declared: nothing outside this stack can send events');
  });

  it('warns that nobody can redrive the DLQs when no operator is declared, and not when one is', () => {
    const warningsOf = (settings: Partial<ProvisionerSettings>) =>
      JSON.stringify(buildApp(settings).stack.provisioner.node.metadata.filter((entry) => entry.type === 'aws:cdk:warning'));
    expect(warningsOf({})).toContain('No operators are declared: nobody can redrive or purge the DLQs');
    expect(warningsOf({ operators: [OPERATOR_ROLE] })).not.toContain('No operators are declared');
  });

  it('still creates the bus (for the outcome events) and the bus queue', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.resourceCountIs('AWS::SQS::Queue', 2);
  });

  it('with queue producers only: no rule, and a warning that no producer uses the bus', () => {
    const queueOnly = buildApp({ producers: { 'access-portal': EXAMPLE_PRODUCERS['access-portal'] }, driftSchedule: 'off' });
    queueOnly.stateless.resourceCountIs('AWS::Events::Rule', 0);
    const warnings = queueOnly.stack.provisioner.node.metadata.filter((entry) => entry.type === 'aws:cdk:warning');
    expect(JSON.stringify(warnings)).toContain('No declared producer uses the bus');
  });

  it('with queue producers only and drift on: a rule for the drift repairs alone, and still the warning', () => {
    const queueOnly = buildApp({ producers: { 'access-portal': EXAMPLE_PRODUCERS['access-portal'] } });
    queueOnly.stateless.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['identity-provisioner.drift-repair'], 'detail-type': [...EVENT_TYPES] },
    });
    const warnings = queueOnly.stack.provisioner.node.metadata.filter((entry) => entry.type === 'aws:cdk:warning');
    expect(JSON.stringify(warnings)).toContain('No declared producer uses the bus');
  });
});

describe('producer queues (one per via: queue producer)', () => {
  const portalQueue = () => stateless.findResources('AWS::SQS::Queue')[portalQueueId].Properties;

  it('creates exactly one, for the queue producer, and none for bus producers', () => {
    const producerQueues = Object.keys(stateless.findResources('AWS::SQS::Queue')).filter((id) => id.startsWith('ProvisionerProducerQueue'));
    expect(producerQueues).toEqual([portalQueueId]);
  });

  it('uses SQS-managed encryption (a sender in another account cannot use the customer managed key)', () => {
    expect(portalQueue().SqsManagedSseEnabled).toBe(true);
    expect(portalQueue().KmsMasterKeyId).toBeUndefined();
  });

  it('is TLS-only', () => {
    stateless.hasResourceProperties('AWS::SQS::QueuePolicy', tlsOnlyPolicyFor(portalQueueId));
  });

  it('redrives to the shared DLQ after 5 receives', () => {
    expect(portalQueue().RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 });
  });

  it('has the bus queue\'s visibility timeout rule (6x the function timeout)', () => {
    expect(portalQueue().VisibilityTimeout).toBe(360);
    const longer = buildApp({ ...EXAMPLE_SETTINGS, functionTimeoutSeconds: 100 }).stateless;
    const id = logicalId(longer, 'AWS::SQS::Queue', 'ProvisionerProducerQueueAccessPortal');
    expect(longer.findResources('AWS::SQS::Queue')[id].Properties.VisibilityTimeout).toBe(600);
  });

  it('is FIFO, with content-based deduplication, when queueKind is fifo', () => {
    const fifo = buildApp({ ...EXAMPLE_SETTINGS, queueKind: 'fifo' }).stateless;
    const id = logicalId(fifo, 'AWS::SQS::Queue', 'ProvisionerProducerQueueAccessPortal');
    expect(fifo.findResources('AWS::SQS::Queue')[id].Properties).toMatchObject({ FifoQueue: true, ContentBasedDeduplication: true });
  });

  it('one queue per queue producer, each named after it', () => {
    const two = buildApp({
      producers: {
        'access-portal': EXAMPLE_PRODUCERS['access-portal'],
        'joiner-bot': { ...EXAMPLE_PRODUCERS['access-portal'], principals: ['arn:aws:iam::123456789012:role/joiner-bot'] },
      },
    }).stateless;
    expect(Object.keys(two.findResources('AWS::SQS::Queue')).filter((id) => id.startsWith('ProvisionerProducerQueue')).map((id) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual([
      'ProvisionerProducerQueueAccessPortal',
      'ProvisionerProducerQueueJoinerBot',
    ]);
  });
});

describe('FIFO', () => {
  const fifo = buildApp({ producers: { hr: EXAMPLE_PRODUCERS.hr }, queueKind: 'fifo' }).stateless;

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

  it('keeps the rule DLQ standard (EventBridge accepts no FIFO DLQ), and the drift DLQ (Scheduler and Lambda destinations neither)', () => {
    const standard = Object.entries(fifo.findResources('AWS::SQS::Queue')).filter(([, queue]) => queue.Properties.FifoQueue === undefined);
    expect(standard.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['ProvisionerDriftDeadLetterQueue', 'ProvisionerRuleDeadLetterQueue']);
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
    ['RuleDeadLetterQueueUrl', { Ref: ruleDlqId }],
    // Named after the producer, so its operators find the URL to send to.
    ['ProducerQueueUrlAccessPortal', { Ref: portalQueueId }],
    ['EventBusName', { Ref: logicalId(stateless, 'AWS::Events::EventBus', 'ProvisionerEventBus') }],
    ['FunctionName', { Ref: logicalId(stateless, 'AWS::Lambda::Function', 'ProvisionerConsumer') }],
    ['AuditTableName', { 'Fn::ImportValue': Match.stringLikeRegexp('StateAuditTable') }],
    ['StateTableName', { 'Fn::ImportValue': Match.stringLikeRegexp('StateStateTable') }],
  ])('outputs %s', (name, value) => {
    stateless.hasOutput(name, { Value: value });
  });

  it('describes a producer queue output with the producer\'s name', () => {
    stateless.hasOutput('ProducerQueueUrlAccessPortal', { Description: Match.stringLikeRegexp('producer "access-portal"') });
  });
});

describe('message sizes: every message rejected from a source queue fits the DLQ', () => {
  const props = (template: typeof stateless, id: string) => template.findResources('AWS::SQS::Queue')[id].Properties;

  it('caps the source queues at 256 KiB and gives the DLQs SQS\'s largest, 1 MiB (allowed since 2025)', () => {
    expect(SOURCE_QUEUE_MAX_MESSAGE_BYTES).toBe(262_144);
    expect(DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES).toBe(1_048_576);
    expect(props(stateless, queueId).MaximumMessageSize).toBe(SOURCE_QUEUE_MAX_MESSAGE_BYTES);
    expect(props(stateless, portalQueueId).MaximumMessageSize).toBe(SOURCE_QUEUE_MAX_MESSAGE_BYTES);
    expect(props(stateless, dlqId).MaximumMessageSize).toBe(DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES);
    expect(props(stateless, ruleDlqId).MaximumMessageSize).toBe(DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES);
  });

  it('does the same for FIFO queues', () => {
    const fifo = buildApp({ ...EXAMPLE_SETTINGS, queueKind: 'fifo' }).stateless;
    expect(props(fifo, logicalId(fifo, 'AWS::SQS::Queue', 'ProvisionerQueue')).MaximumMessageSize).toBe(SOURCE_QUEUE_MAX_MESSAGE_BYTES);
    expect(props(fifo, logicalId(fifo, 'AWS::SQS::Queue', 'ProvisionerDeadLetterQueue')).MaximumMessageSize).toBe(
      DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES,
    );
  });

  it('leaves the DLQ room for the largest source message plus every rejection attribute, as the function bounds them', () => {
    expect(DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES).toBeGreaterThanOrEqual(SOURCE_QUEUE_MAX_MESSAGE_BYTES + DEAD_LETTER_ATTRIBUTES_MAX_BYTES);
    // The function's default is what the stack configures.
    expect(SQS_MAX_MESSAGE_BYTES).toBe(DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES);
  });

  it('is within what this aws-cdk-lib accepts (1,024 to 1,048,576 bytes)', () => {
    expect(() => buildQueue(1_048_576)).not.toThrow();
    expect(() => buildQueue(1_048_577)).toThrow(/between 1,024 and 1,048,576 bytes/);
  });
});

function buildQueue(maxMessageSizeBytes: number): void {
  new Queue(new Stack(), 'Q', { maxMessageSizeBytes });
}
