/**
 * Waits for a queue to drain and says when it did, to within a poll interval. The pipeline's own
 * settled() polls every 100 ms and returns 300 ms after the fact; a timing has to be finer.
 */
export interface QueueProbe {
  /** Messages still on the source queue: visible, in flight or delayed for redelivery. */
  pending(): number;
  /** Invocations still running. */
  inFlight(): number;
}

export interface DrainOptions {
  pollMs?: number;
  /** The queue must stay empty this long to count as drained (a redelivery could still appear). */
  quietMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** `drainedAt`: when the final quiet spell began (epoch ms); undefined if it never came in time. */
export async function waitUntilDrained(
  probe: QueueProbe,
  timeoutMs: number,
  options: DrainOptions = {},
): Promise<{ drainedAt: number | undefined }> {
  const { pollMs = 10, quietMs = 300, now = Date.now } = options;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = now() + timeoutMs;
  let quietSince: number | undefined;
  for (;;) {
    const t = now();
    if (probe.pending() === 0 && probe.inFlight() === 0) {
      quietSince ??= t;
      if (t - quietSince >= quietMs) return { drainedAt: quietSince };
    } else {
      quietSince = undefined;
    }
    if (t > deadline) return { drainedAt: undefined };
    await sleep(pollMs);
  }
}
