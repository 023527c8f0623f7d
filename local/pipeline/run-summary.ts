/**
 * What a local run did, read back from where an operator would look in AWS: final outcomes from
 * the audit trail, calls from the Identity Store's counters, throttles and waits from the
 * function's EMF metrics, and the DLQ's messages with their rejection reasons.
 */
import type { DynamoDbAuditQuery } from '../../lambdas/adapters/dynamodb-audit-query';
import { METRIC } from '../../lambdas/shared/telemetry';
import type { ProducerEntry, ProducerSendReport } from '../producer';
import { LOCAL_NAMES, type LocalPipeline } from './pipeline';

export interface RunSummary {
  /** Entries of the file (sent, refused by policy, or not sent). */
  events: number;
  /** Sends a queue or bus policy refused (from the SendMessage / PutEvents answers). */
  refusedByPolicy: number;
  /** The same, by the producer whose door they tried. */
  refusedByPolicyByProducer: Record<string, number>;
  applied: number;
  noop: number;
  superseded: number;
  rejected: number;
  failed: number;
  /** Accepted messages whose event had already been handled (same id): answered by idempotency. */
  duplicates: number;
  /** Events with no final outcome (still retrying when the run ended). */
  pending: number;
  dlq: number;
  apiCalls: number;
  apiCallsByAction: Record<string, number>;
  throttled: number;
  retryAfterWaitSeconds: number;
  coldStarts: number;
  elapsedMs: number;
  deadLetters: { eventId: string; code: string; reason: string }[];
}

const FINAL = ['APPLIED', 'NOOP', 'SUPERSEDED', 'REJECTED', 'FAILED'] as const;

/** The event id a message carries, as the consumer reads it (bare document or EventBridge detail). */
export function eventIdOf(entry: ProducerEntry): string | undefined {
  if (typeof entry !== 'object') return undefined;
  const document = (entry.detail ?? entry.Detail ?? entry) as { id?: unknown };
  return typeof document.id === 'string' ? document.id : undefined;
}

export async function summarizeRun(input: {
  pipeline: LocalPipeline;
  query: DynamoDbAuditQuery;
  /** What was sent, by index (without the line's producer address). */
  entries: ProducerEntry[];
  /** The send's answers: MessageIds (events without a readable id are recorded as message:<id>), refusals, failures. */
  sent: Pick<ProducerSendReport, 'messageIds' | 'refused' | 'failed' | 'producerOf'>;
  startedAt: Date;
  /** Calls made by the simulated other caller, to leave out of ours. */
  neighbourCalls: { action: string; count: number };
}): Promise<RunSummary> {
  const { pipeline, query, entries, startedAt } = input;
  const counts = { APPLIED: 0, NOOP: 0, SUPERSEDED: 0, REJECTED: 0, FAILED: 0 };
  // Only what the doors took can have an outcome: refusals and failures are counted apart.
  const notAccepted = new Set([...input.sent.refused, ...input.sent.failed].map((r) => r.index));
  const accepted = entries.flatMap((entry, index) => (notAccepted.has(index) ? [] : [{ entry, index }]));
  const ids = accepted.map(({ entry, index }) => eventIdOf(entry) ?? (input.sent.messageIds[index] && `message:${input.sent.messageIds[index]}`));
  const distinct = [...new Set(ids.filter((id): id is string => typeof id === 'string'))];
  let pending = 0;
  let withOutcome = 0;
  for (const eventId of distinct) {
    const { records } = await query.eventHistory(eventId);
    const outcomes = records.filter((r) => r.kind === 'OUTCOME' && new Date(r.at) >= startedAt);
    const last = outcomes.at(-1);
    if (!last) continue; // answered by idempotency: already handled in an earlier run
    withOutcome++;
    if (last.kind === 'OUTCOME' && (FINAL as readonly string[]).includes(last.outcome)) counts[last.outcome as (typeof FINAL)[number]]++;
    else pending++;
  }

  const deadLetterQueue = pipeline.sqs.queue(LOCAL_NAMES.deadLetterQueue);
  // A message moved by redrive has no rejection attributes: it failed on every delivery.
  const deadLetters = deadLetterQueue.messages.map((m) => ({
    eventId: m.messageAttributes.eventId?.StringValue ?? '(unknown)',
    code: m.messageAttributes.rejectionCode?.StringValue ?? 'MAX_RECEIVES',
    reason: m.messageAttributes.rejectionReason?.StringValue ?? 'failed on every delivery the queue allows',
  }));

  const apiCallsByAction: Record<string, number> = {};
  if (pipeline.emulator) {
    for (const [action, count] of Object.entries(pipeline.emulator.stats().callsByAction)) {
      const ours = count - (action === input.neighbourCalls.action ? input.neighbourCalls.count : 0);
      if (ours > 0) apiCallsByAction[action] = ours;
    }
  }
  const refusedByPolicyByProducer: Record<string, number> = {};
  for (const { index } of input.sent.refused) {
    const producer = input.sent.producerOf[index] ?? '(none)';
    refusedByPolicyByProducer[producer] = (refusedByPolicyByProducer[producer] ?? 0) + 1;
  }
  const metric = (name: string) => pipeline.function.metrics.get(name) ?? 0;
  return {
    events: entries.length,
    refusedByPolicy: input.sent.refused.length,
    refusedByPolicyByProducer: Object.fromEntries(Object.entries(refusedByPolicyByProducer).sort(([a], [b]) => a.localeCompare(b))),
    applied: counts.APPLIED,
    noop: counts.NOOP,
    superseded: counts.SUPERSEDED,
    rejected: counts.REJECTED,
    failed: counts.FAILED,
    duplicates: accepted.length - withOutcome,
    pending,
    dlq: deadLetters.length,
    apiCalls: metric(METRIC.identityStoreCalls),
    apiCallsByAction,
    throttled: metric(METRIC.throttledCalls),
    retryAfterWaitSeconds: Math.round(metric(METRIC.retryAfterWaitSeconds) * 10) / 10,
    coldStarts: pipeline.function.coldStarts,
    elapsedMs: Date.now() - startedAt.getTime(),
    deadLetters,
  };
}

/** A plain-text report for people; the JSON line after it is for machines. */
export function renderSummary(summary: RunSummary, extra: { neighbourCalls: number; logFile: string }): string {
  const rows = (pairs: [string, string | number][]) => {
    const width = Math.max(...pairs.map(([k]) => k.length));
    return pairs.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
  };
  const lines = [
    '',
    'Events by outcome',
    rows([
      ['events in the file', summary.events],
      ['refused by policy (at the door)', summary.refusedByPolicy],
      ['applied', summary.applied],
      ['no change needed', summary.noop],
      ['superseded (arrived late)', summary.superseded],
      ['rejected (to the DLQ)', summary.rejected],
      ['failed', summary.failed],
      ['duplicates (same id)', summary.duplicates],
      ...(summary.pending ? ([['still retrying', summary.pending]] as [string, number][]) : []),
    ]),
    ...(summary.refusedByPolicy > 0
      ? ['', 'Refused by policy, by producer door', rows(Object.entries(summary.refusedByPolicyByProducer))]
      : []),
    '',
    'Identity Store calls by action',
    rows(Object.entries(summary.apiCallsByAction).sort(([a], [b]) => a.localeCompare(b))),
    rows([
      ['total', summary.apiCalls],
      ['throttled and retried', summary.throttled],
      ['seconds waited on RetryAfterSeconds', summary.retryAfterWaitSeconds],
      ...(extra.neighbourCalls ? ([['calls by the other caller (simulated)', extra.neighbourCalls]] as [string, number][]) : []),
    ]),
    '',
    `Dead-letter queue (${summary.dlq})`,
    ...summary.deadLetters.map((d) => `  ${d.eventId}  ${d.code}\n    ${d.reason}`),
    '',
    `Elapsed ${(summary.elapsedMs / 1000).toFixed(1)} s, ${summary.coldStarts} function cold starts; function logs: ${extra.logFile}`,
  ];
  return lines.join('\n');
}
