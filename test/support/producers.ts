/**
 * Producers for tests that are not about producers: one queue producer with the full grant, whose
 * queue is where such tests "send" bare v1 documents, so they keep testing what they test.
 */
import { EVENT_TYPES } from '../../lambdas/domain/identity-change';
import type { RecordOrigin } from '../../lambdas/domain/producer';
import type { RuntimeProducer } from '../../lambdas/shared/producers';
import type { ProcessSettings } from '../../lambdas/domain/process-event';
import { OCCURRED_AT_BOUNDS } from './events';

export const TEST_PRODUCER_QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:identity-provisioner-tests';
/** SenderId of an IAM user, as SQS reports it. */
export const TEST_SENDER_ID = 'AIDAEXAMPLETESTSENDER';

/** A queue producer that may send every event type about every group. */
export function fullGrantQueueProducer(queueArn = TEST_PRODUCER_QUEUE_ARN, name = 'tests'): RuntimeProducer {
  return { name, via: 'queue', queueArn, eventTypes: [...EVENT_TYPES], groups: ['*'] };
}

/** Where a delivery of a bare document from fullGrantQueueProducer() comes from. */
export const TEST_ORIGIN: RecordOrigin = { queueArn: TEST_PRODUCER_QUEUE_ARN, senderId: TEST_SENDER_ID };

/** The bus queue's ARN in unit tests: not a producer queue, so records from it are read as the bus rule's. */
export const TEST_BUS_QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:identity-provisioner-events';
/** SenderId of what the bus rule delivers (a role's unique id, as SQS reports it for EventBridge). */
export const BUS_SENDER_ID = 'AROAEXAMPLEEVENTBRIDGE:rule';
export const BUS_ORIGIN: RecordOrigin = { queueArn: TEST_BUS_QUEUE_ARN, senderId: BUS_SENDER_ID };
export const HR_SOURCE = 'identity-provisioner.hr';
export const HR_ACCOUNT = '111122223333';

/** A bus producer that may send every event type about every group. */
export function fullGrantBusProducer(source = HR_SOURCE, accounts = [HR_ACCOUNT], name = 'hr'): RuntimeProducer {
  return { name, via: 'bus', source, accounts, eventTypes: [...EVENT_TYPES], groups: ['*'] };
}

/** An EventBridge event as the bus rule delivers it to the bus queue. */
export function envelopeOf(detail: { type: string }, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0',
    id: `eb-${Math.random().toString(16).slice(2, 10)}`,
    'detail-type': detail.type,
    source: HR_SOURCE,
    account: HR_ACCOUNT,
    time: '2026-11-22T09:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail,
    ...overrides,
  };
}

/** The record path's settings most tests run with: the default managed scope, both full-grant producers. */
export function testProcessSettings(): ProcessSettings {
  return {
    identityStoreId: 'd-1234567890',
    managedGroupScope: { kind: 'created' },
    maxMembershipRemovalsPerEvent: 3,
    deletionCap: 2,
    deletionWindowSeconds: 3600,
    producers: [fullGrantQueueProducer(), fullGrantBusProducer()],
    occurredAtBounds: OCCURRED_AT_BOUNDS,
    redeliveryBaseDelaySeconds: 1,
  };
}
