/**
 * Sends identity-change events the way producers do, with the real SDK clients: v1 documents as
 * SQS message bodies, EventBridge-shaped entries through PutEvents. Used by `npm start` against
 * the local pipeline and by `npm run send` against a deployed stack.
 *
 * Every answer is kept: a send refused by a queue or bus policy (AccessDenied on the call,
 * NotAuthorizedFor.../AccessDeniedException on a PutEvents entry) is reported as `refused`, apart
 * from other failures, so a run can count what the doors kept out.
 */
import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { PRINCIPAL_ARN_PATTERN } from '../lambdas/shared/producers';

/** A v1 document, an EventBridge event ({source, detail-type, detail}), or a raw body. */
export type ProducerEntry = Record<string, unknown> | string;

/**
 * A line of a file that says who sends it: `{"producer": NAME, "event": ENTRY}`, optionally with
 * `"principal": ARN` to sign as someone else through that producer's door (an impersonation
 * attempt, which the door's policy refuses).
 */
export interface AddressedEntry {
  producer: string;
  event: ProducerEntry;
  principal?: string;
}

export function isAddressedEntry(entry: ProducerEntry): entry is ProducerEntry & Record<string, unknown> {
  if (typeof entry !== 'object') return false;
  const keys = Object.keys(entry);
  return (
    typeof entry.producer === 'string' &&
    'event' in entry &&
    (typeof entry.event === 'string' || (typeof entry.event === 'object' && entry.event !== null)) &&
    (entry.principal === undefined || typeof entry.principal === 'string') &&
    keys.every((key) => key === 'producer' || key === 'event' || key === 'principal')
  );
}

/** The entry to send, without its address. */
export function payloadOf(entry: ProducerEntry): ProducerEntry {
  return isAddressedEntry(entry) ? (entry.event as ProducerEntry) : entry;
}

/** An events file that cannot be read or is not events (local/cli/event-file.ts reads them): the CLIs exit 2. */
export class EventsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventsFileError';
  }
}

export function isEventBridgeEntry(entry: ProducerEntry): boolean {
  return typeof entry === 'object' && ('detail-type' in entry || 'DetailType' in entry);
}

export interface SendTargets {
  sqs?: { client: SQSClient; queueUrl: string };
  eventBridge?: { client: EventBridgeClient; busName: string; defaultSource: string };
}

export interface SendReport {
  /** SQS MessageId by entry index, for entries sent to the queue. */
  messageIds: Record<number, string>;
  /** PutEvents EventId by entry index, for entries the bus accepted. */
  busEventIds: Record<number, string>;
  sentToQueue: number;
  sentToBus: number;
  /** Refused by a queue or bus policy: the door kept them out. */
  refused: { index: number; code: string; reason: string }[];
  /** Not sent for any other reason. */
  failed: { index: number; reason: string }[];
}

/** PutEvents entry codes of a bus policy's refusal. */
export const POLICY_REFUSAL_ENTRY_CODES = ['AccessDeniedException', 'NotAuthorizedForSourceException', 'NotAuthorizedForDetailTypeException'];

/** An SQS or EventBridge error that says a policy refused the whole call. */
export function isAccessDenied(error: unknown): error is Error {
  const name = (error as { name?: unknown; Code?: unknown } | undefined)?.name;
  return name === 'AccessDenied' || name === 'AccessDeniedException';
}

/**
 * Sends entries in file order, in batches of 10: EventBridge-shaped ones to the bus (or, with no
 * bus, their envelope to the queue), the rest to the queue (or, with no queue, wrapped as
 * EventBridge events with `defaultSource`).
 */
export async function sendEntries(entries: ProducerEntry[], targets: SendTargets, indexes?: number[]): Promise<SendReport> {
  const report: SendReport = { messageIds: {}, busEventIds: {}, sentToQueue: 0, sentToBus: 0, refused: [], failed: [] };
  // Consecutive entries for the same target go in batches of 10; file order is kept across targets.
  let run: { target: 'queue' | 'bus'; items: { index: number; entry: ProducerEntry }[] } | undefined;
  const flush = async () => {
    if (!run) return;
    if (run.target === 'queue') await sendToQueue(run.items, targets.sqs!, report);
    else await sendToBus(run.items, targets.eventBridge!, report);
    run = undefined;
  };
  for (const [position, entry] of entries.entries()) {
    // `indexes` maps positions back to the caller's numbering (a file sent through several doors).
    const index = indexes?.[position] ?? position;
    const viaBus = targets.eventBridge !== undefined && typeof entry === 'object' && (isEventBridgeEntry(entry) || !targets.sqs);
    const target = viaBus ? 'bus' : targets.sqs ? 'queue' : undefined;
    if (!target) {
      report.failed.push({ index, reason: 'a raw (non-JSON) body can only be sent to a queue' });
      continue;
    }
    if (run && (run.target !== target || run.items.length === 10)) await flush();
    run ??= { target, items: [] };
    run.items.push({ index, entry });
  }
  await flush();
  return report;
}

async function sendToQueue(items: { index: number; entry: ProducerEntry }[], sqs: NonNullable<SendTargets['sqs']>, report: SendReport) {
  let output;
  try {
    output = await sqs.client.send(
      new SendMessageBatchCommand({
        QueueUrl: sqs.queueUrl,
        Entries: items.map(({ index, entry }) => ({ Id: String(index), MessageBody: typeof entry === 'string' ? entry : JSON.stringify(entry) })),
      }),
    );
  } catch (error) {
    // SQS authorises a batch once, as sqs:SendMessage: refused, every entry of it is.
    if (!isAccessDenied(error)) throw error;
    for (const { index } of items) report.refused.push({ index, code: 'AccessDenied', reason: error.message });
    return;
  }
  for (const sent of output.Successful ?? []) {
    report.messageIds[Number(sent.Id)] = sent.MessageId!;
    report.sentToQueue++;
  }
  for (const failure of output.Failed ?? []) report.failed.push({ index: Number(failure.Id), reason: `${failure.Code}: ${failure.Message}` });
}

async function sendToBus(items: { index: number; entry: ProducerEntry }[], bus: NonNullable<SendTargets['eventBridge']>, report: SendReport) {
  let output;
  try {
    output = await bus.client.send(
      new PutEventsCommand({ Entries: items.map(({ entry }) => toPutEventsEntry(entry as Record<string, unknown>, bus)) }),
    );
  } catch (error) {
    if (!isAccessDenied(error)) throw error;
    for (const { index } of items) report.refused.push({ index, code: error.name, reason: error.message });
    return;
  }
  output.Entries?.forEach((result, position) => {
    const index = items[position].index;
    if (result.ErrorCode && POLICY_REFUSAL_ENTRY_CODES.includes(result.ErrorCode)) {
      report.refused.push({ index, code: result.ErrorCode, reason: result.ErrorMessage ?? result.ErrorCode });
    } else if (result.ErrorCode) report.failed.push({ index, reason: `${result.ErrorCode}: ${result.ErrorMessage}` });
    else {
      if (result.EventId) report.busEventIds[index] = result.EventId;
      report.sentToBus++;
    }
  });
}

function toPutEventsEntry(entry: Record<string, unknown>, bus: { busName: string; defaultSource: string }): PutEventsRequestEntry {
  if (isEventBridgeEntry(entry)) {
    const detail = entry.detail ?? entry.Detail;
    return {
      EventBusName: bus.busName,
      Source: String(entry.source ?? entry.Source ?? bus.defaultSource),
      DetailType: String(entry['detail-type'] ?? entry.DetailType),
      Detail: typeof detail === 'string' ? detail : JSON.stringify(detail),
    };
  }
  return { EventBusName: bus.busName, Source: bus.defaultSource, DetailType: String(entry.type), Detail: JSON.stringify(entry) };
}

const ENVELOPE_FIELDS = ['version', 'id', 'source', 'account', 'time', 'region', 'resources', 'detail-type', 'detail'];

/**
 * What a queue gets for an EventBridge entry: a complete envelope (say, copied from a DLQ) as it
 * is; a PutEvents-style {source, detail-type, detail} as its detail (the v1 event), which is what
 * a producer queue takes.
 */
export function forQueue(entry: ProducerEntry): ProducerEntry {
  if (typeof entry === 'string' || !isEventBridgeEntry(entry)) return entry;
  if (ENVELOPE_FIELDS.every((field) => field in entry)) return entry;
  const detail = entry.detail ?? entry.Detail;
  if (typeof detail === 'string') {
    try {
      return JSON.parse(detail) as Record<string, unknown>;
    } catch {
      return detail;
    }
  }
  return typeof detail === 'object' && detail !== null ? (detail as Record<string, unknown>) : entry;
}

/** One producer's door, with a client signed as the sender. */
export type Door =
  | { via: 'bus'; client: EventBridgeClient; busName: string; source: string }
  | { via: 'queue'; client: SQSClient; queueUrl: string };

/** One entry, with the producer it is sent as and the principal that signs it. */
export interface RoutedEntry {
  /** Position in the caller's list (a file's line order). */
  index: number;
  producer: string;
  principal: string;
  entry: ProducerEntry;
}

export interface ProducerSendReport extends SendReport {
  /** Who each entry was sent as, by index. */
  producerOf: Record<number, string>;
}

/**
 * Sends each entry through its producer's door, signed as its principal, in order: consecutive
 * entries for the same door and signer go in batches of 10. `doorFor` builds (or reuses) a door.
 */
export async function sendThroughDoors(
  routed: RoutedEntry[],
  doorFor: (producer: string, principal: string) => Door,
): Promise<ProducerSendReport> {
  const report: ProducerSendReport = { messageIds: {}, busEventIds: {}, sentToQueue: 0, sentToBus: 0, refused: [], failed: [], producerOf: {} };
  let run: { key: string; door: Door; items: RoutedEntry[] } | undefined;
  const flush = async () => {
    if (!run) return;
    const { door, items } = run;
    run = undefined;
    const targets: SendTargets =
      door.via === 'queue'
        ? { sqs: { client: door.client, queueUrl: door.queueUrl } }
        : { eventBridge: { client: door.client, busName: door.busName, defaultSource: door.source } };
    const entries = items.map((item) => (door.via === 'queue' ? forQueue(item.entry) : item.entry));
    const part = await sendEntries(entries, targets, items.map((item) => item.index));
    Object.assign(report.messageIds, part.messageIds);
    Object.assign(report.busEventIds, part.busEventIds);
    report.sentToQueue += part.sentToQueue;
    report.sentToBus += part.sentToBus;
    report.refused.push(...part.refused);
    report.failed.push(...part.failed);
  };
  for (const item of routed) {
    report.producerOf[item.index] = item.producer;
    const key = `${item.producer}\n${item.principal}`;
    if (run && (run.key !== key || run.items.length === 10)) await flush();
    run ??= { key, door: doorFor(item.producer, item.principal), items: [] };
    run.items.push(item);
  }
  await flush();
  return report;
}

/** What routing needs to know of each declared producer. */
export type DeclaredDoors = Readonly<Record<string, { via: 'bus' | 'queue'; source?: string; principals: readonly string[] }>>;

/**
 * Who sends each entry: the producer a line names (`{"producer", "event"}`), else `producer`
 * (npm run send --producer / npm start --producer), else for an EventBridge entry the bus
 * producer declared with its source, else `fallback`. The principal is the line's own, else the
 * producer's first declared principal. Entries that name an undeclared producer are returned in
 * `unroutable` with the reason.
 */
export function routeEntries(
  entries: ProducerEntry[],
  doors: DeclaredDoors,
  options: { producer?: string; fallback?: string },
): { routed: RoutedEntry[]; unroutable: { index: number; reason: string }[] } {
  const routed: RoutedEntry[] = [];
  const unroutable: { index: number; reason: string }[] = [];
  const declared = Object.keys(doors).sort().join(', ') || 'none';
  const bySource = new Map(Object.entries(doors).flatMap(([name, door]) => (door.source !== undefined ? [[door.source, name] as const] : [])));
  entries.forEach((entry, index) => {
    const addressed = isAddressedEntry(entry) ? (entry as unknown as AddressedEntry) : undefined;
    const payload = addressed ? addressed.event : entry;
    const ownSource = typeof payload === 'object' && isEventBridgeEntry(payload) ? (payload.source ?? payload.Source) : undefined;
    const producer =
      addressed?.producer ??
      options.producer ??
      (typeof ownSource === 'string' ? bySource.get(ownSource) : undefined) ??
      options.fallback;
    if (producer === undefined) {
      unroutable.push({ index, reason: 'names no producer: add --producer NAME, or write the line as {"producer": NAME, "event": ...}' });
      return;
    }
    const door = doors[producer];
    if (door === undefined) {
      unroutable.push({ index, reason: `producer "${producer}" is not declared (declared: ${declared})` });
      return;
    }
    const principal = addressed?.principal ?? door.principals[0];
    if (!PRINCIPAL_ARN_PATTERN.test(principal)) {
      unroutable.push({ index, reason: `principal: "${principal}" is not an IAM role or user ARN` });
      return;
    }
    routed.push({ index, producer, principal, entry: payload });
  });
  return { routed, unroutable };
}
