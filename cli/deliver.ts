/**
 * Delivers v1 documents as a declared producer, the way `npm run send` sends them, for the
 * commands that make events of their own (`npm run reconcile -- --apply`, `npm run drift --
 * --repair`). The events go through the producer's door like anyone else's, so ordering,
 * idempotency, the grant, the caps and the audit trail all apply to them unchanged:
 *
 * - locally, with an `npm start` running on the state dir: through that producer's door of the
 *   running pipeline, signed with the producer's local credentials (local/cli/send.ts's
 *   localSending, local/pipeline/doors.ts);
 * - locally, with none running: by running `npm start -- --events FILE --state-dir DIR --producer
 *   NAME --fail-on-reject` as a child process, FILE written under the state dir (`deliveries/`).
 *   Its output is passed on; its exit code and its last line (the run's summary as JSON) are
 *   returned. So "delivered" there means every event reached a final outcome and none was
 *   rejected or refused;
 * - a deployed stack (`--stack NAME`): the producer's queue (its `ProducerQueueUrl<Name>`
 *   output), else the bus (`EventBusName`) with the producer's source, signed by the caller's own
 *   AWS credentials, which the stack's policies accept only from that producer's principals.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pascal } from '../lib/access-policies';
import { defaultSourceOf } from '../lambdas/shared/producers';
import { localSending, NoTargetError, remoteSending, type Sending } from '../local/cli/send';
import type { ProducerEntry, ProducerSendReport } from '../local/producer';
import { stackOutputs } from './stack';

const ROOT = resolve(__dirname, '..');

/** Where the events go: the local pipeline of npm start (running, or run for them), or a deployed stack. */
export type DeliveryChoice =
  | {
      kind: 'local';
      /** npm start's state dir (default <repo>/.local). */
      localDir: string;
      /** Passed to the npm start run for them (when none is running): the deployment's settings file. */
      settingsFile?: string;
      /** Passed to that npm start run: the Identity Store and DynamoDB it uses instead of its own. */
      identityStoreEndpoint?: string;
      dynamodbEndpoint?: string;
      identityStoreId?: string;
    }
  | {
      kind: 'stack';
      stackName: string;
      region?: string;
      /** Sets AWS_PROFILE for the calls, as --profile does for npm run audit. */
      profile?: string;
      /** A bus producer's declared source, when it is not identity-provisioner.<producer>. */
      source?: string;
    };

export interface DeliveryReport {
  /** Every document was sent; through npm start, also every one reached a final outcome and none was rejected or refused. */
  delivered: boolean;
  /** How they went: through the running pipeline's door, by an npm start run for them, or to a deployed stack. */
  via: 'running-pipeline' | 'npm-start' | 'stack';
  /** Where they went, for people. */
  description: string;
  /** Documents a queue or the bus accepted (through npm start: the ones it sent). */
  sent: number;
  /** Refused by a queue or bus policy, by position in `documents`. */
  refused: { index: number; code: string; reason: string }[];
  /** Not sent for another reason, by position in `documents`. */
  failed: { index: number; reason: string }[];
  /** npm start's exit code (0 ok, 1 failed, 2 usage, 130 interrupted), when it ran. */
  exitCode?: number;
  /** npm start's last line, the run's summary (events, applied, noop, rejected, pending, ids...), when it ran. */
  summary?: Record<string, unknown>;
  /** The events file written for npm start, when it ran. */
  eventsFile?: string;
}

export interface DeliveryOutput {
  /** Where npm start's output goes (default process.stdout); its errors go to this process's stderr. */
  stdout?: NodeJS.WritableStream;
  /** Notes about what is being done (default process.stderr). */
  notes?: NodeJS.WritableStream;
}

/** Sends `documents` (v1 events) as `as.producer` to `target`; see the module comment for each way. */
export async function deliverEvents(
  documents: object[],
  as: { producer: string },
  target: DeliveryChoice,
  output: DeliveryOutput = {},
): Promise<DeliveryReport> {
  const notes = output.notes ?? process.stderr;
  if (documents.length === 0) {
    return { delivered: true, via: target.kind === 'stack' ? 'stack' : 'running-pipeline', description: 'nothing to deliver', sent: 0, refused: [], failed: [] };
  }
  const entries = documents as ProducerEntry[];
  if (target.kind === 'stack') {
    const sending = await stackSending(target, as.producer);
    return { ...(await sendWith(sending, entries)), via: 'stack' };
  }
  let running: Sending | undefined;
  try {
    running = await localSending({ localDir: target.localDir, producer: as.producer });
  } catch (error) {
    // Nothing runs there (no endpoints.json, or one that does not answer): npm start is run for them.
    if (!(error instanceof NoTargetError)) throw error;
  }
  if (running) return { ...(await sendWith(running, entries)), via: 'running-pipeline' };
  return runNpmStart(entries, as.producer, target, { stdout: output.stdout ?? process.stdout, notes });
}

async function sendWith(sending: Sending, entries: ProducerEntry[]): Promise<Omit<DeliveryReport, 'via'>> {
  try {
    const report: ProducerSendReport = await sending.send(entries);
    const sent = report.sentToQueue + report.sentToBus;
    return {
      delivered: report.refused.length === 0 && report.failed.length === 0 && sent === entries.length,
      description: sending.description,
      sent,
      refused: report.refused,
      failed: report.failed,
    };
  } finally {
    sending.close();
  }
}

/** The producer's door of a deployed stack, from its outputs; the caller's own credentials sign. */
async function stackSending(target: Extract<DeliveryChoice, { kind: 'stack' }>, producer: string): Promise<Sending> {
  if (target.profile !== undefined) process.env.AWS_PROFILE = target.profile;
  const outputs = await stackOutputs(target.stackName, target.region);
  const queueUrl = outputs[`ProducerQueueUrl${pascal(producer)}`];
  const region = target.region;
  if (queueUrl) return remoteSending({ queueUrl, producer, region });
  const eventBus = outputs.EventBusName;
  if (!eventBus) {
    throw new Error(`stack ${target.stackName} has neither a ProducerQueueUrl${pascal(producer)} nor an EventBusName output: name the IdentityProvisioner stack`);
  }
  return remoteSending({ eventBus, producer, source: target.source ?? defaultSourceOf(producer), region });
}

/** The events file npm start reads: under the state dir when it exists (kept, a record of what was sent), else a temp dir. */
function writeEventsFile(entries: ProducerEntry[], localDir: string, producer: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  // An npm start state dir that does not exist yet is not created here: npm start creates and marks its own.
  const dir = existsSync(localDir) && statSync(localDir).isDirectory() ? join(localDir, 'deliveries') : mkdtempSync(join(tmpdir(), 'identity-provisioner-deliveries-'));
  mkdirSync(dir, { recursive: true });
  let file = join(dir, `${stamp}-${producer}.jsonl`);
  for (let n = 2; existsSync(file); n++) file = join(dir, `${stamp}-${producer}-${n}.jsonl`);
  writeFileSync(file, `${entries.map((entry) => JSON.stringify(entry)).join('\n')}\n`);
  return file;
}

async function runNpmStart(
  entries: ProducerEntry[],
  producer: string,
  target: Extract<DeliveryChoice, { kind: 'local' }>,
  output: { stdout: NodeJS.WritableStream; notes: NodeJS.WritableStream },
): Promise<DeliveryReport> {
  const eventsFile = writeEventsFile(entries, target.localDir, producer);
  const args = [
    '--events', eventsFile,
    '--state-dir', target.localDir,
    '--producer', producer,
    // Delivered means applied: a rejection or a refusal at the door is a failure here.
    '--fail-on-reject',
    // No simulated other caller: these are real changes, not a demonstration.
    '--neighbour-tps', '0',
    ...(target.settingsFile !== undefined ? ['--settings', target.settingsFile] : []),
    ...(target.identityStoreEndpoint !== undefined ? ['--identitystore-endpoint', target.identityStoreEndpoint] : []),
    ...(target.dynamodbEndpoint !== undefined ? ['--dynamodb-endpoint', target.dynamodbEndpoint] : []),
    ...(target.identityStoreId !== undefined ? ['--identity-store-id', target.identityStoreId] : []),
  ];
  output.notes.write(`No npm start is running on ${target.localDir}: running npm start -- ${args.map(quoteArg).join(' ')}\n`);
  // A Ctrl-C (or a SIGTERM) is passed on to npm start, which stops cleanly and reports what it did
  // (exit 130); this process waits for that report instead of dying first and cutting it off.
  let forward: (signal: NodeJS.Signals) => void = () => undefined;
  const onSignal = (signal: NodeJS.Signals) => forward(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const { code, lastLine } = await new Promise<{ code: number; lastLine: string }>((done, fail) => {
    const child = spawn('npm', ['start', '--silent', '--', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
    forward = (signal) => void child.kill(signal);
    let tail = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output.stdout.write(chunk);
      // Only the last complete lines matter: the summary JSON is the very last.
      tail = (tail + chunk.toString('utf8')).slice(-65_536);
    });
    child.on('error', fail);
    child.on('close', (exitCode, signal) => {
      const lines = tail.trimEnd().split('\n');
      done({ code: exitCode ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 130 : 1), lastLine: lines.at(-1) ?? '' });
    });
  }).finally(() => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
  const summary = parseSummary(lastLine);
  const count = (key: string) => (typeof summary?.[key] === 'number' ? (summary[key] as number) : 0);
  // The summary's ids: a bare id, or {id, reason} for the buckets that have one.
  const idsOf = (key: string): { id: string; reason?: string }[] => {
    const ids = (summary?.ids as Record<string, unknown> | undefined)?.[key];
    if (!Array.isArray(ids)) return [];
    return ids.map((item: unknown) =>
      typeof item === 'string' ? { id: item } : { id: String((item as { id?: unknown }).id), reason: String((item as { reason?: unknown }).reason ?? '') },
    );
  };
  const indexOfId = new Map(entries.map((entry, index) => [(entry as { id?: unknown }).id, index]));
  const refused = idsOf('refusedByPolicy').map(({ id }) => ({ index: indexOfId.get(id) ?? -1, code: 'REFUSED_BY_POLICY', reason: `${id}: refused at the door` }));
  const failed = ['notSent', 'notMatched', 'rejected', 'failed', 'pending'].flatMap((bucket) =>
    idsOf(bucket).map(({ id, reason }) => ({ index: indexOfId.get(id) ?? -1, reason: `${id}: ${bucket}${reason ? ` (${reason})` : ''}` })),
  );
  return {
    delivered: code === 0,
    via: 'npm-start',
    description: `npm start on ${target.localDir} (events in ${eventsFile})`,
    sent: summary ? count('events') - count('notSent') - count('refusedByPolicy') : 0,
    refused,
    failed,
    exitCode: code,
    ...(summary && { summary }),
    eventsFile,
  };
}

function parseSummary(line: string): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(line) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
