/**
 * `npm run send -- FILE`: sends a file of identity-change events to a deployed stack (its queue or
 * its bus, with the SDK's default credentials and region) or to the local pipeline of a running
 * `npm start`. Prints where each event went and every failure; exit 1 if any failed, 2 on bad
 * usage or when there is nothing to send to.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { EventsFileError, isEventBridgeEntry, readEventsFile, sendEntries, type ProducerEntry, type SendTargets } from '../producer';

// As in npm start: the pinned SDK's "needs Node 22 from 2027" notice is not actionable here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ROOT = resolve(__dirname, '../..');
const DEFAULT_LOCAL_DIR = join(ROOT, '.local');
const DEFAULT_SOURCE = 'identity-provisioner.manual';
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

const HELP = `Usage: npm run send -- FILE [options]

Sends the identity-change events in FILE: a JSON array or JSON lines of v1 events or
EventBridge events ({source, detail-type, detail}); a JSON-lines line that is not JSON is
sent as a raw body (queues only). The same formats as npm start --events.

Targets (at most one; default: the local pipeline of a running npm start):
  --queue-url URL      a deployed stack's queue (QueueUrl output): v1 events as message
                       bodies; EventBridge entries are sent as their detail (the v1 event)
  --event-bus NAME     a deployed stack's bus (EventBusName output) or its ARN: EventBridge
                       entries as they are, v1 events wrapped with --source

Options:
  --source S           source of the v1 events sent to a bus (default ${DEFAULT_SOURCE});
                       the stack's rule accepts only its configured producer sources
  --region R           AWS region (default: the SDK's, e.g. AWS_REGION or your profile's)
  --endpoint-url URL   send to this endpoint instead of AWS (LocalStack and the like)
  --local-dir DIR      where npm start keeps its state (default <repo>/.local)
  -h, --help           this text

AWS credentials come from the SDK's default chain (environment, profile, SSO, ...).
The local pipeline lives only while npm start runs; npm start -- --events FILE runs a
file of events through it from start to finish.
`;

class UsageError extends Error {}
/** There is no target: exit 2, like a usage error, with an explanation instead of a pointer to --help. */
class NoTargetError extends Error {}

interface SendOptions {
  file: string;
  queueUrl?: string;
  eventBus?: string;
  source: string;
  region?: string;
  endpointUrl?: string;
  localDir: string;
}

function parseOptions(argv: string[]): SendOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      'queue-url': { type: 'string' },
      'event-bus': { type: 'string' },
      source: { type: 'string' },
      region: { type: 'string' },
      'endpoint-url': { type: 'string' },
      'local-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) return 'help';
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
  if (values['queue-url']?.endsWith('.fifo')) {
    throw new UsageError(
      'FIFO queues need a MessageGroupId per message: send through the bus (--event-bus), whose rule sets it, ' +
        'or use aws sqs send-message --message-group-id ... (see docs/sending-events.md)',
    );
  }
  return {
    file: resolve(positionals[0]),
    queueUrl: values['queue-url'],
    eventBus: values['event-bus'],
    source: values.source ?? DEFAULT_SOURCE,
    region: values.region,
    endpointUrl: values['endpoint-url'],
    localDir: resolve(values['local-dir'] ?? DEFAULT_LOCAL_DIR),
  };
}

/** What npm start writes to <local-dir>/endpoints.json while its pipeline runs. */
const localEndpointsSchema = z.object({
  region: z.string().min(1),
  sqsEndpoint: z.string().url(),
  queueUrl: z.string().url(),
  eventBridgeEndpoint: z.string().url(),
  eventBusName: z.string().min(1),
});

const NO_LOCAL_PIPELINE = [
  'The local pipeline lives only while `npm start` runs. To run a file of events through it, use:',
  '  npm start -- --events FILE',
  'To send to a deployed stack: npm run send -- FILE --event-bus NAME  (or --queue-url URL)',
].join('\n');

async function localTargets(options: SendOptions): Promise<{ targets: SendTargets; description: string }> {
  const file = join(options.localDir, 'endpoints.json');
  if (!existsSync(file)) throw new NoTargetError(`No local pipeline is running (no ${file}).\n${NO_LOCAL_PIPELINE}`);
  const parsed = localEndpointsSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    throw new NoTargetError(`${file} names no queue and bus (written by an older npm start?).\n${NO_LOCAL_PIPELINE}`);
  }
  const local = parsed.data;
  const sqs = new SQSClient({ endpoint: local.sqsEndpoint, region: local.region, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  try {
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: local.queueUrl, AttributeNames: ['QueueArn'] }));
  } catch (error) {
    sqs.destroy();
    // npm start removes the file when it stops; one left behind means it did not stop cleanly.
    throw new NoTargetError(`The local pipeline in ${file} does not answer (${(error as Error).message}): npm start is not running.\n${NO_LOCAL_PIPELINE}`);
  }
  return {
    targets: {
      sqs: { client: sqs, queueUrl: local.queueUrl },
      eventBridge: {
        client: new EventBridgeClient({ endpoint: local.eventBridgeEndpoint, region: local.region, credentials: LOCAL_CREDENTIALS }),
        busName: local.eventBusName,
        defaultSource: options.source,
      },
    },
    description: `the local pipeline (queue ${local.queueUrl}, bus ${local.eventBusName})`,
  };
}

function remoteTargets(options: SendOptions): { targets: SendTargets; description: string } {
  // Region and credentials: the SDK's default chain unless given; no local-only fallbacks.
  const clientConfig = {
    ...(options.region !== undefined && { region: options.region }),
    ...(options.endpointUrl !== undefined && { endpoint: options.endpointUrl }),
  };
  const at = options.endpointUrl ? ` at ${options.endpointUrl}` : '';
  if (options.queueUrl !== undefined) {
    return { targets: { sqs: { client: new SQSClient(clientConfig), queueUrl: options.queueUrl } }, description: `queue ${options.queueUrl}${at}` };
  }
  return {
    targets: { eventBridge: { client: new EventBridgeClient(clientConfig), busName: options.eventBus!, defaultSource: options.source } },
    description: `bus ${options.eventBus}${at}`,
  };
}

const ENVELOPE_FIELDS = ['version', 'id', 'source', 'account', 'time', 'region', 'resources', 'detail-type', 'detail'];

/**
 * What a queue gets for an EventBridge entry: a complete envelope (say, copied from a DLQ) as it
 * is, since the consumer reads envelopes; a PutEvents-style {source, detail-type, detail} as its
 * detail, because the consumer rejects an envelope without id, account, time, region, resources.
 */
function forQueue(entry: ProducerEntry): ProducerEntry {
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
    return 0;
  }
  if (!existsSync(options.file)) throw new UsageError(`no such file ${options.file}`);
  const read = readEventsFile(options.file);
  if (read.length === 0) throw new UsageError(`${options.file} holds no events`);
  const remote = options.queueUrl !== undefined || options.eventBus !== undefined;
  const entries = remote && options.queueUrl !== undefined ? read.map(forQueue) : read;
  const { targets, description } = remote ? remoteTargets(options) : await localTargets(options);

  process.stdout.write(`Sending ${entries.length} events from ${options.file} to ${description}\n`);
  try {
    const report = await sendEntries(entries, targets);
    const failures = new Map(report.failed.map((failure) => [failure.index, failure.reason]));
    read.forEach((entry, index) => {
      const messageId = report.messageIds[index];
      const result = failures.has(index)
        ? `NOT SENT: ${failures.get(index)}`
        : messageId !== undefined
          ? `queued, message ${messageId}`
          : 'put on the bus';
      process.stdout.write(`  #${index} ${describeEntry(entry)}: ${result}\n`);
    });
    process.stdout.write(`Sent ${report.sentToQueue} to the queue and ${report.sentToBus} to the bus; ${report.failed.length} failed.\n`);
    return report.failed.length > 0 ? 1 : 0;
  } finally {
    targets.sqs?.client.destroy();
    targets.eventBridge?.client.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof NoTargetError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    if (error instanceof UsageError || error instanceof EventsFileError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
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
