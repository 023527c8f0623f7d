/**
 * Publishes identity.change.applied / rejected / failed to the bus, so downstream automation
 * (account assignments, notifications) can chain on the resulting UserId/GroupId. Only ids, type,
 * outcome, error code and the verified producer travel: no personal attributes leave through the bus.
 */
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { OutcomePublisher } from '../domain/process-event';
import type { OutcomeRecord } from '../domain/ports';
import { OUTCOME_DETAIL_TYPES, OUTCOME_EVENT_SOURCE } from '../shared/telemetry';

export class EventBridgeOutcomePublisher implements OutcomePublisher {
  constructor(
    private readonly eventBridge: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async publish(record: OutcomeRecord): Promise<void> {
    const detailType = detailTypeFor(record.outcome);
    if (!detailType) return;
    const output = await this.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.eventBusName,
            Source: OUTCOME_EVENT_SOURCE,
            DetailType: detailType,
            Detail: JSON.stringify({
              eventId: record.eventId,
              type: record.type,
              outcome: record.outcome,
              identityStoreId: record.identityStoreId,
              userId: record.userId,
              groupId: record.groupId,
              errorCode: record.errorCode,
              // Who sent it, as AWS vouched for it (`unverified` when nothing could be verified).
              producer: record.producer,
              senderId: record.senderId,
              attempt: record.attempt,
              occurredAt: record.occurredAt,
              at: record.at,
            }),
          },
        ],
      }),
    );
    if (output.FailedEntryCount) {
      const entry = output.Entries?.find((e) => e.ErrorCode);
      throw new Error(`outcome event not published: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`.trim());
    }
  }
}

/** APPLIED, NOOP and SUPERSEDED all mean "the store now reflects this or a newer change". */
function detailTypeFor(outcome: OutcomeRecord['outcome']): string | undefined {
  switch (outcome) {
    case 'APPLIED':
    case 'NOOP':
    case 'SUPERSEDED':
      return OUTCOME_DETAIL_TYPES.applied;
    case 'REJECTED':
      return OUTCOME_DETAIL_TYPES.rejected;
    case 'FAILED':
      return OUTCOME_DETAIL_TYPES.failed;
    case 'RETRYING':
      return undefined;
  }
}
