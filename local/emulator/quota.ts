/**
 * Token-bucket quota: an account-wide bucket (`tps`, `burst`) and optional per-action buckets.
 * A call needs a token from every bucket that applies; a throttled call takes none.
 */
export interface QuotaOptions {
  /** Account-wide requests per second; 0 switches the quota off. */
  tps: number;
  /** Bucket size; defaults to tps. */
  burst?: number;
  /** Extra per-action limits (requests per second, burst = max(1, rate)). */
  perActionTps?: Record<string, number>;
}

class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  /** Seconds until one token is available (0 when one is available now). */
  waitSeconds(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : (1 - this.tokens) / this.rate;
  }

  take(): void {
    this.tokens -= 1;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }
}

export interface QuotaDecision {
  allowed: boolean;
  /** Whole seconds until the call could be served, at least 1 (only when not allowed). */
  retryAfterSeconds: number;
}

export class Quota {
  private readonly global?: TokenBucket;
  private readonly perAction = new Map<string, TokenBucket>();

  constructor(
    options: QuotaOptions,
    private readonly clock: () => number = () => performance.now(),
  ) {
    const now = this.clock();
    if (options.tps > 0) this.global = new TokenBucket(options.tps, Math.max(1, options.burst ?? options.tps), now);
    for (const [action, rate] of Object.entries(options.perActionTps ?? {})) {
      if (rate > 0) this.perAction.set(action, new TokenBucket(rate, Math.max(1, rate), now));
    }
  }

  tryAcquire(action: string): QuotaDecision {
    const now = this.clock();
    const buckets = [this.global, this.perAction.get(action)].filter((b): b is TokenBucket => b !== undefined);
    const wait = Math.max(0, ...buckets.map((b) => b.waitSeconds(now)));
    if (wait > 0) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(wait)) };
    for (const bucket of buckets) bucket.take();
    return { allowed: true, retryAfterSeconds: 0 };
  }
}

export function validateQuotaOptions(options: QuotaOptions): void {
  const positive = (name: string, value: number | undefined) => {
    if (value !== undefined && (!Number.isFinite(value) || value < 0))
      throw new RangeError(`${name} must be a number >= 0, got ${value}`);
  };
  positive('tps', options.tps);
  positive('burst', options.burst);
  for (const [action, rate] of Object.entries(options.perActionTps ?? {})) positive(`perActionTps.${action}`, rate);
}
