/**
 * Names shared by the runtime (Powertools Metrics/Logger) and the infrastructure (alarms in lib/),
 * so an alarm can never watch a metric the function does not emit.
 */
export const SERVICE_NAME = 'identity-provisioner';
export const METRICS_NAMESPACE = 'IdentityProvisioner';

/** The source of the outcome events this service publishes (never accepted as input). */
export const OUTCOME_EVENT_SOURCE = 'identity-provisioner';
export const OUTCOME_DETAIL_TYPES = {
  applied: 'identity.change.applied',
  rejected: 'identity.change.rejected',
  failed: 'identity.change.failed',
} as const;

/** Published (same source) when a drift run finds the managed scope departing from what was applied. */
export const DRIFT_DETAIL_TYPE = 'identity.drift.detected';

/** Log messages other tools read: the local run counts a real duplicate by this line and its eventId. */
export const LOG_MESSAGE = {
  duplicate: 'duplicate delivery answered from the idempotency store',
} as const;

/** EMF metrics, all with the `service` dimension. */
export const METRIC = {
  applied: 'EventsApplied',
  noop: 'EventsNoop',
  superseded: 'EventsSuperseded',
  rejected: 'EventsRejected',
  failed: 'EventsFailed',
  retrying: 'EventsRetrying',
  /** A delivery of an event already handled, answered from the idempotency store. */
  duplicates: 'EventsDuplicate',
  /** Events refused because of who sent them (PRODUCER_NOT_ALLOWED, PRODUCER_UNKNOWN). */
  producerRefused: 'EventsProducerRefused',
  /** Outcomes recorded whose outcome event (identity.change.*) could not be published. */
  outcomeEventsNotPublished: 'OutcomeEventsNotPublished',
  identityStoreCalls: 'IdentityStoreCalls',
  throttledCalls: 'ThrottledCalls',
  retryAfterWaitSeconds: 'RetryAfterWaitSeconds',
  /** The shared quota's ledger (state table) could not be reached: the instance paced itself at its static share. */
  quotaLedgerErrors: 'QuotaLedgerErrors',
  /** Findings of the last drift run (0 when none): the drift alarm watches it. */
  driftFindings: 'DriftFindings',
  /** Audit digests a digester run wrote (0 included): the staleness alarm watches its sum. */
  digestsWritten: 'DigestsWritten',
} as const;
