/**
 * What a local run did, read back from where an operator would look in AWS: final outcomes from
 * the audit trail, calls from the Identity Store's counters, throttles and waits from the
 * function's EMF metrics, and the DLQ's messages with their rejection reasons.
 */
import type { DynamoDbAuditQuery } from '../../lambdas/adapters/dynamodb-audit-query';
import { METRIC } from '../../lambdas/shared/telemetry';
import type { ProducerEntry, ProducerSendReport } from '../producer';
import { LOCAL_NAMES, type LocalPipeline } from './pipeline';

/** Where one entry of the file ended, by its event id: every entry gets exactly one. */
export type EntryFate =
  | 'applied'
  | 'noop'
  | 'superseded'
  | 'rejected'
  | 'failed'
  /** A delivery the function answered from its idempotency store (logged with the event id). */
  | 'duplicate'
  /** A queue or bus policy refused the send (SendMessage / PutEvents answer). */
  | 'refusedByPolicy'
  /** Accepted by the bus, matched by no rule (the local EventBridge reports it, with why). */
  | 'notMatched'
  /** Never sent: no producer for it, or the door answered an error other than a refusal. */
  | 'notSent'
  /** Sent, but no final outcome by the end of the run (still retrying, queued, or never delivered). */
  | 'pending';

export interface EntryAccount {
  /** Position in the file (0-based). */
  index: number;
  id: string;
  fate: EntryFate;
  /** Why, for the fates that need one (notMatched, notSent, pending, refusedByPolicy). */
  reason?: string;
}

/** The ids in each bucket that is not a plain success, for the JSON line and the report. */
export interface NonSuccessIds {
  refusedByPolicy: string[];
  notMatched: { id: string; reason: string }[];
  notSent: { id: string; reason: string }[];
  rejected: string[];
  failed: string[];
  duplicates: string[];
  pending: { id: string; reason: string }[];
}

export interface RunSummary {
  /** Entries of the file; every one is counted in exactly one of the buckets below. */
  events: number;
  /** Sends a queue or bus policy refused (from the SendMessage / PutEvents answers). */
  refusedByPolicy: number;
  /** The same, by the producer whose door they tried. */
  refusedByPolicyByProducer: Record<string, number>;
  /** Accepted by the bus, but no rule took them (source or detail-type not accepted). */
  notMatched: number;
  /** Never sent (unroutable, or an error answer that is not a policy refusal). */
  notSent: number;
  applied: number;
  noop: number;
  superseded: number;
  rejected: number;
  failed: number;
  /** Deliveries the function answered from its idempotency store (each seen in its log, by id). */
  duplicates: number;
  /** Sent, but no final outcome by the end: still retrying, still queued, or never delivered. */
  pending: number;
  /** The ids in each non-success bucket. */
  ids: NonSuccessIds;
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
const FATE_OF_OUTCOME: Record<(typeof FINAL)[number], EntryFate> = {
  APPLIED: 'applied',
  NOOP: 'noop',
  SUPERSEDED: 'superseded',
  REJECTED: 'rejected',
  FAILED: 'failed',
};

/** The event id a message carries, as the consumer reads it (bare document or EventBridge detail). */
export function eventIdOf(entry: ProducerEntry): string | undefined {
  if (typeof entry !== 'object') return undefined;
  const document = (entry.detail ?? entry.Detail ?? entry) as { id?: unknown };
  return typeof document.id === 'string' ? document.id : undefined;
}

/** Everything known, per id, at the end of a run: what accountEntries decides from. */
export interface RunFacts {
  /** What was sent, by index (without the line's producer address). */
  entries: ProducerEntry[];
  sent: Pick<ProducerSendReport, 'messageIds' | 'busEventIds' | 'refused' | 'failed'>;
  /** Events the bus accepted and no rule matched (by PutEvents EventId), with why. */
  unmatched: { eventId: string; reason: string }[];
  /** Events a rule matched but could not put on its queue (by PutEvents EventId). */
  deliveryFailures: { eventId: string; queueName: string; error: string }[];
  /** Outcomes recorded in this run, by event id, oldest first (APPLIED, RETRYING, ...). */
  outcomesById: ReadonlyMap<string, readonly string[]>;
  /** One event id per delivery the function answered from its idempotency store. */
  duplicateDeliveries: readonly string[];
  /** Messages still on a source queue at the end, by event id (how they stand). */
  queued?: ReadonlyMap<string, string>;
}

/** The id an entry is known by: its event id, else the SQS message it became, else its line. */
export function entryIdOf(entry: ProducerEntry, index: number, messageIds: Record<number, string>): string {
  return eventIdOf(entry) ?? (messageIds[index] !== undefined ? `message:${messageIds[index]}` : `entry #${index + 1}`);
}

/**
 * Exactly one fate per entry, each from a fact about that entry or its id, never a residue:
 * the door's answer (refused, not sent), the bus (not matched, not delivered), then per id the
 * final outcomes recorded in this run (one entry each, in file order), the duplicate answers the
 * function logged (one entry each), and whatever is left is pending, with what is known of it.
 */
export function accountEntries(facts: RunFacts): EntryAccount[] {
  const refused = new Map(facts.sent.refused.map((r) => [r.index, r]));
  const failed = new Map(facts.sent.failed.map((f) => [f.index, f]));
  const unmatched = new Map(facts.unmatched.map((u) => [u.eventId, u.reason]));
  const undelivered = new Map(facts.deliveryFailures.map((d) => [d.eventId, `the rule could not put it on ${d.queueName}: ${d.error}`]));
  const accounts: EntryAccount[] = [];
  const delivered = new Map<string, EntryAccount[]>();
  facts.entries.forEach((entry, index) => {
    const id = entryIdOf(entry, index, facts.sent.messageIds);
    const busEventId = facts.sent.busEventIds[index];
    const account: EntryAccount = { index, id, fate: 'pending' };
    accounts.push(account);
    if (refused.has(index)) {
      account.fate = 'refusedByPolicy';
      account.reason = refused.get(index)!.code;
    } else if (failed.has(index)) {
      account.fate = 'notSent';
      account.reason = failed.get(index)!.reason;
    } else if (busEventId !== undefined && unmatched.has(busEventId)) {
      account.fate = 'notMatched';
      account.reason = unmatched.get(busEventId)!;
    } else if (busEventId !== undefined && undelivered.has(busEventId)) {
      account.reason = undelivered.get(busEventId)!;
    } else {
      delivered.set(id, [...(delivered.get(id) ?? []), account]);
    }
  });
  const duplicatesLeft = new Map<string, number>();
  for (const id of facts.duplicateDeliveries) duplicatesLeft.set(id, (duplicatesLeft.get(id) ?? 0) + 1);
  for (const [id, group] of delivered) {
    const outcomes = facts.outcomesById.get(id) ?? [];
    const finals = outcomes.filter((o): o is (typeof FINAL)[number] => (FINAL as readonly string[]).includes(o));
    const retrying = outcomes.length > 0 && !(FINAL as readonly string[]).includes(outcomes.at(-1)!);
    let retryingLeft = retrying ? 1 : 0;
    for (const account of group) {
      const final = finals.shift();
      if (final !== undefined) {
        account.fate = FATE_OF_OUTCOME[final];
      } else if (retryingLeft > 0) {
        retryingLeft--;
        account.reason = `still retrying when the run ended (last outcome ${outcomes.at(-1)})`;
      } else if ((duplicatesLeft.get(id) ?? 0) > 0) {
        duplicatesLeft.set(id, duplicatesLeft.get(id)! - 1);
        account.fate = 'duplicate';
      } else {
        const queued = facts.queued?.get(id);
        account.reason = queued ? `still queued: ${queued}` : 'never delivered: no outcome recorded and no duplicate answer logged';
      }
    }
  }
  return accounts;
}

/** The counts and the non-success ids, from the entries' fates. */
export function tallyEntries(accounts: readonly EntryAccount[]) {
  const count = (fate: EntryFate) => accounts.filter((a) => a.fate === fate).length;
  const ids = (fate: EntryFate) => accounts.filter((a) => a.fate === fate).map((a) => a.id);
  const withReasons = (fate: EntryFate) => accounts.filter((a) => a.fate === fate).map((a) => ({ id: a.id, reason: a.reason ?? '' }));
  return {
    events: accounts.length,
    refusedByPolicy: count('refusedByPolicy'),
    notMatched: count('notMatched'),
    notSent: count('notSent'),
    applied: count('applied'),
    noop: count('noop'),
    superseded: count('superseded'),
    rejected: count('rejected'),
    failed: count('failed'),
    duplicates: count('duplicate'),
    pending: count('pending'),
    ids: {
      refusedByPolicy: ids('refusedByPolicy'),
      notMatched: withReasons('notMatched'),
      notSent: withReasons('notSent'),
      rejected: ids('rejected'),
      failed: ids('failed'),
      duplicates: ids('duplicate'),
      pending: withReasons('pending'),
    } satisfies NonSuccessIds,
  };
}

/**
 * 0 when every entry reached a final outcome that is not FAILED (a duplicate, refused at the
 * door and REJECTED count as final); 1 when any is pending, FAILED, not matched by the rule or
 * not sent; with `failOnReject`, REJECTED and refused by policy make it 1 too.
 */
export function exitCodeOf(
  summary: Pick<RunSummary, 'pending' | 'failed' | 'notMatched' | 'notSent' | 'rejected' | 'refusedByPolicy'>,
  options: { failOnReject?: boolean } = {},
): 0 | 1 {
  if (summary.pending + summary.failed + summary.notMatched + summary.notSent > 0) return 1;
  if (options.failOnReject && summary.rejected + summary.refusedByPolicy > 0) return 1;
  return 0;
}

export async function summarizeRun(input: {
  pipeline: LocalPipeline;
  query: DynamoDbAuditQuery;
  /** What was sent, by index (without the line's producer address). */
  entries: ProducerEntry[];
  /** The send's answers: MessageIds (events without a readable id are recorded as message:<id>), EventIds, refusals, failures. */
  sent: Pick<ProducerSendReport, 'messageIds' | 'busEventIds' | 'refused' | 'failed' | 'producerOf'>;
  startedAt: Date;
  /** Calls made by the simulated other caller, to leave out of ours. */
  neighbourCalls: { action: string; count: number };
}): Promise<RunSummary> {
  const { pipeline, query, entries, startedAt } = input;
  const notAccepted = new Set([...input.sent.refused, ...input.sent.failed].map((r) => r.index));
  const outcomesById = new Map<string, string[]>();
  for (const [index, entry] of entries.entries()) {
    if (notAccepted.has(index)) continue;
    const id = entryIdOf(entry, index, input.sent.messageIds);
    if (outcomesById.has(id)) continue;
    const { records } = await query.eventHistory(id);
    outcomesById.set(
      id,
      records.flatMap((r) => (r.kind === 'OUTCOME' && new Date(r.at) >= startedAt ? [r.outcome] : [])),
    );
  }
  const queued = new Map<string, string>();
  for (const queue of pipeline.sourceQueues) {
    for (const message of pipeline.sqs.queue(queue).messages) {
      const id = eventIdOfBody(message.body) ?? `message:${message.messageId}`;
      queued.set(id, `on ${queue} (${message.state}, received ${message.receiveCount} times)`);
    }
  }
  const accounts = accountEntries({
    entries,
    sent: input.sent,
    unmatched: pipeline.eventBridge.unmatched(),
    deliveryFailures: pipeline.eventBridge.deliveryFailures(),
    outcomesById,
    duplicateDeliveries: pipeline.function.duplicateDeliveries,
    queued,
  });
  const tally = tallyEntries(accounts);

  const deadLetterQueue = pipeline.sqs.queue(LOCAL_NAMES.deadLetterQueue);
  // A message moved by redrive has no rejection attributes: it failed on every delivery.
  const deadLetters = deadLetterQueue.messages.map((m) => ({
    eventId: m.messageAttributes.eventId?.StringValue ?? eventIdOfBody(m.body) ?? `message:${m.messageId}`,
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
    events: tally.events,
    refusedByPolicy: tally.refusedByPolicy,
    refusedByPolicyByProducer: Object.fromEntries(Object.entries(refusedByPolicyByProducer).sort(([a], [b]) => a.localeCompare(b))),
    notMatched: tally.notMatched,
    notSent: tally.notSent,
    applied: tally.applied,
    noop: tally.noop,
    superseded: tally.superseded,
    rejected: tally.rejected,
    failed: tally.failed,
    duplicates: tally.duplicates,
    pending: tally.pending,
    ids: tally.ids,
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

/** The event id a queue message's body carries (bare or in an envelope), if it is readable. */
export function eventIdOfBody(body: string): string | undefined {
  return eventIdOf(readJson(body));
}

function readJson(body: string): ProducerEntry {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : body;
  } catch {
    return body;
  }
}

/** A plain-text report for people; the JSON line after it is for machines. */
export function renderSummary(summary: RunSummary, extra: { neighbourCalls: number; logFile: string }): string {
  const rows = (pairs: [string, string | number][]) => {
    const width = Math.max(...pairs.map(([k]) => k.length));
    return pairs.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
  };
  const failedIds = new Set(summary.ids.failed);
  const inDeadLetterQueue = new Set(summary.deadLetters.map((d) => d.eventId));
  const withReasons = (title: string, items: { id: string; reason: string }[]) =>
    items.length === 0 ? [] : ['', title, ...items.map(({ id, reason }) => `  ${id}  ${reason}`)];
  const lines = [
    '',
    'Events by outcome (each entry of the file counted once, by its id)',
    rows([
      ['events in the file', summary.events],
      ['refused by policy (at the door)', summary.refusedByPolicy],
      ...(summary.notMatched ? ([['not matched by the bus rule', summary.notMatched]] as [string, number][]) : []),
      ...(summary.notSent ? ([['not sent', summary.notSent]] as [string, number][]) : []),
      ['applied', summary.applied],
      ['no change needed', summary.noop],
      ['superseded (arrived late)', summary.superseded],
      ['rejected (to the DLQ)', summary.rejected],
      ['failed (to the DLQ)', summary.failed],
      ['duplicates (idempotency answered)', summary.duplicates],
      ['no final outcome (pending)', summary.pending],
    ]),
    ...(summary.refusedByPolicy > 0
      ? ['', 'Refused by policy, by producer door', rows(Object.entries(summary.refusedByPolicyByProducer))]
      : []),
    ...(summary.duplicates > 0 ? ['', `Duplicates, answered from the idempotency store (${summary.duplicates})`, wrapIds(summary.ids.duplicates)] : []),
    ...withReasons(`Not matched by the bus rule, dropped by EventBridge (${summary.notMatched})`, summary.ids.notMatched),
    ...withReasons(`Not sent (${summary.notSent})`, summary.ids.notSent),
    ...withReasons(`No final outcome by the end of the run (${summary.pending})`, summary.ids.pending),
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
    ...summary.deadLetters.map((d) => `  ${d.eventId}  ${failedIds.has(d.eventId) ? `FAILED ${d.code}` : d.code}\n    ${d.reason}`),
    ...summary.ids.failed.filter((id) => !inDeadLetterQueue.has(id)).map((id) => `  ${id}  FAILED (not found in the DLQ)`),
    '',
    `Elapsed ${(summary.elapsedMs / 1000).toFixed(1)} s, ${summary.coldStarts} function cold starts; function logs: ${extra.logFile}`,
  ];
  return lines.join('\n');
}

/** Ids on lines of at most 100 characters, indented. */
function wrapIds(ids: readonly string[]): string {
  const lines: string[] = [];
  let line = '';
  for (const id of ids) {
    if (line && line.length + id.length + 2 > 98) {
      lines.push(`  ${line},`);
      line = '';
    }
    line = line ? `${line}, ${id}` : id;
  }
  if (line) lines.push(`  ${line}`);
  return lines.join('\n');
}
