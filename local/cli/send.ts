/**
 * `npm run send -- FILE`: sends a file of identity-change events as a producer: to a deployed
 * stack (the producer's queue, or the bus with the producer's source, with the caller's own AWS
 * credentials and region) or to the local pipeline of a running `npm start` (through the named
 * producer's door, signed with that producer's local credentials). Prints where each event went,
 * every refusal by a queue or bus policy and every failure; exit 1 if any was refused or failed,
 * 2 on bad usage or when there is nothing to send to.
 */
import '../../cli/quiet-sdk';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXIT, exitCodesHelp, parseCommandLine, projectVersion, UsageError } from '../../cli/conventions';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { defaultSourceOf, PRODUCER_NAME_PATTERN } from '../../lambdas/shared/producers';
import { LOCAL_DEFAULT_PRODUCER } from '../pipeline/defaults';
import { LocalDoors } from '../pipeline/doors';
import {
  EventsFileError,
  forQueue,
  isAddressedEntry,
  isEventBridgeEntry,
  payloadOf,
  routeEntries,
  sendEntries,
  sendThroughDoors,
  type ProducerEntry,
  type ProducerSendReport,
  type SendTargets,
} from '../producer';
import { EVENT_FILE_FORMATS, readEventFile, userDirectory } from './event-file';

const ROOT = resolve(__dirname, '../..');
const DEFAULT_LOCAL_DIR = join(ROOT, '.local');

const HELP = `Usage: npm run send -- FILE [options]

Sends the identity-change events in FILE as a producer. FILE holds
${EVENT_FILE_FORMATS}
{"producer": NAME, "event": ...} sends as NAME (local pipeline only). The same formats as
npm start --events.

Only declared producers can send: a queue or bus policy refuses anyone else, and the
function rejects an event outside its producer's grant (PRODUCER_NOT_ALLOWED).

Targets (at most one; default: the local pipeline of a running npm start):
  --queue-url URL      a deployed stack's producer queue (that producer's own queue):
                       v1 events as message bodies; EventBridge entries as their detail
  --event-bus NAME     a deployed stack's bus (EventBusName output) or its ARN: EventBridge
                       entries as they are, v1 events with the producer's source

Options:
  --producer NAME      send as this producer. Locally: through its door (its queue, or the bus
                       with its source), signed with its local credentials (default: a line's
                       own producer, else the bus producer of an EventBridge entry's source,
                       else ${LOCAL_DEFAULT_PRODUCER}). Against a deployed stack your own AWS credentials
                       sign, and they must be one of NAME's declared principals; with
                       --event-bus, v1 events get NAME's default source identity-provisioner.NAME
  --source S           the source of v1 events sent to a bus, when the producer declares its
                       own (overrides the default source of --producer)
  --region R           AWS region (default: the SDK's, e.g. AWS_REGION or your profile's)
  --endpoint-url URL   send to this endpoint instead of AWS (LocalStack and the like)
  --local-dir DIR      where npm start keeps its state (default <repo>/.local)
  -h, --help           this text
  --version            the version

AWS credentials come from the SDK's default chain (environment, profile, SSO, ...).
The local pipeline lives only while npm start runs; npm start -- --events FILE runs a
file of events through it from start to finish. The output has no colours.

${exitCodesHelp({
  failed: 'an event was refused by a queue or bus policy or not sent, or sending stopped (credentials, region, no such queue)',
  usage: 'a bad option, an events file that is missing or not events (nothing is sent), no local pipeline running',
})}
`;

/** There is no target: exit 2, like a usage error, with an explanation instead of a pointer to --help. */
export class NoTargetError extends Error {}

export interface SendOptions {
  /** As given: read from the directory the user ran npm in (readEventFile). */
  file: string;
  queueUrl?: string;
  eventBus?: string;
  producer?: string;
  source?: string;
  region?: string;
  endpointUrl?: string;
  localDir: string;
}

function parseOptions(argv: string[]): SendOptions | 'help' | 'version' {
  const { values, positionals } = parseCommandLine(
    argv,
    {
      'queue-url': { type: 'string' },
      'event-bus': { type: 'string' },
      producer: { type: 'string' },
      source: { type: 'string' },
      region: { type: 'string' },
      'endpoint-url': { type: 'string' },
      'local-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
    true,
  );
  if (values.help) return 'help';
  if (values.version) return 'version';
  if (positionals.length !== 1) throw new UsageError(`expected one events FILE, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  if (values['queue-url'] !== undefined && values['event-bus'] !== undefined) {
    throw new UsageError('--queue-url and --event-bus are alternatives: pick one target');
  }
  const remote = values['queue-url'] !== undefined || values['event-bus'] !== undefined;
  if (!remote && values['endpoint-url'] !== undefined) throw new UsageError('--endpoint-url needs --queue-url or --event-bus');
  for (const name of ['queue-url', 'endpoint-url'] as const) {
    const value = values[name];
    if (value !== undefined && !/^https?:\/\/[^/]+/.test(value)) throw new UsageError(`--${name} must be an http(s) URL, got "${value}"`);
  }
  if (values.producer !== undefined && !PRODUCER_NAME_PATTERN.test(values.producer)) {
    throw new UsageError(`--producer must be a producer name (1-40 of a-z 0-9 -, starting with a letter), got "${values.producer}"`);
  }
  if (!remote && values.source !== undefined) {
    throw new UsageError('--source is for --event-bus: locally a producer sends with its declared source (use --producer NAME)');
  }
  if (values['queue-url']?.endsWith('.fifo')) {
    throw new UsageError(
      'FIFO queues need a MessageGroupId per message: send through the bus (--event-bus), whose rule sets it, ' +
        'or use aws sqs send-message --message-group-id ... (see docs/sending-events.md)',
    );
  }
  return {
    file: positionals[0],
    queueUrl: values['queue-url'],
    eventBus: values['event-bus'],
    producer: values.producer,
    source: values.source,
    region: values.region,
    endpointUrl: values['endpoint-url'],
    localDir: resolve(userDirectory(), values['local-dir'] ?? DEFAULT_LOCAL_DIR),
  };
}

/** What npm start writes to <local-dir>/endpoints.json while its pipeline runs (LocalEndpoints). */
const localEndpointsSchema = z.object({
  region: z.string().min(1),
  sqsEndpoint: z.string().url(),
  eventBridgeEndpoint: z.string().url(),
  eventBusName: z.string().min(1),
  producers: z.record(
    z.string(),
    z.discriminatedUnion('via', [
      z.object({ via: z.literal('bus'), busName: z.string().min(1), source: z.string().min(1), principals: z.array(z.string()).min(1) }),
      z.object({ via: z.literal('queue'), queueName: z.string().min(1), queueUrl: z.string().url(), principals: z.array(z.string()).min(1) }),
    ]),
  ),
});

const NO_LOCAL_PIPELINE = [
  'The local pipeline lives only while `npm start` runs. To run a file of events through it, use:',
  '  npm start -- --events FILE',
  'To send to a deployed stack: npm run send -- FILE --event-bus NAME  (or --queue-url URL)',
].join('\n');

/** Where a file's entries go (cli/deliver.ts sends through the same two). */
export interface Sending {
  description: string;
  send(entries: ProducerEntry[]): Promise<ProducerSendReport>;
  close(): void;
}

export async function localSending(options: Pick<SendOptions, 'localDir' | 'producer'>): Promise<Sending> {
  const file = join(options.localDir, 'endpoints.json');
  if (!existsSync(file)) throw new NoTargetError(`No local pipeline is running (no ${file}).\n${NO_LOCAL_PIPELINE}`);
  const parsed = localEndpointsSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    throw new NoTargetError(`${file} names no producers' doors (written by an older npm start?).\n${NO_LOCAL_PIPELINE}`);
  }
  const local = parsed.data;
  if (options.producer !== undefined && local.producers[options.producer] === undefined) {
    throw new UsageError(`--producer: "${options.producer}" is not declared in the local pipeline (${Object.keys(local.producers).join(', ') || 'none'})`);
  }
  const probe = new SQSClient({ endpoint: local.sqsEndpoint, region: local.region, credentials: { accessKeyId: 'probe', secretAccessKey: 'probe' }, maxAttempts: 1 });
  try {
    await probe.send(new ListQueuesCommand({}));
  } catch (error) {
    // npm start removes the file when it stops; one left behind means it did not stop cleanly.
    throw new NoTargetError(`The local pipeline in ${file} does not answer (${(error as Error).message}): npm start is not running.\n${NO_LOCAL_PIPELINE}`);
  } finally {
    probe.destroy();
  }
  const doors = new LocalDoors({ region: local.region, sqsEndpoint: local.sqsEndpoint, eventBridgeEndpoint: local.eventBridgeEndpoint, producers: local.producers });
  const fallback = local.producers[LOCAL_DEFAULT_PRODUCER] !== undefined ? LOCAL_DEFAULT_PRODUCER : undefined;
  return {
    description: `the local pipeline${options.producer ? ` as producer ${options.producer}` : ''} (bus ${local.eventBusName}; producers ${Object.keys(local.producers).join(', ')})`,
    send: async (entries) => {
      const { routed, unroutable } = routeEntries(entries, local.producers, { producer: options.producer, fallback });
      const report = await sendThroughDoors(routed, doors.doorFor);
      report.failed.push(...unroutable);
      return report;
    },
    close: () => doors.destroy(),
  };
}

/**
 * A deployed stack: one door (the producer's queue, or the bus with its source), signed by the
 * caller's own AWS credentials, which the stack's policies accept only if they are one of the
 * producer's declared principals. Lines that name another producer are not sent.
 */
export function remoteSending(options: Omit<SendOptions, 'file' | 'localDir'>): Sending {
  // Region and credentials: the SDK's default chain unless given; no local-only fallbacks.
  const clientConfig = {
    ...(options.region !== undefined && { region: options.region }),
    ...(options.endpointUrl !== undefined && { endpoint: options.endpointUrl }),
  };
  const at = options.endpointUrl ? ` at ${options.endpointUrl}` : '';
  const as = options.producer ? ` as producer ${options.producer}` : '';
  const source = options.source ?? (options.producer !== undefined ? defaultSourceOf(options.producer) : undefined);
  let targets: SendTargets;
  let description: string;
  if (options.queueUrl !== undefined) {
    targets = { sqs: { client: new SQSClient(clientConfig), queueUrl: options.queueUrl } };
    description = `queue ${options.queueUrl}${at}${as}`;
  } else {
    targets = { eventBridge: { client: new EventBridgeClient(clientConfig), busName: options.eventBus!, defaultSource: source ?? '' } };
    description = `bus ${options.eventBus}${at}${as}${source ? ` (source ${source} for v1 events)` : ''}`;
  }
  return {
    description,
    send: async (entries) => {
      const sendable: { index: number; entry: ProducerEntry }[] = [];
      const failed: { index: number; reason: string }[] = [];
      for (const [index, entry] of entries.entries()) {
        if (isAddressedEntry(entry) && entry.principal !== undefined) {
          failed.push({ index, reason: 'a line\'s "principal" works only locally: against AWS, your own credentials sign' });
          continue;
        }
        if (isAddressedEntry(entry) && entry.producer !== options.producer) {
          failed.push({ index, reason: `names producer "${String(entry.producer)}": send it with --producer ${String(entry.producer)} and that producer's door` });
          continue;
        }
        const payload = payloadOf(entry);
        if (targets.eventBridge && typeof payload === 'object' && !isEventBridgeEntry(payload) && source === undefined) {
          failed.push({ index, reason: 'a v1 event on a bus needs its producer\'s source: pass --producer NAME (or --source S)' });
          continue;
        }
        sendable.push({ index, entry: targets.sqs ? forQueue(payload) : payload });
      }
      const report = await sendEntries(sendable.map((s) => s.entry), targets, sendable.map((s) => s.index));
      const producerOf: Record<number, string> = {};
      for (const { index } of sendable) producerOf[index] = options.producer ?? '(caller)';
      return { ...report, failed: [...report.failed, ...failed], producerOf };
    },
    close: () => {
      targets.sqs?.client.destroy();
      targets.eventBridge?.client.destroy();
    },
  };
}

/** "user.upserted evt-1" for a line of output; the v1 event inside an EventBridge entry if any. */
function describeEntry(entry: ProducerEntry): string {
  if (typeof entry === 'string') return `raw body ${JSON.stringify(entry.length > 40 ? `${entry.slice(0, 40)}…` : entry)}`;
  let document: unknown = isEventBridgeEntry(entry) ? (entry.detail ?? entry.Detail) : entry;
  if (typeof document === 'string') {
    try {
      document = JSON.parse(document);
    } catch {
      // described by its type and id below, which it lacks
    }
  }
  const { type, id } = (typeof document === 'object' && document !== null ? document : {}) as { type?: unknown; id?: unknown };
  return `${typeof type === 'string' ? type : '(no type)'} ${typeof id === 'string' ? id : '(no id)'}`;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (options === 'help') {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  if (options === 'version') {
    process.stdout.write(`${projectVersion()}\n`);
    return EXIT.ok;
  }
  // Read and checked before anything is sent: a file that is not events is refused whole (exit 2).
  const { path, entries: read } = readEventFile(options.file);
  const remote = options.queueUrl !== undefined || options.eventBus !== undefined;
  const sending = remote ? remoteSending(options) : await localSending(options);

  process.stdout.write(`Sending ${read.length} events from ${path} to ${sending.description}\n`);
  try {
    const report = await sending.send(read);
    const failures = new Map(report.failed.map((failure) => [failure.index, failure.reason]));
    const refusals = new Map(report.refused.map((refusal) => [refusal.index, refusal]));
    read.forEach((entry, index) => {
      const messageId = report.messageIds[index];
      const refusal = refusals.get(index);
      const as = report.producerOf[index] !== undefined && !remote ? ` as ${report.producerOf[index]}` : '';
      const result = refusal
        ? `REFUSED by policy${as}: ${refusal.code}: ${refusal.reason}`
        : failures.has(index)
          ? `NOT SENT: ${failures.get(index)}`
          : messageId !== undefined
            ? `queued${as}, message ${messageId}`
            : `put on the bus${as}`;
      process.stdout.write(`  #${index} ${describeEntry(payloadOf(entry))}: ${result}\n`);
    });
    process.stdout.write(
      `Sent ${report.sentToQueue} to a queue and ${report.sentToBus} to the bus; ${report.refused.length} refused by policy; ${report.failed.length} failed.\n`,
    );
    return report.failed.length > 0 || report.refused.length > 0 ? 1 : 0;
  } finally {
    sending.close();
  }
}

// Only as the command itself: cli/deliver.ts imports the sending pieces above.
if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof NoTargetError) {
        process.stderr.write(`${error.message}\n`);
        process.exit(2);
      }
      if (error instanceof UsageError || error instanceof EventsFileError) {
        process.stderr.write(`${(error as Error).message}\nRun npm run send -- --help for the options.\n`);
        process.exit(2);
      }
      // A whole call failed (credentials, region, no such queue): batches before it may have gone out.
      const message = error instanceof Error ? error.message : String(error);
      const hint = /region is missing/i.test(message) ? ' (pass --region or set AWS_REGION)' : '';
      process.stderr.write(`Sending stopped: ${message}${hint}. Earlier batches of 10 may already have been sent.\n`);
      process.exit(1);
    },
  );
}
