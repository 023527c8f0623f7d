/**
 * The two ways an event can fail. Everything the engine throws is one of these,
 * so the handler never has to guess whether to retry.
 */

/** The event itself is wrong: retrying cannot help. Recorded REJECTED and sent to the DLQ. */
export class EventRejectedError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'EventRejectedError';
    this.code = code;
  }
}

/**
 * Not now, maybe later: throttling that outlasted the time budget, a group that does not
 * exist yet, the deletion cap, an unavailable audit store. `owedWaitMs` is how long the
 * caller should keep the event away before trying again (0 when no particular wait is owed).
 */
export class RetryableError extends Error {
  readonly code: string;
  readonly owedWaitMs: number;
  constructor(code: string, message: string, owedWaitMs = 0, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableError';
    this.code = code;
    this.owedWaitMs = owedWaitMs;
  }
}
