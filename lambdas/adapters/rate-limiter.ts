/** Why calls are paused: a throttle (which may also lower a shared rate) or another error that named a wait. */
export type PauseCause = 'throttle' | 'server-asked';

/** What paces the Identity Store client's every HTTP attempt (this process's RateLimiter, or SharedQuota). */
export interface CallPacer {
  /** Resolves when the caller may send one request (with whatever the pacer reports). */
  acquire(): Promise<unknown>;
  /** Nobody gets to call before `epochMs`; an earlier pause never shortens a later one. */
  pauseUntil(epochMs: number, cause?: PauseCause): void;
  readonly pausedUntil: number;
}

/**
 * A token bucket that paces Identity Store calls to the share of the account quota this process
 * may use. Callers are served first come, first served; a throttled call can pause everyone
 * until the time the service named, so concurrent calls do not walk into the same throttle.
 */

export interface RateLimiterOptions {
  requestsPerSecond: number;
  /** Calls that may go back to back after an idle spell. 1 spaces every call evenly. */
  burst?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class RateLimiter implements CallPacer {
  private readonly msPerToken: number;
  private readonly burst: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private tokens: number;
  private lastRefillMs: number;
  private pausedUntilMs = 0;
  /** The end of the queue: each acquire waits for the one before it (FIFO). */
  private queueTail: Promise<void> = Promise.resolve();

  constructor(options: RateLimiterOptions) {
    const { requestsPerSecond, burst = 1 } = options;
    if (!Number.isFinite(requestsPerSecond) || requestsPerSecond <= 0) {
      throw new RangeError('requestsPerSecond must be a positive finite number');
    }
    if (!Number.isInteger(burst) || burst < 1) throw new RangeError('burst must be an integer >= 1');
    this.msPerToken = 1000 / requestsPerSecond;
    this.burst = burst;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.tokens = burst;
    this.lastRefillMs = this.now();
  }

  /** Resolves when the caller may send one request. */
  acquire(): Promise<void> {
    const turn = this.queueTail.then(() => this.takeToken());
    this.queueTail = turn.catch(() => undefined);
    return turn;
  }

  /** Nobody gets a token before `epochMs`; an earlier pause never shortens a later one. */
  pauseUntil(epochMs: number): void {
    this.refill(this.now());
    this.pausedUntilMs = Math.max(this.pausedUntilMs, epochMs);
    // After the pause, calls resume at the paced rate instead of as a burst.
    this.tokens = Math.min(this.tokens, 1);
  }

  get pausedUntil(): number {
    return this.pausedUntilMs;
  }

  private async takeToken(): Promise<void> {
    for (;;) {
      const now = this.now();
      if (now < this.pausedUntilMs) {
        // Re-check after waking: the pause may have been extended meanwhile.
        await this.sleep(this.pausedUntilMs - now);
        continue;
      }
      this.refill(now);
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.sleep(Math.ceil((1 - this.tokens) * this.msPerToken));
    }
  }

  /** Tokens accrue only outside pauses. */
  private refill(now: number): void {
    const from = Math.max(this.lastRefillMs, this.pausedUntilMs);
    if (now > from) this.tokens = Math.min(this.burst, this.tokens + (now - from) / this.msPerToken);
    this.lastRefillMs = Math.max(this.lastRefillMs, now);
  }
}
