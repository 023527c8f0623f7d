/**
 * Sends identity-change events the way producers do, with the real SDK clients: v1 documents as
 * SQS message bodies, EventBridge-shaped entries through PutEvents. Used by `npm start` against
 * the local pipeline and by `npm run send` against a deployed stack.
 */
import { readFileSync } from 'node:fs';
import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** A v1 document, an EventBridge event ({source, detail-type, detail}), or a raw body. */
export type ProducerEntry = Record<string, unknown> | string;

export class EventsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventsFileError';
  }
}

/**
 * A JSON array, or JSON lines. In JSON lines, a line that is not JSON is kept as a raw body:
 * that is how a file can show what the pipeline does with a malformed message.
 */
export function readEventsFile(path: string): ProducerEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new EventsFileError(`cannot read ${path}: ${(error as Error).message}`);
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new EventsFileError(`${path} looks like a JSON array but does not parse: ${(error as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new EventsFileError(`${path}: expected a JSON array of events`);
    return parsed as ProducerEntry[];
  }
  return trimmed
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('//'))
    .map((line) => {
      try {
        const value: unknown = JSON.parse(line);
        return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : line;
      } catch {
        return line;
      }
    });
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
  sentToQueue: number;
  sentToBus: number;
  failed: { index: number; reason: string }[];
}

/**
 * Sends entries in file order, in batches of 10: EventBridge-shaped ones to the bus (or, with no
 * bus, their envelope to the queue), the rest to the queue (or, with no queue, wrapped as
 * EventBridge events with `defaultSource`).
 */
export async function sendEntries(entries: ProducerEntry[], targets: SendTargets): Promise<SendReport> {
  const report: SendReport = { messageIds: {}, sentToQueue: 0, sentToBus: 0, failed: [] };
  // Consecutive entries for the same target go in batches of 10; file order is kept across targets.
  let run: { target: 'queue' | 'bus'; items: { index: number; entry: ProducerEntry }[] } | undefined;
  const flush = async () => {
    if (!run) return;
    if (run.target === 'queue') await sendToQueue(run.items, targets.sqs!, report);
    else await sendToBus(run.items, targets.eventBridge!, report);
    run = undefined;
  };
  for (const [index, entry] of entries.entries()) {
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
  const output = await sqs.client.send(
    new SendMessageBatchCommand({
      QueueUrl: sqs.queueUrl,
      Entries: items.map(({ index, entry }) => ({ Id: String(index), MessageBody: typeof entry === 'string' ? entry : JSON.stringify(entry) })),
    }),
  );
  for (const sent of output.Successful ?? []) {
    report.messageIds[Number(sent.Id)] = sent.MessageId!;
    report.sentToQueue++;
  }
  for (const failure of output.Failed ?? []) report.failed.push({ index: Number(failure.Id), reason: `${failure.Code}: ${failure.Message}` });
}

async function sendToBus(items: { index: number; entry: ProducerEntry }[], bus: NonNullable<SendTargets['eventBridge']>, report: SendReport) {
  const output = await bus.client.send(
    new PutEventsCommand({ Entries: items.map(({ entry }) => toPutEventsEntry(entry as Record<string, unknown>, bus)) }),
  );
  output.Entries?.forEach((result, position) => {
    if (result.ErrorCode) report.failed.push({ index: items[position].index, reason: `${result.ErrorCode}: ${result.ErrorMessage}` });
    else report.sentToBus++;
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
