/** Call counters and the bounded journal of successful writes, read through the admin endpoints. */
import type { FaultKind } from './faults';

export interface EmulatorStats {
  totalCalls: number;
  callsByAction: Record<string, number>;
  throttled: { quota: number; injected: number };
  /** Throttled answers (quota and injected) by the action that was throttled. */
  throttledByAction: Record<string, number>;
  faults: Record<FaultKind, number>;
  errorsByType: Record<string, number>;
  successfulWrites: number;
  /** The fault PRNG seed, so a run can be replayed. */
  faultSeed: number;
  since: string;
}

export interface WriteJournalEntry {
  sequence: number;
  action: string;
  identityStoreId: string;
  userId?: string;
  groupId?: string;
  membershipId?: string;
  /** The name a CreateUser or CreateGroup gave: what an intent recorded before the call knows it by. */
  userName?: string;
  displayName?: string;
  /** Memberships removed along with a deleted user or group. */
  removedMembershipIds?: string[];
  at: string;
  requestId: string;
}

export const WRITE_JOURNAL_LIMIT = 10_000;

const emptyFaults = (): Record<FaultKind, number> => ({ throttle: 0, server: 0, conflict: 0, drop: 0, latency: 0 });

export class StatsRecorder {
  private stats: EmulatorStats;
  private readonly journal: WriteJournalEntry[] = [];
  private nextSequence = 1;

  constructor(private readonly faultSeed: number) {
    this.stats = this.fresh();
  }

  call(action: string): void {
    this.stats.totalCalls += 1;
    this.stats.callsByAction[action] = (this.stats.callsByAction[action] ?? 0) + 1;
  }

  quotaThrottled(action: string): void {
    this.stats.throttled.quota += 1;
    this.throttledAction(action);
  }

  fault(kind: FaultKind, action: string): void {
    this.stats.faults[kind] += 1;
    if (kind === 'throttle') {
      this.stats.throttled.injected += 1;
      this.throttledAction(action);
    }
  }

  private throttledAction(action: string): void {
    this.stats.throttledByAction[action] = (this.stats.throttledByAction[action] ?? 0) + 1;
  }

  error(type: string): void {
    this.stats.errorsByType[type] = (this.stats.errorsByType[type] ?? 0) + 1;
  }

  write(entry: Omit<WriteJournalEntry, 'sequence' | 'at'>): void {
    this.stats.successfulWrites += 1;
    this.journal.push({ sequence: this.nextSequence++, at: new Date().toISOString(), ...entry });
    if (this.journal.length > WRITE_JOURNAL_LIMIT) this.journal.splice(0, this.journal.length - WRITE_JOURNAL_LIMIT);
  }

  /** Journal entries with a sequence above `after` (all by default). */
  writes(after = 0): WriteJournalEntry[] {
    return this.journal.filter((entry) => entry.sequence > after);
  }

  snapshot(): EmulatorStats {
    return structuredClone(this.stats);
  }

  /** Zero the counters; the write journal is kept (soak tests read it by sequence). */
  reset(): void {
    this.stats = this.fresh();
  }

  private fresh(): EmulatorStats {
    return {
      totalCalls: 0,
      callsByAction: {},
      throttled: { quota: 0, injected: 0 },
      throttledByAction: {},
      faults: emptyFaults(),
      errorsByType: {},
      successfulWrites: 0,
      faultSeed: this.faultSeed,
      since: new Date().toISOString(),
    };
  }
}
