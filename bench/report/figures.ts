/** The arithmetic behind the reported figures, kept apart so it can be tested on its own. */

/**
 * The shortest time the quota allows for `admittedCalls`: the bucket's `burst` calls at once
 * (it may start full), the rest at `rps`. Throttled calls take no token, so they do not count.
 */
export function lowerBoundMs(admittedCalls: number, rps: number, burst: number): number {
  if (rps <= 0) throw new RangeError('a lower bound needs a quota (rps > 0)');
  return Math.round((Math.max(0, admittedCalls - burst) / rps) * 1000);
}

/**
 * The requests per second left to us when a neighbour in the same account calls at
 * `neighbourRps` of the account-wide `rps`: every call it makes takes a token from the same bucket.
 */
export function rpsLeftToUs(rps: number, neighbourRps: number): number {
  if (neighbourRps < 0 || neighbourRps >= rps) throw new RangeError(`a neighbour at ${neighbourRps} rps leaves nothing of ${rps} rps`);
  return rps - neighbourRps;
}

/** measured / lower bound: 1.00 is the quota's speed; 1.25 is 25% slower than the quota allows. */
export function ratio(measuredMs: number, boundMs: number): number | null {
  return boundMs > 0 ? round(measuredMs / boundMs, 2) : null;
}

/** part / whole, 0 when there is no whole. */
export function share(part: number, whole: number): number {
  return whole > 0 ? round(part / whole, 4) : 0;
}

/** count / events to two decimals, 0 when no event was sent. */
export function perEvent(count: number, events: number): number {
  return events > 0 ? round(count / events, 2) : 0;
}

export function median(values: number[]): number {
  if (values.length === 0) throw new RangeError('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
