/**
 * Seeded fault injection. Every API call draws the same number of values from a mulberry32
 * stream, so a given seed and request sequence always yields the same faults.
 */
export interface FaultOptions {
  /** Probability of an injected ThrottlingException. */
  throttle?: number;
  /** Probability of an InternalServerException. */
  server?: number;
  /** Probability of a ConflictException CONCURRENT_MODIFICATION (write actions only). */
  conflict?: number;
  /** Probability of destroying the connection without a response. */
  drop?: number;
  /** Probability and range of added latency before the call is handled. */
  latency?: { probability: number; minMs: number; maxMs: number };
  /** RetryAfterSeconds on injected Throttling and InternalServer errors (default 1). */
  retryAfterSeconds?: number;
}

export type FaultKind = 'throttle' | 'server' | 'conflict' | 'drop' | 'latency';

export interface FaultDecision {
  /** The failure to return instead of handling the call, if any. */
  failure?: Exclude<FaultKind, 'latency'>;
  /** Milliseconds to wait first (0 for none). */
  latencyMs: number;
}

export class FaultSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultSpecError';
  }
}

/** mulberry32: a tiny, well-distributed 32-bit PRNG. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PROBABILITY_KEYS = ['throttle', 'server', 'conflict', 'drop'] as const;

/** Parse `throttle=0.05,server=0.02,conflict=0.02,latency=0.1:20-200,drop=0.01,retryAfter=1`. */
export function parseFaultSpec(spec: string): FaultOptions {
  const options: FaultOptions = {};
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, value, extra] = part.split('=');
    if (value === undefined || extra !== undefined) throw new FaultSpecError(`fault "${part}" must be key=value`);
    if ((PROBABILITY_KEYS as readonly string[]).includes(key)) {
      options[key as (typeof PROBABILITY_KEYS)[number]] = parseProbability(key, value);
    } else if (key === 'latency') {
      options.latency = parseLatency(value);
    } else if (key === 'retryAfter') {
      if (!/^\d+$/.test(value)) throw new FaultSpecError(`retryAfter must be a whole number of seconds, got "${value}"`);
      options.retryAfterSeconds = Number(value);
    } else {
      throw new FaultSpecError(
        `unknown fault "${key}" (known: throttle, server, conflict, drop, latency=P:MIN-MAX, retryAfter)`,
      );
    }
  }
  return options;
}

function parseProbability(key: string, value: string): number {
  const p = Number(value);
  if (value.trim() === '' || !Number.isFinite(p) || p < 0 || p > 1)
    throw new FaultSpecError(`${key} must be a probability between 0 and 1, got "${value}"`);
  return p;
}

function parseLatency(value: string): NonNullable<FaultOptions['latency']> {
  const match = /^([0-9.]+):(\d+)-(\d+)$/.exec(value);
  if (!match) throw new FaultSpecError(`latency must be P:MIN-MAX (e.g. 0.1:20-200), got "${value}"`);
  const latency = { probability: parseProbability('latency', match[1]), minMs: Number(match[2]), maxMs: Number(match[3]) };
  if (latency.minMs > latency.maxMs) throw new FaultSpecError(`latency range ${match[2]}-${match[3]} is reversed`);
  return latency;
}

/** Check programmatic options with the same rules as the spec string. */
export function validateFaultOptions(options: FaultOptions): void {
  for (const key of PROBABILITY_KEYS) {
    const p = options[key];
    if (p !== undefined) parseProbability(key, String(p));
  }
  if (options.latency) parseLatency(`${options.latency.probability}:${options.latency.minMs}-${options.latency.maxMs}`);
  const retryAfter = options.retryAfterSeconds;
  if (retryAfter !== undefined && !(Number.isInteger(retryAfter) && retryAfter >= 0))
    throw new FaultSpecError(`retryAfterSeconds must be a whole number >= 0, got ${retryAfter}`);
}

export class FaultInjector {
  private readonly random: () => number;

  constructor(
    private readonly options: FaultOptions,
    readonly seed: number,
  ) {
    validateFaultOptions(options);
    this.random = mulberry32(seed);
  }

  get retryAfterSeconds(): number {
    return this.options.retryAfterSeconds ?? 1;
  }

  /** Draw this call's faults. Always six draws, whatever the outcome, to keep the stream aligned. */
  decide(isWrite: boolean): FaultDecision {
    const [drop, throttle, server, conflict, latency, latencySpan] = Array.from({ length: 6 }, () => this.random());
    const o = this.options;
    let latencyMs = 0;
    if (o.latency && latency < o.latency.probability)
      latencyMs = o.latency.minMs + Math.floor(latencySpan * (o.latency.maxMs - o.latency.minMs + 1));
    const failure =
      drop < (o.drop ?? 0)
        ? 'drop'
        : throttle < (o.throttle ?? 0)
          ? 'throttle'
          : server < (o.server ?? 0)
            ? 'server'
            : isWrite && conflict < (o.conflict ?? 0)
              ? 'conflict'
              : undefined;
    return { failure, latencyMs };
  }
}
