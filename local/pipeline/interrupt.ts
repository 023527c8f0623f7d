/**
 * Ctrl-C (SIGINT) and SIGTERM for `npm start`: the first one asks the run to stop cleanly (stop
 * sending, let in-flight invocations finish for a few seconds, stop the servers, report, exit 130);
 * later ones are acknowledged and change nothing, so a second Ctrl-C cannot leave half-stopped
 * servers behind. The function's worker processes ignore SIGINT (a terminal sends it to the whole
 * process group): the run decides when they stop.
 */
import { DynamoDbAuditQuery } from '../../lambdas/adapters/dynamodb-audit-query';
import { localDynamoDbClient } from '../dynalite';
import type { ProducerEntry } from '../producer';
import { LOCAL_NAMES, type LocalPipeline } from './pipeline';

export const INTERRUPTED_EXIT_CODE = 130;
/**
 * How long in-flight invocations get to finish after Ctrl-C (5 s; the tests set
 * IDENTITY_PROVISIONER_INTERRUPT_GRACE_MS=0 to stop them unfinished, the case the next run must clear).
 */
export const INTERRUPT_GRACE_MS = graceFromEnvironment(process.env.IDENTITY_PROVISIONER_INTERRUPT_GRACE_MS);

function graceFromEnvironment(raw: string | undefined): number {
  const value = Number(raw);
  return raw !== undefined && raw !== '' && Number.isFinite(value) && value >= 0 ? value : 5000;
}
const FINAL = ['APPLIED', 'NOOP', 'SUPERSEDED', 'REJECTED', 'FAILED'] as const;

export interface InterruptWatch {
  /** Whether a stop was asked for. */
  readonly requested: boolean;
  /** The signal that asked. */
  readonly signal: NodeJS.Signals | undefined;
  /** Settles when a stop is asked for. */
  readonly promise: Promise<NodeJS.Signals>;
  dispose(): void;
}

export function watchForInterrupt(onSignal: (signal: NodeJS.Signals, first: boolean) => void): InterruptWatch {
  let signal: NodeJS.Signals | undefined;
  let resolve!: (signal: NodeJS.Signals) => void;
  const promise = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const handler = (received: NodeJS.Signals) => {
    const first = signal === undefined;
    signal ??= received;
    onSignal(received, first);
    if (first) resolve(received);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    get requested() {
      return signal !== undefined;
    },
    get signal() {
      return signal;
    },
    promise,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/**
 * Stops taking messages and waits up to `graceMs` for the invocations in flight; past that, the
 * function's instances are stopped (their invocations end unfinished: what they leave in progress
 * is cleared by the next run, local/pipeline/leftovers.ts). Returns how many were still running.
 */
export async function drainInvocations(pipeline: Pick<LocalPipeline, 'mappings' | 'function' | 'inFlightInvocations'>, graceMs: number): Promise<number> {
  const stopped = Promise.all(pipeline.mappings.map((mapping) => mapping.stop()));
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    stopped.then(() => true),
    new Promise<false>((r) => {
      timer = setTimeout(() => r(false), graceMs);
    }),
  ]);
  clearTimeout(timer);
  if (finished) return 0;
  const unfinished = pipeline.inFlightInvocations();
  await pipeline.function.stop();
  await stopped.catch(() => undefined);
  return unfinished;
}

/**
 * Sends in slices of `slice` entries, stopping between slices once `stopWhen()` is true; the
 * entries left out are returned in `unsent` (by index). The reports of the slices are merged.
 */
export async function sendUntil<Entry extends { index: number }, Report extends object>(
  routed: Entry[],
  send: (slice: Entry[]) => Promise<Report>,
  stopWhen: () => boolean,
  slice = 20,
): Promise<Report & { unsent: number[] }> {
  let merged: Report | undefined;
  let position = 0;
  while (position < routed.length && !stopWhen()) {
    const part = await send(routed.slice(position, position + slice));
    merged = merged === undefined ? part : mergeReports(merged, part);
    position += slice;
  }
  merged ??= await send([]);
  return { ...merged, unsent: routed.slice(position).map((entry) => entry.index) };
}

/** Numbers add up, lists concatenate, maps merge: what every send report is made of. */
function mergeReports<Report extends object>(a: Report, b: Report): Report {
  const out = { ...a } as Record<string, unknown>;
  for (const [key, value] of Object.entries(b)) {
    const before = out[key];
    if (typeof value === 'number' && typeof before === 'number') out[key] = before + value;
    else if (Array.isArray(value) && Array.isArray(before)) out[key] = [...before, ...value];
    else if (value !== null && typeof value === 'object' && before !== null && typeof before === 'object') out[key] = { ...before, ...value };
    else out[key] = value;
  }
  return out as Report;
}

/** The event id an entry carries (bare v1 document or EventBridge detail). */
function eventIdOf(entry: ProducerEntry): string | undefined {
  if (typeof entry !== 'object') return undefined;
  const document = (entry.detail ?? entry.Detail ?? entry) as { id?: unknown };
  return typeof document.id === 'string' ? document.id : undefined;
}

/**
 * After Ctrl-C, once sending stopped: lets the invocations in flight finish (or gives up after the
 * grace period), reads what reached a final outcome in this run from the audit trail, and prints
 * what was done and what was not. The caller stops the servers (removing endpoints.json) and
 * exits with INTERRUPTED_EXIT_CODE.
 */
export async function stopInterrupted(input: {
  pipeline: LocalPipeline;
  signal: NodeJS.Signals;
  /** The file's entries, without their producer address. */
  entries: ProducerEntry[];
  sent: { sentToQueue: number; sentToBus: number; refused: { index: number }[]; failed: { index: number }[]; unsent: number[] };
  startedAt: Date;
  graceMs?: number;
  write?: (text: string) => void;
}): Promise<number> {
  const { pipeline, sent } = input;
  const write = input.write ?? ((text: string) => process.stdout.write(text));
  const queuedAtStop = pipeline.pendingMessages();
  const unfinished = await drainInvocations(pipeline, input.graceMs ?? INTERRUPT_GRACE_MS);
  const leftOnQueues = pipeline.pendingMessages();

  const notSent = new Set([...sent.unsent, ...sent.refused.map((r) => r.index), ...sent.failed.map((r) => r.index)]);
  const ids = [...new Set(input.entries.flatMap((entry, index) => (notSent.has(index) ? [] : [eventIdOf(entry)].filter((id): id is string => id !== undefined))))];
  const outcomes: Record<string, number> = {};
  const client = localDynamoDbClient(pipeline.dynamodbEndpoint);
  try {
    const query = new DynamoDbAuditQuery({ client, tableName: LOCAL_NAMES.tables.audit });
    for (const id of ids) {
      const { records } = await query.eventHistory(id);
      const last = records.filter((r) => r.kind === 'OUTCOME' && new Date(r.at) >= input.startedAt).at(-1);
      if (last?.kind === 'OUTCOME' && (FINAL as readonly string[]).includes(last.outcome)) outcomes[last.outcome] = (outcomes[last.outcome] ?? 0) + 1;
    }
  } finally {
    client.destroy();
  }
  const final = Object.values(outcomes).reduce((a, b) => a + b, 0);
  const report = {
    interrupted: input.signal,
    events: input.entries.length,
    sent: sent.sentToQueue + sent.sentToBus,
    refusedByPolicy: sent.refused.length,
    notSent: sent.unsent.length,
    finalOutcomes: final,
    outcomes,
    queuedAtStop,
    unfinishedInvocations: unfinished,
    leftOnQueues,
  };
  const outcomeList = FINAL.filter((o) => outcomes[o]).map((o) => `${o} ${outcomes[o]}`).join(', ');
  write(
    [
      '',
      `Interrupted (${input.signal}): stopped cleanly.`,
      `  events in the file                 ${report.events}`,
      `  sent                               ${report.sent}${report.refusedByPolicy ? ` (and ${report.refusedByPolicy} refused at the door)` : ''}`,
      `  not sent yet                       ${report.notSent}`,
      `  final outcome in this run          ${final}${outcomeList ? ` (${outcomeList})` : ''}`,
      `  on the queues when stopped         ${queuedAtStop}${unfinished ? `; ${unfinished} invocation(s) stopped unfinished` : ''}`,
      '',
      'The local queues are not kept. Run the same command again to resume: the file is sent again,',
      'events already done are answered as duplicates, and anything left in progress is cleared first.',
      '',
      JSON.stringify(report),
      '',
    ].join('\n'),
  );
  return INTERRUPTED_EXIT_CODE;
}
