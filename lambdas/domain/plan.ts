/**
 * A plan: the record path (process-event.ts), run over what-if ports (what-if.ts), one delivery at
 * a time in the order given, so what it prints is what the engine decides, not a second opinion.
 * Nothing is written anywhere: the what-if ports keep every write in memory.
 *
 * Like the queue, a delivery the path hands back for a retry (a group its joiner creates later in
 * the file, say) comes back after the others, up to the queue's maxReceiveCount deliveries, and
 * the last one that fails is FAILED. A deletion the cap holds back is reported as held: the apply
 * would wait for the window to end.
 */
import type { Outcome, WriteRecord } from './ports';
import type { Reading } from './parse-event';
import { processReading, type Delivery, type ProcessDependencies, type ProcessSettings } from './process-event';
import type { RecordingAudit } from './what-if';

/** One message as the function would receive it: its reading, where it came from, and its index in the input. */
export interface PlanInput {
  index: number;
  reading: Reading;
  messageId: string;
  origin: Delivery['origin'];
}

export interface PlanEntry {
  index: number;
  eventId: string;
  type?: string;
  /** The final outcome; HELD when the deletion cap would hold it back. */
  outcome: Outcome | 'HELD';
  errorCode?: string;
  /** Why it was rejected, superseded, failed, held; or a NOOP's explanation. */
  reason?: string;
  /** Deliveries the apply would take (more than one when it waits for an earlier event). */
  deliveries: number;
  /** The writes the apply would make, in order, with each attribute before and after. */
  writes: WriteRecord[];
}

export interface PlanSettings extends ProcessSettings {
  maxReceiveCount: number;
}

/** Every input's planned outcome, in input order. `deps` are what-if ports; `audit` is their recording audit. */
export async function planDeliveries(
  inputs: PlanInput[],
  deps: Omit<ProcessDependencies, 'audit' | 'pause'> & { audit: RecordingAudit },
  settings: PlanSettings,
): Promise<PlanEntry[]> {
  const entries = new Map<number, PlanEntry>();
  // Each input's own writes, delivery by delivery: two inputs may carry the same event id.
  const writesOf = new Map<number, WriteRecord[]>();
  let pending = inputs.map((input) => ({ input, receiveCount: 1 }));
  while (pending.length > 0) {
    const again: typeof pending = [];
    for (const { input, receiveCount } of pending) {
      const now = deps.clock.now();
      const recordedBefore = deps.audit.writes.length;
      const result = await processReading(
        input.reading,
        {
          messageId: input.messageId,
          receiveCount,
          maxReceiveCount: settings.maxReceiveCount,
          receivedAt: now,
          // A plan makes no call that takes time it must leave for others: no lease can lapse.
          deadline: new Date(now.getTime() + 15 * 60_000),
          origin: input.origin,
        },
        { ...deps, pause: async () => {} },
        settings,
      );
      const { record, failure, disposition } = result;
      writesOf.set(input.index, [...(writesOf.get(input.index) ?? []), ...deps.audit.writes.slice(recordedBefore)]);
      const held = failure?.code === 'DELETION_CAP_REACHED';
      entries.set(input.index, {
        index: input.index,
        eventId: result.eventId,
        type: record.type,
        outcome: held ? 'HELD' : record.outcome,
        errorCode: failure?.code,
        reason: failure?.message ?? record.errorMessage,
        deliveries: receiveCount,
        writes: writesOf.get(input.index)!,
      });
      if (disposition.kind === 'retryAfter' && !held) again.push({ input, receiveCount: receiveCount + 1 });
    }
    pending = again;
  }
  return inputs.map((input) => entries.get(input.index)!);
}
