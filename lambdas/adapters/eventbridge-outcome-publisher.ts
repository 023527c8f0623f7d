/**
 * Publishes identity.change.applied / rejected / failed to the bus, so downstream automation
 * (account assignments, notifications) can chain on the resulting UserId/GroupId. Only ids, type,
 * outcome, error code and the verified producer travel: no personal attributes leave through the bus.
 */
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { DriftPublisher, DriftSummary } from '../domain/drift';
import type { OutcomePublisher } from '../domain/process-event';
import type { OutcomeRecord } from '../domain/ports';
import { DRIFT_DETAIL_TYPE, OUTCOME_DETAIL_TYPES, OUTCOME_EVENT_SOURCE } from '../shared/telemetry';

/** EventBridge refuses an entry over 256 KB; finding keys past this many are left out (the count stays). */
export const DRIFT_KEYS_PUBLISHED = 500;

export class EventBridgeOutcomePublisher implements OutcomePublisher, DriftPublisher {
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

  /**
   * identity.drift.detected: one per drift run that found something. Counts, kinds, when the
   * oldest difference was first seen, and the findings' keys (ids only): the names and values
   * are in the audit trail's DRIFT records, not on the bus.
   */
  async publishDrift(summary: DriftSummary): Promise<void> {
    const findingKeys = summary.findingKeys.slice(0, DRIFT_KEYS_PUBLISHED);
    const output = await this.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.eventBusName,
            Source: OUTCOME_EVENT_SOURCE,
            DetailType: DRIFT_DETAIL_TYPE,
            Detail: JSON.stringify({ ...summary, findingKeys, findingKeysOmitted: summary.findingKeys.length - findingKeys.length }),
          },
        ],
      }),
    );
    if (output.FailedEntryCount) {
      const entry = output.Entries?.find((e) => e.ErrorCode);
      throw new Error(`drift event not published: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`.trim());
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
