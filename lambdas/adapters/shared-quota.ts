/**
 * The Identity Store budget shared by every function instance of a deployment, through one
 * ledger item (quota-ledger.ts). Each HTTP attempt waits for a slot; the instance claims slots
 * for the attempts waiting on it, several per claim, so whichever instances have work divide the
 * whole budget between them at once, and together never exceed it.
 *
 * The rate adapts to the other callers of the account's quota (the console, SCIM, scripts),
 * which the service only learns about from throttles:
 * - a throttle starts an episode: everyone pauses for the RetryAfterSeconds asked (slots keep
 *   being handed out meanwhile and go out together when the pause ends, as the service's bucket
 *   has refilled), and the rate drops to what the service let through since the last episode
 *   (our calls it admitted per second), a little under it; with no earlier episode to measure
 *   from, to FIRST_CUT of what it was;
 * - after HOLD_MS without a new episode the rate climbs back RECOVERY_SHARE_PER_SECOND of the
 *   budget per second, up to the whole budget, so it returns when the other caller stops.
 * When the ledger cannot be reached, the instance falls back to its static share of the budget
 * (the budget over the most instances that may call at once), as before there was a ledger.
 */
import type { CallPacer, PauseCause } from './rate-limiter';
import { RateLimiter } from './rate-limiter';
import { belongsToEpisode, type LedgerState, type QuotaLedger } from './quota-ledger';

export const QUOTA_POLICY = {
  /**
   * An idle budget lets this much of a second's calls go at once: most of the bucket the service
   * refilled meanwhile (a second of calls locally), not all of it, since a burst that reaches the
   * service late leaves the bucket's refill later than ours.
   */
  burstSeconds: 0.8,
  /** With nothing measured yet, a throttle cuts the rate to this share of what it was. */
  firstCut: 0.85,
  /** A measured rate is used with this margin below it. */
  measuredMargin: 0.97,
  /** One episode never cuts the rate below this share of what it was. */
  deepestCut: 0.75,
  /** Shorter than this measures nothing (a throttle right after a burst says little about the rate). */
  minMeasureMs: 1_000,
  /** Longer ago than this measures nothing (the other callers may have changed). */
  measureWindowMs: 120_000,
  /** After an episode the rate holds this long before it climbs back. */
  holdMs: 20_000,
  /** How fast the rate climbs back, as a share of the budget per second (a throttle per probe). */
  recoverySharePerSecond: 0.005,
  /** Never below this share of the budget, however many throttles. */
  floorShare: 0.1,
  /** Slots per claim, at most (one DynamoDB request). */
  maxSlotsPerClaim: 25,
  /**
   * While the cursor is ahead of now, a claim may wait this share of the lead before it is made:
   * attempts arriving meanwhile join it, and no slot is lost since others' claims fill the lead.
   */
  coalesceShareOfLead: 0.8,
  coalesceMaxMs: 1_000,
  /** After a ledger error, the static share is used this long before the ledger is tried again. */
  ledgerRetryMs: 1_000,
} as const;

export type QuotaPolicy = { -readonly [K in keyof typeof QUOTA_POLICY]: number };

/** The rate in force at `nowMs`: the episode's rate, climbing back after the hold, capped at the budget. */
export function rateInForce(state: LedgerState, nowMs: number, budgetRps: number, policy: QuotaPolicy = QUOTA_POLICY): number {
  if (state.episodeAtMs === 0 || state.episodeRate <= 0) return budgetRps;
  const climbingMs = Math.max(0, nowMs - state.episodeAtMs - policy.holdMs);
  const rate = state.episodeRate + (budgetRps * policy.recoverySharePerSecond * climbingMs) / 1000;
  return Math.min(budgetRps, Math.max(budgetRps * policy.floorShare, rate));
}

/** Slots handed out for times still to come (claimed ahead; not yet calls). */
export function slotsAhead(state: LedgerState, nowMs: number, rate: number): number {
  return (Math.max(0, state.nextSlotMs - nowMs) * rate) / 1000;
}

/**
 * Our calls the service admitted per second since the last episode (its bucket went from empty
 * to empty: that is exactly the share the other callers left us) or since the cursor restarted
 * from idle (less the calls the full bucket had banked). Undefined when too short or too old, or
 * when we did not have calls waiting all along.
 */
export function measuredRate(state: LedgerState, nowMs: number, rate: number, policy: QuotaPolicy = QUOTA_POLICY): number | undefined {
  const sinceMs = nowMs - state.measureFromMs;
  if (state.measureFromMs === 0 || sinceMs < policy.minMeasureMs || sinceMs > policy.measureWindowMs) return undefined;
  // Slots went unused after the banked burst: we sent less than we could, so our admitted calls
  // say nothing of the service's limit.
  if (state.lastLagAtMs > state.measureFromMs + policy.burstSeconds * 1000) return undefined;
  const admitted =
    state.granted -
    state.grantedAtMeasure -
    (state.throttled - state.throttledAtMeasure) -
    (slotsAhead(state, nowMs, rate) - state.aheadAtMeasure) -
    state.bankedAtMeasure;
  return Math.max(0, admitted) / (sinceMs / 1000);
}

/** The rate a new throttle episode sets. */
export function rateAfterThrottle(state: LedgerState, nowMs: number, budgetRps: number, policy: QuotaPolicy = QUOTA_POLICY): number {
  const current = rateInForce(state, nowMs, budgetRps, policy);
  const measured = measuredRate(state, nowMs, current, policy);
  const next =
    measured === undefined
      ? current * policy.firstCut
      : // Throttled at `current`, so never keep it. A measure taken while we had little to send
        // reads low, so one episode never cuts deeper than deepestCut; the next one goes on.
        Math.min(current * policy.measuredMargin, Math.max(current * policy.deepestCut, measured * policy.measuredMargin));
  return Math.min(budgetRps, Math.max(budgetRps * policy.floorShare, next));
}

export interface SharedQuotaOptions {
  ledger: QuotaLedger;
  /** The deployment's whole Identity Store budget. */
  requestsPerSecond: number;
  /** This instance's static share, used while the ledger cannot be reached. */
  fallbackRequestsPerSecond: number;
  policy?: Partial<QuotaPolicy>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Where in its slot a call goes: [0, 1), like Math.random. */
  random?: () => number;
  /** A ledger call failed (the instance uses its static share for a while). */
  onLedgerError?: (error: unknown) => void;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type SlotWaiter = (slotMs: number) => void;

export class SharedQuota implements CallPacer {
  private readonly ledger: QuotaLedger;
  private readonly budgetRps: number;
  private readonly policy: QuotaPolicy;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly fallback: RateLimiter;
  private readonly onLedgerError?: (error: unknown) => void;
  /** Attempts waiting for a slot, in arrival order. */
  private readonly waiters: SlotWaiter[] = [];
  private claiming = false;
  private seen: LedgerState | undefined;
  private pausedUntilMs = 0;
  private ledgerRetryAtMs = 0;
  private episodeReportInFlight = false;

  constructor(options: SharedQuotaOptions) {
    if (!Number.isFinite(options.requestsPerSecond) || options.requestsPerSecond <= 0) {
      throw new RangeError('requestsPerSecond must be a positive finite number');
    }
    this.ledger = options.ledger;
    this.budgetRps = options.requestsPerSecond;
    this.policy = { ...QUOTA_POLICY, ...options.policy };
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.onLedgerError = options.onLedgerError;
    this.fallback = new RateLimiter({ requestsPerSecond: options.fallbackRequestsPerSecond, now: this.now, sleep: this.sleep });
  }

  /** Resolves when the caller may send one request, with the time it was given (earlier when banked). */
  async acquire(): Promise<number> {
    for (;;) {
      const slotMs = await new Promise<number>((resolve) => {
        this.waiters.push(resolve);
        this.startClaiming();
      });
      let now = this.now();
      if (now < slotMs) {
        await this.sleep(slotMs - now);
        now = this.now();
      }
      if (now >= this.pausedUntilMs) return slotMs;
      // The slot came due during a pause: given up, not kept for the pause's end, where it would
      // go out together with everyone's and meet the throttle again. A new one after the pause.
      await this.sleep(this.pausedUntilMs - now);
    }
  }

  get pausedUntil(): number {
    return this.pausedUntilMs;
  }

  /** The rate this instance last saw in force (for tests and metrics). */
  get currentRate(): number {
    return this.seen === undefined ? this.budgetRps : rateInForce(this.seen, this.now(), this.budgetRps, this.policy);
  }

  /** Nobody anywhere calls before `epochMs`; a throttle may also lower the shared rate. */
  pauseUntil(epochMs: number, cause: PauseCause = 'throttle'): void {
    this.pausedUntilMs = Math.max(this.pausedUntilMs, epochMs);
    this.fallback.pauseUntil(epochMs);
    void this.sharePause(epochMs, cause).catch((error: unknown) => this.ledgerFailed(error));
  }

  private async sharePause(untilMs: number, cause: PauseCause): Promise<void> {
    if (this.now() < this.ledgerRetryAtMs) return;
    const throttle = cause === 'throttle';
    const knownEpisodeOn =
      this.episodeReportInFlight || (this.seen !== undefined && belongsToEpisode(this.seen, this.now()));
    if (!throttle || knownEpisodeOn) {
      this.observe(await this.ledger.extendPause({ untilMs, throttle }));
      return;
    }
    this.episodeReportInFlight = true;
    try {
      const nowMs = this.now();
      this.observe(
        await this.ledger.startEpisode({
          nowMs,
          untilMs,
          decideRate: (state) => {
            // Slots already handed out are spaced at the rate that was in force.
            const ahead = slotsAhead(state, nowMs, rateInForce(state, nowMs, this.budgetRps, this.policy));
            return { rate: rateAfterThrottle(state, nowMs, this.budgetRps, this.policy), aheadSlots: ahead };
          },
        }),
      );
    } finally {
      this.episodeReportInFlight = false;
    }
  }

  private startClaiming(): void {
    if (this.claiming) return;
    this.claiming = true;
    void this.claimWhileWaited().finally(() => {
      this.claiming = false;
      if (this.waiters.length > 0) this.startClaiming();
    });
  }

  private async claimWhileWaited(): Promise<void> {
    while (this.waiters.length > 0) {
      const wait = this.coalesceMs();
      if (wait > 0) await this.sleep(wait);
      const batch = this.waiters.splice(0, this.policy.maxSlotsPerClaim);
      const slots = await this.claimSlots(batch.length);
      batch.forEach((resolve, index) => resolve(slots[index]));
    }
  }

  /** How long a claim can wait for more attempts to join it without losing a slot. */
  private coalesceMs(): number {
    if (this.seen === undefined || this.now() < this.ledgerRetryAtMs) return 0;
    const leadMs = this.seen.nextSlotMs - this.now();
    return leadMs <= 0 ? 0 : Math.min(this.policy.coalesceMaxMs, Math.floor(leadMs * this.policy.coalesceShareOfLead));
  }

  private async claimSlots(count: number): Promise<number[]> {
    const nowMs = this.now();
    if (nowMs >= this.ledgerRetryAtMs) {
      try {
        const rate = this.seen === undefined ? this.budgetRps : rateInForce(this.seen, nowMs, this.budgetRps, this.policy);
        const slotMs = 1000 / rate;
        const { firstSlotMs, state } = await this.ledger.claim({
          slots: count,
          nowMs,
          slotMs,
          burstMs: this.policy.burstSeconds * 1000,
        });
        this.observe(state);
        // Each call goes at a random point of its slot. Calls at the very instant each token comes
        // would win every race for the service's bucket: another caller would then be the one
        // throttled, always, and we would never learn it is there.
        return Array.from({ length: count }, (_, index) => firstSlotMs + (index + this.random()) * slotMs);
      } catch (error) {
        this.ledgerFailed(error);
      }
    }
    // The static share: each slot is the moment the local limiter lets the call go.
    const slots: number[] = [];
    for (let index = 0; index < count; index++) {
      await this.fallback.acquire();
      slots.push(this.now());
    }
    return slots;
  }

  private observe(state: LedgerState): void {
    this.seen = state;
    this.pausedUntilMs = Math.max(this.pausedUntilMs, state.pausedUntilMs);
  }

  private ledgerFailed(error: unknown): void {
    this.ledgerRetryAtMs = this.now() + this.policy.ledgerRetryMs;
    this.onLedgerError?.(error);
  }
}
