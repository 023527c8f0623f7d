/**
 * One soak run: the Identity Store emulator with seeded faults, dynalite on disk that goes away
 * for a while mid-run, and the local pipeline running the real consumer; a generated workload
 * sent through the producers' doors (bare documents to the full-grant producer's queue, EventBridge
 * events through the bus as the HR feed, malformed envelopes to the bus queue as an operator
 * redriving them would); then the checks of checks.ts against the reference model. Used by
 * `npm run soak` (bench/soak.ts) and, shorter, by test/soak/soak.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDbAuditQuery } from '../../lambdas/adapters/dynamodb-audit-query';
import type { AuditRecord } from '../../lambdas/adapters/dynamodb-audit-log';
import { localDynamoDbClient } from '../../local/dynalite';
import { startEmulator, type EmulatorStats } from '../../local/emulator';
import { LOCAL_DEFAULTS, LOCAL_OPERATORS } from '../../local/pipeline/defaults';
import { looksLikeEnvelope } from '../../lambdas/domain/producer';
import { LocalDoors } from '../../local/pipeline/doors';
import { LOCAL_NAMES, startLocalPipeline, type LocalPipeline } from '../../local/pipeline/pipeline';
import { sendThroughDoors, type RoutedEntry } from '../../local/producer';
import { SOAK_BUS_PRODUCER, SOAK_PRODUCERS, SOAK_QUEUE_PRODUCER } from '../harness/producers';
import { checkDeadLetters, checkIdentityStore, checkOutcomes, checkWritesOnce, type CheckResult, type OutcomeTally } from './checks';
import { expectedState } from './model';
import { RestartableDynalite } from './outage';
import { readIdentityStore } from './store-snapshot';
import { generateWorkload, type Workload, type WorkloadOptions } from './workload';

export interface SoakOptions extends WorkloadOptions {
  /** Emulator fault spec (docs/emulator.md). */
  faults: string;
  /** The emulator's quota and the deployment's budget, requests per second. */
  tps: number;
  /** How long dynalite is away. */
  outageMs: number;
  /** The outage starts once this share of the messages has left the queue. */
  outageAfter: number;
  functionTimeoutSeconds: number;
  maxReceiveCount: number;
  /** Give up only when the pipeline stalls: a message receivable this long while nothing runs. */
  stallTimeoutMs: number;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

export const SOAK_DEFAULTS = {
  events: 3000,
  seed: 7,
  faults: 'throttle=0.03,server=0.02,conflict=0.02,drop=0.01,latency=0.05:20-150,retryAfter=1',
  tps: 50,
  outageMs: 4000,
  outageAfter: 0.3,
  functionTimeoutSeconds: 10,
  maxReceiveCount: 8,
  stallTimeoutMs: 120_000,
} as const;

export interface SoakReport {
  seed: number;
  workload: Workload['counts'] & { sent: number };
  faults: EmulatorStats['faults'];
  throttled: EmulatorStats['throttled'];
  identityStoreCalls: number;
  outageMs: number;
  tally: OutcomeTally;
  dlq: number;
  unauditedWrites: number;
  /** Writes whose WRITE record (or response) was lost, found in the trail by their intent. */
  writesByIntentOnly: number;
  checks: CheckResult[];
  elapsedMs: number;
  passed: boolean;
}

const IDENTITY_STORE_ID = LOCAL_DEFAULTS.identityStoreId;
/** High enough that the workload's deletions never reach it (the model checks they do not). */
const DELETION_CAP = 100_000;

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const startedAt = Date.now();
  const workDir = mkdtempSync(join(tmpdir(), 'identity-provisioner-soak-'));
  const workload = generateWorkload(options);
  const expected = expectedState(workload.changes, { maxMembershipRemovalsPerEvent: LOCAL_DEFAULTS.maxMembershipRemovalsPerEvent, deletionCap: DELETION_CAP });
  log(`workload: ${workload.counts.distinct} events, ${workload.counts.duplicates} duplicates, ${workload.counts.invalid} invalid, ${workload.counts.reordered} reordered; work dir ${workDir}`);

  const dynalite = await RestartableDynalite.start(join(workDir, 'dynamodb'));
  const emulator = await startEmulator({ identityStoreIds: [IDENTITY_STORE_ID], tps: options.tps, faults: options.faults, seed: options.seed });
  let pipeline: LocalPipeline | undefined;
  try {
    pipeline = await startLocalPipeline({
      ...LOCAL_DEFAULTS,
      identityStoreEndpoint: emulator.endpoint,
      dynamodbEndpoint: dynalite.endpoint,
      emulatorTps: options.tps,
      requestsPerSecond: options.tps,
      functionTimeoutSeconds: options.functionTimeoutSeconds,
      maxReceiveCount: options.maxReceiveCount,
      deletionCap: DELETION_CAP,
      producers: SOAK_PRODUCERS,
      logFile: join(workDir, 'consumer.log'),
    });
    const doors = new LocalDoors({
      region: 'us-east-1',
      sqsEndpoint: pipeline.sqsEndpoint,
      eventBridgeEndpoint: pipeline.eventBridgeEndpoint,
      producers: {
        ...pipeline.doors,
        [REDRIVE_DOOR]: { via: 'queue', queueName: LOCAL_NAMES.busQueue, queueUrl: pipeline.sqs.queue(LOCAL_NAMES.busQueue).url, principals: LOCAL_OPERATORS },
      },
    });
    const sent = await sendThroughDoors(workload.sends.map(routeSend), doors.doorFor).finally(() => doors.destroy());
    const notSent = [...sent.refused, ...sent.failed];
    if (notSent.length > 0) throw new Error(`${notSent.length} messages could not be sent: ${notSent[0].reason}`);
    const total = sent.sentToQueue + sent.sentToBus;
    log(`sent ${total} messages (${sent.sentToBus} through the bus)`);

    const outage = scheduleOutage(pipeline, dynalite, total, options, log);
    let lastLog = 0;
    await pipeline.drained(options.stallTimeoutMs, () => {
      if (Date.now() - lastLog < 10_000) return;
      lastLog = Date.now();
      log(`${pipeline!.pendingMessages()} messages left, ${Math.round((Date.now() - startedAt) / 1000)} s`);
    });
    const outageMs = await outage;
    log('queue drained; checking');

    const dynamodb = localDynamoDbClient(dynalite.endpoint);
    const query = new DynamoDbAuditQuery({ client: dynamodb, tableName: LOCAL_NAMES.tables.audit });
    const deadLetters = pipeline.sqs.queue(LOCAL_NAMES.deadLetterQueue).messages.map((m) => ({
      body: m.body,
      attributes: Object.fromEntries(Object.entries(m.messageAttributes).map(([k, v]) => [k, v.StringValue])),
    }));
    const invalidSends = workload.sends.flatMap((send, index) => (send.badCase ? [{ send, messageId: sent.messageIds[index] }] : []));
    const invalidIds = new Set(deadLetters.map((d) => d.attributes.eventId ?? ''));
    const ids = new Set([...workload.changes.map((c) => c.id), ...invalidIds]);
    const historyById = new Map<string, AuditRecord[]>();
    for (const id of ids) historyById.set(id, (await query.eventHistory(id)).records);
    dynamodb.destroy();

    const actual = await readIdentityStore(emulator.endpoint, IDENTITY_STORE_ID);
    const outcomes = checkOutcomes(historyById, invalidIds);
    const writes = checkWritesOnce(emulator.writes(), historyById);
    const checks = [
      checkIdentityStore(expected, actual),
      outcomes.check,
      checkDeadLetters(deadLetters, invalidSends, historyById),
      writes.check,
    ];
    const stats = emulator.stats();
    return {
      seed: options.seed,
      workload: { ...workload.counts, sent: total },
      faults: stats.faults,
      throttled: stats.throttled,
      identityStoreCalls: stats.totalCalls,
      outageMs,
      tally: outcomes.tally,
      dlq: deadLetters.length,
      unauditedWrites: writes.unaudited,
      writesByIntentOnly: writes.byIntentOnly,
      checks,
      elapsedMs: Date.now() - startedAt,
      passed: checks.every((c) => c.passed),
    };
  } finally {
    await pipeline?.stop();
    await emulator.stop();
    await dynalite.stop();
    if (!process.env.SOAK_KEEP_WORK_DIR) rmSync(workDir, { recursive: true, force: true });
  }
}

/** A door only the soak uses: the bus queue, sent to as an operator redriving a DLQ would. */
const REDRIVE_DOOR = 'operator-redrive';

/**
 * Bare documents (valid or not) go to the full-grant producer's queue; valid events the workload
 * wrapped in an envelope go through the bus as the HR feed (the bus makes the envelope); a
 * malformed envelope can only reach the bus queue from an operator, so it is sent as one.
 */
function routeSend(send: Workload['sends'][number], index: number): RoutedEntry {
  let document: unknown;
  try {
    document = JSON.parse(send.body);
  } catch {
    document = undefined;
  }
  const envelope = looksLikeEnvelope(document);
  if (envelope && send.badCase === undefined) {
    return { index, producer: SOAK_BUS_PRODUCER, principal: SOAK_PRODUCERS[SOAK_BUS_PRODUCER].principals[0], entry: document as Record<string, unknown> };
  }
  if (envelope) return { index, producer: REDRIVE_DOOR, principal: LOCAL_OPERATORS[0], entry: send.body };
  return { index, producer: SOAK_QUEUE_PRODUCER, principal: SOAK_PRODUCERS[SOAK_QUEUE_PRODUCER].principals[0], entry: send.body };
}

/** Takes dynalite away once enough messages have been consumed; resolves with the outage's length. */
async function scheduleOutage(
  pipeline: LocalPipeline,
  dynalite: RestartableDynalite,
  total: number,
  options: SoakOptions,
  log: (line: string) => void,
): Promise<number> {
  if (options.outageMs <= 0) return 0;
  while (pipeline.pendingMessages() > total * (1 - options.outageAfter)) await new Promise((r) => setTimeout(r, 100));
  log(`dynalite down for ${options.outageMs} ms`);
  const outageMs = await dynalite.outage(options.outageMs);
  log(`dynalite back after ${outageMs} ms`);
  return outageMs;
}
