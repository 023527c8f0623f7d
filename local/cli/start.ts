/**
 * `npm start`: the whole pipeline on this machine, no AWS account, no Docker. Starts the Identity
 * Store emulator and dynalite (or uses running ones), runs the events of a file (by default the
 * bundled onboarding scenario) through the real consumer handler, prints a summary, and as the
 * very last line the same summary as one JSON object.
 */
import '../../cli/quiet-sdk';
import { join, relative, resolve } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseCommandLine, projectVersion, UsageError } from '../../cli/conventions';
import { DynamoDbAuditItemSource } from '../../lambdas/adapters/audit-item-source';
import { DynamoDbAuditQuery } from '../../lambdas/adapters/dynamodb-audit-query';
import { LOCAL_DIGEST_DIR, LocalDigestStore } from '../../lambdas/adapters/local-digest-store';
import { writeDueDigests } from '../../lambdas/domain/audit-digest';
import { IDENTITY_STORE_ID_PATTERN } from '../../lambdas/domain/identity-change';
import { localDynamoDbClient } from '../dynalite';
import { parseFaultSpec } from '../emulator';
import { EventsFileError, payloadOf, routeEntries, sendThroughDoors } from '../producer';
import { readEventFile, resolveUserPath, userDirectory } from './event-file';
import { fallbackProducer, LOCAL_DEFAULT_PRODUCER, LOCAL_DEFAULTS } from '../pipeline/defaults';
import { planLocalIngestion, LocalSettingsError } from '../pipeline/ingestion';
import { readCdkJsonSettings, readSettingsFile, resolveLocalSettings, SettingsFileError, type SettingsSource } from '../pipeline/settings';
import { ProvisionerConfigError } from '../../lib/config';
import { LocalDoors } from '../pipeline/doors';
import { NEIGHBOUR_ACTION, startNeighbour } from '../pipeline/neighbour';
import { INTERRUPT_GRACE_MS, sendUntil, stopInterrupted, watchForInterrupt } from '../pipeline/interrupt';
import { settleLeftovers } from '../pipeline/leftovers';
import { claimStateDir, StateDirError } from '../state-dir';
import { LOCAL_NAMES, startLocalPipeline } from '../pipeline/pipeline';
import { eventIdOfBody, exitCodeOf, renderSummary, summarizeRun } from '../pipeline/run-summary';
import { progressReporter, unreachableReason } from './start-progress';

// See lambdas' pinned SDK note in the README: the Node 22 notice is not actionable here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ROOT = resolve(__dirname, '../..');
const DEFAULT_STATE_DIR = join(ROOT, '.local');
const DEFAULT_EVENTS = join(ROOT, 'examples/onboarding.jsonl');
const CDK_JSON = join(ROOT, 'cdk.json');
const DAY_MS = 86_400_000;

const HELP = `Usage: npm start -- [options]

Runs identity-change events through the real consumer against a local Identity Store emulator
and DynamoDB (dynalite), delivered through local SQS queues and an EventBridge bus as in AWS:
each producer sends through its own door (its queue, or the bus with its source) with its own
credentials, and the queue and bus policies refuse anyone else (docs/local-delivery.md).
State is kept in .local/ between runs.

Settings: the deployment's own, validated as cdk synth validates them (lib/config.ts): the
non-CDK keys of cdk.json's "context", then --settings FILE over them, then command-line options
(--identity-store-id, --tps) over both; what none gives takes the local defaults
(local/pipeline/defaults.ts). An invalid or unknown setting stops the run before anything
starts (exit 2). Settings that only mean something in AWS (alarms, removalPolicy, bus name,
retention, region) are validated and reported as not used locally; queueKind=fifo is refused
(the local queues are standard). The local waits (redeliveryBaseDelaySeconds,
retrySafetyMarginMs) stay short unless --settings names them.

Exit codes: 0 ok, 1 the operation failed, 2 usage error, 130 stopped by Ctrl-C.
0 ok: every event reached a final outcome (applied, no change, superseded,
rejected, duplicate, refused at the door); 1 the operation failed: some event failed, was
not matched by the bus rule, was not sent or has no final outcome (with --fail-on-reject:
also rejected or refused);
2 usage error (bad option, missing file, an invalid or unknown setting, queueKind=fifo, a line
naming an undeclared producer, an endpoint given by option not reachable, the state
dir in use by another run, --fresh on a folder npm start did not create); 130 stopped by Ctrl-C
(run the same command again to resume).

Options:
  --events FILE                 events to send: a JSON array, JSON Lines or a single JSON object
                                (told apart by the content) of v1 events, EventBridge events
                                ({source, detail-type, detail}) or {"producer": NAME, "event": ...}
                                (sent as that producer); a JSON string is sent as a raw body.
                                Anything else is refused with file:line:column before anything
                                is sent. A relative path is from the directory you ran npm in
                                (default: examples/onboarding.jsonl, whose lines name their producers)
  --settings FILE               a JSON object of deployment settings, the keys of cdk.json's
                                "context" (e.g. {"managedGroupScope": "prefix:app-", "producers":
                                {...}}); wins over cdk.json. A relative path is from the directory
                                you ran npm in
  --producer NAME               send the file's lines that name no producer as NAME, through its
                                door with its credentials (default: an EventBridge entry as the bus
                                producer of its source, anything else as ${LOCAL_DEFAULT_PRODUCER}, or
                                the only declared producer); the producers are the settings' own
                                (default: ${Object.keys(LOCAL_DEFAULTS.producers).join(', ')})
  --identitystore-endpoint URL  use this running Identity Store instead of the embedded emulator
  --dynamodb-endpoint URL       use this running DynamoDB instead of the embedded dynalite
  --identity-store-id ID        the identity store to manage (default ${LOCAL_DEFAULTS.identityStoreId})
  --tps N                       the Identity Store quota and the deployment's requests-per-second
                                budget (default ${LOCAL_DEFAULTS.tps})
  --faults SPEC                 emulator faults, e.g. throttle=0.05,server=0.02,conflict=0.02,
                                latency=0.1:20-200,drop=0.01 (see docs/emulator.md)
  --seed N                      seed for the faults (deterministic runs)
  --neighbour-tps N             calls per second by another caller sharing the quota
                                (default ${LOCAL_DEFAULTS.neighbourTps}; 0 = none)
  --timeout SECONDS             give up waiting for the queue to drain (default ${LOCAL_DEFAULTS.timeoutSeconds})
  --state-dir DIR               where state, logs and the handler bundle live (default .local/)
  --fresh                       empty the state directory first (identity store, tables, audit
                                digests, logs);
                                only one npm start created (it holds .identity-provisioner-state)
  --fail-on-reject              exit 1 also when an event is rejected or refused by policy
  --quiet                       no progress bar; the summary JSON line is still printed
  -h, --help                    this text
  --version                     the version
`;


function parseOptions(argv: string[]) {
  const { values } = parseCommandLine(
    argv,
    {
      events: { type: 'string' },
      settings: { type: 'string' },
      producer: { type: 'string' },
      'identitystore-endpoint': { type: 'string' },
      'dynamodb-endpoint': { type: 'string' },
      'identity-store-id': { type: 'string' },
      tps: { type: 'string' },
      faults: { type: 'string' },
      seed: { type: 'string' },
      'neighbour-tps': { type: 'string' },
      timeout: { type: 'string' },
      'state-dir': { type: 'string' },
      fresh: { type: 'boolean' },
      quiet: { type: 'boolean' },
      'fail-on-reject': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
    false,
  );
  const number = (name: string, raw: string | undefined, fallback: number, min: number) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min) throw new UsageError(`--${name} must be a number >= ${min}, got "${raw}"`);
    return value;
  };
  const url = (name: string, raw: string | undefined) => {
    if (raw === undefined) return undefined;
    if (!/^https?:\/\/[^/]+/.test(raw)) throw new UsageError(`--${name} must be an http(s) URL, got "${raw}"`);
    return raw;
  };
  const identityStoreId = values['identity-store-id'];
  if (identityStoreId !== undefined && !IDENTITY_STORE_ID_PATTERN.test(identityStoreId)) throw new UsageError(`--identity-store-id must be d-<10 hex> or a UUID, got "${identityStoreId}"`);
  if (values.faults !== undefined) {
    try {
      parseFaultSpec(values.faults);
    } catch (error) {
      throw new UsageError(`--faults: ${(error as Error).message}`);
    }
  }
  return {
    help: values.help ?? false,
    version: values.version ?? false,
    eventsFile: values.events ?? DEFAULT_EVENTS,
    settingsFile: values.settings,
    producer: values.producer,
    identityStoreEndpoint: url('identitystore-endpoint', values['identitystore-endpoint']),
    dynamodbEndpoint: url('dynamodb-endpoint', values['dynamodb-endpoint']),
    identityStoreId,
    tps: values.tps === undefined ? undefined : number('tps', values.tps, LOCAL_DEFAULTS.tps, 1),
    faults: values.faults,
    seed: values.seed === undefined ? undefined : number('seed', values.seed, 0, 0),
    neighbourTps: number('neighbour-tps', values['neighbour-tps'], LOCAL_DEFAULTS.neighbourTps, 0),
    timeoutSeconds: number('timeout', values.timeout, LOCAL_DEFAULTS.timeoutSeconds, 1),
    stateDir: resolve(userDirectory(), values['state-dir'] ?? DEFAULT_STATE_DIR),
    fresh: values.fresh ?? false,
    quiet: values.quiet ?? false,
    failOnReject: values['fail-on-reject'] ?? false,
  };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (options.version) {
    process.stdout.write(`${projectVersion()}\n`);
    return 0;
  }
  // The deployment's settings, validated as cdk synth validates them: a bad one stops here (exit 2).
  const sources: SettingsSource[] = [];
  const cdkJson = readCdkJsonSettings(CDK_JSON);
  if (cdkJson !== undefined && Object.keys(cdkJson.values).length > 0) sources.push(cdkJson);
  if (options.settingsFile !== undefined) sources.push(readSettingsFile(resolveUserPath(options.settingsFile), options.settingsFile));
  const settings = resolveLocalSettings(sources, { identityStoreId: options.identityStoreId, tps: options.tps });
  const plan = planLocalIngestion({ producers: settings.options.producers, operators: settings.options.operators, drift: settings.options.drift });
  const declared = Object.keys(plan.producers).sort();
  // A built-in producer (drift-repair, when the deployment has the drift function) is used only when
  // asked for by --producer (npm run drift -- --repair runs npm start as it): never a fallback, and
  // not among the declared producers a refusal lists.
  const senders = options.producer !== undefined && options.producer in plan.builtInProducers ? { ...plan.producers, ...plan.builtInProducers } : plan.producers;
  if (options.producer !== undefined && !(options.producer in senders)) {
    throw new UsageError(`--producer: "${options.producer}" is not a declared producer (declared: ${declared.join(', ') || 'none'})`);
  }
  // Lines that name no producer go as --producer, else the local default one, else the only one declared.
  const fallback = fallbackProducer(declared);

  const { path: eventsPath, entries } = readEventFile(options.eventsFile); // refused whole (exit 2) unless it is events
  // Every line must go to a declared producer: refused before anything starts, naming them.
  const unroutable = routeEntries(entries, senders, { producer: options.producer, fallback }).unroutable.filter(
    (entry) => entry.reason.includes('is not declared') || entry.reason.startsWith('names no producer'),
  );
  if (unroutable.length > 0) {
    // One line per reason (per undeclared producer), with the entries' positions in the file, from 1.
    const byReason = new Map<string, number[]>();
    for (const entry of unroutable) byReason.set(entry.reason, [...(byReason.get(entry.reason) ?? []), entry.index + 1]);
    const lines = [...byReason].map(
      ([reason, positions]) =>
        `  ${reason}: ${positions.length === 1 ? 'entry' : `${positions.length} entries`} ${positions.slice(0, 8).join(', ')}${positions.length > 8 ? ', ...' : ''}`,
    );
    throw new UsageError(
      `${eventsPath}: ${unroutable.length} of ${entries.length} entries cannot be sent with these settings (declared producers: ${declared.join(', ') || 'none'}); nothing was sent:\n${lines.join('\n')}\n` +
        'Declare the producers in the settings (cdk.json context or --settings), or send a file whose lines name declared ones.',
    );
  }
  // The state dir is this run's alone (lock), and --fresh empties only one this tool made (marker).
  const claimed = claimStateDir(options.stateDir, { fresh: options.fresh, command: ['npm start', ...process.argv.slice(2)].join(' ') });
  for (const note of claimed.notes) process.stderr.write(`${note}\n`);
  const interrupt = watchForInterrupt((signal, first) =>
    process.stderr.write(first ? `\n${signal}: stopping: nothing more is sent; in-flight invocations get ${INTERRUPT_GRACE_MS / 1000} s to finish\n` : `\n${signal}: already stopping\n`),
  );
  const logFile = join(options.stateDir, 'logs', 'consumer.log');
  // An endpoint given by option is checked before anything starts or is sent.
  for (const [option, endpoint] of [['identitystore-endpoint', options.identityStoreEndpoint], ['dynamodb-endpoint', options.dynamodbEndpoint]] as const) {
    const reason = endpoint === undefined ? undefined : await unreachableReason(endpoint);
    if (reason !== undefined) throw new UsageError(`--${option} ${endpoint} is not reachable (${reason})`);
  }

  for (const line of settings.header) process.stdout.write(`${line}\n`);
  const identityStoreId = settings.options.identityStoreId;
  const startedAt = new Date();
  const pipeline = await startLocalPipeline({
    ...settings.options,
    identityStoreEndpoint: options.identityStoreEndpoint,
    dynamodbEndpoint: options.dynamodbEndpoint,
    // The account's quota (the emulator's); the deployment's budget is requestsPerSecond.
    emulatorTps: options.tps ?? LOCAL_DEFAULTS.tps,
    faults: options.faults,
    seed: options.seed,
    stateDir: options.stateDir,
    logFile,
  });
  const neighbour = startNeighbour({ endpoint: pipeline.identityStoreEndpoint, identityStoreId, tps: options.neighbourTps });
  const progress = progressReporter({ quiet: options.quiet });
  try {
    // Left in progress by an interrupted run (idempotency records, subject leases): cleared before sending.
    const leftoverClient = localDynamoDbClient(pipeline.dynamodbEndpoint);
    const leftovers = await settleLeftovers(leftoverClient, LOCAL_NAMES.tables, {
      ownsStore: options.dynamodbEndpoint === undefined,
      maxWaitMs: settings.options.functionTimeoutSeconds * 1000,
    }).finally(() => leftoverClient.destroy());
    if (leftovers) process.stderr.write(`${leftovers}\n`);
    const { routed, unroutable } = routeEntries(entries, pipeline.doors, { producer: options.producer, fallback });
    const doors = new LocalDoors({ region: 'us-east-1', sqsEndpoint: pipeline.sqsEndpoint, eventBridgeEndpoint: pipeline.eventBridgeEndpoint, producers: pipeline.doors });
    const sent = await sendUntil(routed, (slice) => sendThroughDoors(slice, doors.doorFor), () => interrupt.requested).finally(() => doors.destroy());
    sent.failed.push(...unroutable);
    for (const failure of sent.failed) process.stderr.write(`entry ${failure.index + 1} not sent: ${failure.reason}\n`);
    for (const refusal of sent.refused) process.stderr.write(`entry ${refusal.index + 1} refused by policy (${sent.producerOf[refusal.index]}): ${refusal.code}\n`);

    const total = sent.sentToQueue + sent.sentToBus;
    const metrics = pipeline.function.metrics;
    let drained = true;
    await pipeline
      .settled(options.timeoutSeconds * 1000, () =>
        progress.update({ done: total - pipeline.pendingMessages(), total, throttles: metrics.get('ThrottledCalls') ?? 0, waitedSeconds: metrics.get('RetryAfterWaitSeconds') ?? 0 }),
        () => interrupt.requested,
      )
      .catch((error: Error) => {
        drained = false;
        process.stderr.write(`\n${error.message}\n`);
        for (const queue of pipeline.sourceQueues) {
          for (const message of pipeline.sqs.queue(queue).messages) {
            const eventId = eventIdOfBody(message.body) ?? message.messageId;
            process.stderr.write(`  still queued on ${queue}: ${eventId} (${message.state}, received ${message.receiveCount} times)\n`);
          }
        }
      });
    progress.end();
    neighbour.stop();
    if (interrupt.requested) return await stopInterrupted({ pipeline, signal: interrupt.signal!, entries: entries.map(payloadOf), sent, startedAt });

    const dynamodb = localDynamoDbClient(pipeline.dynamodbEndpoint);
    const summary = await summarizeRun({
      pipeline,
      query: new DynamoDbAuditQuery({ client: dynamodb, tableName: LOCAL_NAMES.tables.audit }),
      entries: entries.map(payloadOf),
      sent,
      startedAt,
      neighbourCalls: { action: NEIGHBOUR_ACTION, count: neighbour.calls },
    });
    // Digested only once everything is written: a record landing after its window's digest would read as added.
    const digests = drained ? await writeLocalDigests(dynamodb, options.stateDir, startedAt) : { written: 0, line: 'audit digests: none written (the run did not drain: the next run digests its records)' };
    dynamodb.destroy();
    const { deadLetters, apiCallsByAction, refusedByPolicyByProducer, ...counts } = summary;
    process.stdout.write(`${renderSummary(summary, { neighbourCalls: neighbour.calls, logFile })}\n\n`);
    process.stdout.write(`${digests.line}\n`);
    process.stdout.write('Ask the audit trail, e.g.: npm run audit -- user ada.lovelace\n\n');
    process.stdout.write(`${JSON.stringify({ ...counts, refusedByPolicyByProducer, apiCallsByAction, deadLetters: deadLetters.length, auditDigestsWritten: digests.written })}\n`);
    return drained ? exitCodeOf(summary, { failOnReject: options.failOnReject }) : 1;
  } finally {
    neighbour.stop();
    await pipeline.stop();
  }
}

/**
 * The audit digests due, in <stateDir>/audit-digests: from the last digest's end (or the start of
 * the UTC day the run started) to now, at most a week each. A failure is reported, not fatal: the
 * events were applied, and the next run writes what is due.
 */
async function writeLocalDigests(client: DynamoDBClient, stateDir: string, startedAt: Date): Promise<{ written: number; line: string }> {
  const directory = join(stateDir, LOCAL_DIGEST_DIR);
  const shown = relative(process.cwd(), directory).startsWith('..') ? directory : relative(process.cwd(), directory) || '.';
  try {
    const now = new Date();
    const { written } = await writeDueDigests(
      { source: new DynamoDbAuditItemSource({ client, tableName: LOCAL_NAMES.tables.audit }), store: new LocalDigestStore(directory) },
      { until: now, genesis: new Date(Math.floor(startedAt.getTime() / DAY_MS) * DAY_MS), maxWindowMs: 7 * DAY_MS, now },
    );
    return { written: written.length, line: `audit digests: ${written.length} written to ${shown} (chained; verify with npm run audit -- verify)` };
  } catch (error) {
    process.stderr.write(`audit digests: writing to ${shown} failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return { written: 0, line: 'audit digests: writing failed (see the error above; the next run writes what is due)' };
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ProvisionerConfigError || error instanceof SettingsFileError || error instanceof LocalSettingsError) {
      process.stderr.write(`${(error as Error).message}\nNothing was started. The settings are read from cdk.json's "context" and --settings FILE (npm start -- --help).\n`);
      process.exit(2);
    }
    if (error instanceof UsageError || error instanceof EventsFileError || error instanceof StateDirError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(error as Error).message}\nRun npm start -- --help for the options.\n`);
      process.exit(2);
    }
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
