/** Drift repairs onto the service's bus, as the built-in producer drift-repair. */
import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { DriftRepairSender } from '../domain/drift';
import type { IdentityChange } from '../domain/identity-change';
import { DRIFT_REPAIR_SOURCE } from '../shared/producers';

/** PutEvents takes at most this many entries per call. */
const PUT_EVENTS_MAX_ENTRIES = 10;

/**
 * Sends repair events to the bus as the drift-repair producer: one entry per event, its type as
 * the detail-type and the v1 document as the detail (what any bus producer sends), 10 per call.
 */
export class EventBridgeRepairSender implements DriftRepairSender {
  constructor(
    private readonly eventBridge: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async send(events: IdentityChange[]): Promise<{ sent: number; failed: { id: string; reason: string }[] }> {
    let sent = 0;
    const failed: { id: string; reason: string }[] = [];
    for (let start = 0; start < events.length; start += PUT_EVENTS_MAX_ENTRIES) {
      const chunk = events.slice(start, start + PUT_EVENTS_MAX_ENTRIES);
      const entries: PutEventsRequestEntry[] = chunk.map((event) => ({
        EventBusName: this.eventBusName,
        Source: DRIFT_REPAIR_SOURCE,
        DetailType: event.type,
        Detail: JSON.stringify(event),
      }));
      try {
        const output = await this.eventBridge.send(new PutEventsCommand({ Entries: entries }));
        chunk.forEach((event, index) => {
          const entry = output.Entries?.[index];
          if (entry?.EventId !== undefined && entry.ErrorCode === undefined) sent++;
          else failed.push({ id: event.id, reason: `${entry?.ErrorCode ?? 'NotSent'}${entry?.ErrorMessage ? `: ${entry.ErrorMessage}` : ''}` });
        });
      } catch (error) {
        const reason = error instanceof Error ? error.name : 'PutEventsFailed';
        for (const event of chunk) failed.push({ id: event.id, reason });
      }
    }
    return { sent, failed };
  }
}
