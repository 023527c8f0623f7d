/**
 * `npm run dlq`: look into the provisioner's dead-letter queue and redrive it, on the laptop
 * pipeline (default: the one `npm start` is running, found through .local/endpoints.json, as the
 * local operator role) or on a deployed stack (`--stack NAME`: the queues come from the stack's
 * outputs, the credentials from the default chain, AWS_PROFILE or --profile).
 *
 * Listing never consumes: messages are received with a short visibility timeout and made
 * visible again at once (ChangeMessageVisibility 0). A redrive of one event sends its body to its
 * source queue, then deletes it from the DLQ, only once the send succeeded. A redrive of all
 * returns the messages the function put there itself (they carry a `sourceQueueArn` attribute,
 * SQS's own redrive cannot place them) one by one the same way, then starts an SQS message move
 * task for the rest (those SQS moved there after maxReceiveCount) and follows it to its end.
 */
import './quiet-sdk';
import { createInterface } from 'node:readline/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
  type Message,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { stackOutputs } from './stack';
import { closest, EXIT, exitCodesHelp, paint, parseCommandLine, projectVersion, runCommand, terminalWidth, UsageError, useColor, wrap } from './conventions';
import { localCredentialsFor } from '../local/iam/principals';
import { LOCAL_OPERATORS } from '../local/pipeline/defaults';
import { LOCAL_NAMES } from '../local/pipeline/ingestion';
import { userDirectory } from '../local/cli/event-file';

const ROOT = resolve(__dirname, '..');
const DEFAULT_LOCAL_DIR = join(ROOT, '.local');
const NAME = 'npm run dlq';
/** How long a listed message stays hidden before we make it visible again (seconds). */
const HOLD_SECONDS = 30;
const COMMANDS = ['list', 'show', 'redrive'] as const;
const FORMATS = ['table', 'json', 'csv'] as const;
type Format = (typeof FORMATS)[number];

export const HELP = `Usage: ${NAME} -- <command> [options]

Look into the provisioner's dead-letter queue, and redrive it once the cause is fixed.

Commands:
  list                     every DLQ message: event id, rejection code, when, source queue, reason
  show <eventId>           the message's body (pretty JSON), all its attributes, the audit command
  redrive                  every message back to its source queue (asks first)
  redrive --event <id>     only that event's message: sent to its source queue, then deleted

Options:
  --format table|json|csv  output of list and show (default table; show knows table and json)
  --event <id>             redrive: only the message of this event id
  --to <queue>             redrive: the queue (name, URL or ARN) for messages whose source is unknown
  --yes                    redrive without asking (required when stdin is not a terminal)
  --max <n>                look at no more than n messages (default 1000)
  --stack <name>           a deployed stack (its outputs name the queues); default: the local pipeline
  --region <region>        with --stack: its region (default: AWS_REGION or your profile's)
  --profile <name>         with --stack: the AWS profile (sets AWS_PROFILE)
  --local-dir <dir>        the local pipeline's state directory (default .local)
  --as <role ARN>          locally: the operator role to act as (default ${LOCAL_OPERATORS[0]})
  -h, --help               this help
  --version                the version

${exitCodesHelp({
  failed: 'nothing found (show, redrive --event), a redrive not confirmed or not completed, AWS refused',
  usage: 'a bad option or command; redrive without --yes when stdin is not a terminal; no local pipeline running',
})}
Environment: NO_COLOR turns colours off; AWS_PROFILE, AWS_REGION as the AWS CLI reads them.
See docs/operations.md for the walk from an alarm to a redrive.`;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  format: { type: 'string' },
  event: { type: 'string' },
  to: { type: 'string' },
  yes: { type: 'boolean', short: 'y' },
  max: { type: 'string' },
  stack: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  'local-dir': { type: 'string' },
  as: { type: 'string' },
} as const;

interface Queue {
  name: string;
  url: string;
  arn: string;
}

/** Where the DLQ is, who its source queues are, and a client allowed to work on them. */
export interface Target {
  description: string;
  sqs: SQSClient;
  dlq: Queue;
  sources: Queue[];
  close(): void;
}

export interface DlqMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** Message attributes, as strings (Binary ones base64). */
  attributes: Record<string, string>;
  /** System attributes (SentTimestamp, ApproximateReceiveCount, DeadLetterQueueSourceArn, ...). */
  system: Record<string, string>;
  eventId: string | undefined;
  /** The queue it came from: the function's `sourceQueueArn`, else SQS's DeadLetterQueueSourceArn. */
  sourceArn: string | undefined;
}

// ---------------------------------------------------------------------------------------------
// Targets

const queueName = (urlOrArn: string): string => (urlOrArn.startsWith('arn:') ? urlOrArn.split(':').pop()! : urlOrArn.replace(/\/+$/, '').split('/').pop()!);

async function queueArnOf(sqs: SQSClient, url: string): Promise<string> {
  const output = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  const arn = output.Attributes?.QueueArn;
  if (!arn) throw new Error(`${url} reports no QueueArn`);
  return arn;
}

async function queueOf(sqs: SQSClient, url: string): Promise<Queue> {
  return { name: queueName(url), url, arn: await queueArnOf(sqs, url) };
}

/** The pipeline `npm start` runs: its endpoints file, the local operator's credentials. */
export async function localTarget(localDir: string, operatorArn: string): Promise<Target> {
  const file = join(localDir, 'endpoints.json');
  if (!existsSync(file)) {
    // Nothing to talk to: exit 2, as npm run audit and npm run send do.
    throw new UsageError(`No local pipeline is running (no ${file}). Start one with \`npm start\`, or use --stack NAME for a deployed stack.`);
  }
  const endpoints = JSON.parse(readFileSync(file, 'utf8')) as { sqsEndpoint?: unknown; region?: unknown };
  if (typeof endpoints.sqsEndpoint !== 'string' || typeof endpoints.region !== 'string') {
    throw new Error(`${file} names no SQS endpoint (written by an older npm start?)`);
  }
  const sqs = new SQSClient({ endpoint: endpoints.sqsEndpoint, region: endpoints.region, credentials: localCredentialsFor(operatorArn), maxAttempts: 1 });
  try {
    let dlqUrl: string;
    try {
      dlqUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: LOCAL_NAMES.deadLetterQueue }))).QueueUrl!;
    } catch (error) {
      throw new UsageError(`The local pipeline in ${file} does not answer (${(error as Error).message}): is npm start still running?`);
    }
    const dlq = await queueOf(sqs, dlqUrl);
    // The source queues: every queue whose redrive policy names this DLQ.
    const sources: Queue[] = [];
    for (const url of (await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? []) {
      const attributes = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn', 'RedrivePolicy'] }))).Attributes ?? {};
      const redrive = attributes.RedrivePolicy ? (JSON.parse(attributes.RedrivePolicy) as { deadLetterTargetArn?: string }) : undefined;
      if (redrive?.deadLetterTargetArn === dlq.arn && attributes.QueueArn) sources.push({ name: queueName(url), url, arn: attributes.QueueArn });
    }
    return { description: `the local pipeline (${endpoints.sqsEndpoint}, as ${operatorArn})`, sqs, dlq, sources, close: () => sqs.destroy() };
  } catch (error) {
    sqs.destroy();
    throw error;
  }
}

/** The stack's outputs (lib/stacks.ts): DeadLetterQueueUrl, QueueUrl, ProducerQueueUrl<Name>. */
export async function stackTarget(stackName: string, region: string | undefined): Promise<Target> {
  const outputs = await stackOutputs(stackName, region);
  const dlqUrl = outputs.DeadLetterQueueUrl;
  if (!dlqUrl) {
    throw new Error(`stack ${stackName} has no DeadLetterQueueUrl output: name the IdentityProvisioner stack (the one with the queues), not the state stack`);
  }
  const sourceUrls = [outputs.QueueUrl, ...Object.entries(outputs).filter(([key]) => key.startsWith('ProducerQueueUrl')).map(([, url]) => url)].filter(
    (url): url is string => Boolean(url),
  );
  const sqs = new SQSClient({ ...(region && { region }) });
  try {
    const dlq = await queueOf(sqs, dlqUrl);
    const sources = await Promise.all(sourceUrls.map((url) => queueOf(sqs, url)));
    return { description: `stack ${stackName}${region ? ` in ${region}` : ''}`, sqs, dlq, sources, close: () => sqs.destroy() };
  } catch (error) {
    sqs.destroy();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the DLQ without consuming it

function stringAttributes(attributes: Record<string, MessageAttributeValue> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    out[name] = value.StringValue ?? (value.BinaryValue ? Buffer.from(value.BinaryValue).toString('base64') : '');
  }
  return out;
}

/** The event id: the function's `eventId` attribute, else the body's `id` (bare v1) or `detail.id` (envelope). */
function eventIdOf(attributes: Record<string, string>, body: string): string | undefined {
  if (attributes.eventId && attributes.eventId !== '(none)') return attributes.eventId;
  try {
    const parsed = JSON.parse(body) as { id?: unknown; detail?: { id?: unknown } };
    const id = parsed.detail?.id ?? parsed.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

function dlqMessage(message: Message): DlqMessage {
  const attributes = stringAttributes(message.MessageAttributes);
  const system = { ...(message.Attributes ?? {}) } as Record<string, string>;
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes,
    system,
    eventId: eventIdOf(attributes, message.Body ?? ''),
    sourceArn: attributes.sourceQueueArn ?? system.DeadLetterQueueSourceArn,
  };
}

export interface Peek {
  messages: DlqMessage[];
  /** ApproximateNumberOfMessages (visible) when we started, plus those in flight. */
  approximateVisible: number;
  approximateInFlight: number;
}

/**
 * Every message we can see, each hidden for HOLD_SECONDS while we look (so one receive does not
 * return the same message twice); `release` makes the ones still held visible again.
 */
export async function peek(target: Target, max: number): Promise<Peek> {
  const counts = (await target.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: target.dlq.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  )).Attributes ?? {};
  const approximateVisible = Number(counts.ApproximateNumberOfMessages ?? 0);
  const approximateInFlight = Number(counts.ApproximateNumberOfMessagesNotVisible ?? 0);
  const seen = new Map<string, DlqMessage>();
  while (seen.size < max) {
    const output = await target.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: target.dlq.url,
        MaxNumberOfMessages: Math.min(10, max - seen.size),
        VisibilityTimeout: HOLD_SECONDS,
        // A short long-poll asks every SQS server (a short poll samples some): an empty answer means empty.
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const batch = output.Messages ?? [];
    if (batch.length === 0) break;
    for (const message of batch) seen.set(message.MessageId ?? '', dlqMessage(message));
  }
  return { messages: [...seen.values()], approximateVisible, approximateInFlight };
}

/** Make held messages visible again at once. */
export async function release(target: Target, messages: DlqMessage[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const chunk = messages.slice(i, i + 10);
    await target.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: target.dlq.url,
        Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.receiptHandle, VisibilityTimeout: 0 })),
      }),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Output

const shortName = (arn: string | undefined): string => (arn ? queueName(arn) : '(unknown)');

function row(message: DlqMessage) {
  return {
    eventId: message.eventId ?? '(none)',
    rejectionCode: message.attributes.rejectionCode ?? (message.system.DeadLetterQueueSourceArn ? 'MAX_RECEIVES' : '(none)'),
    rejectedAt: message.attributes.rejectedAt ?? (message.system.SentTimestamp ? new Date(Number(message.system.SentTimestamp)).toISOString() : ''),
    sourceQueue: shortName(message.sourceArn),
    reason:
      message.attributes.rejectionReason ??
      (message.system.DeadLetterQueueSourceArn ? `moved by SQS after ${message.system.ApproximateReceiveCount ?? '?'} receives` : ''),
    messageId: message.messageId,
  };
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function renderList(peeked: Peek, format: Format, width: number, color: boolean): string {
  const rows = peeked.messages.map(row);
  const summary = `Saw ${rows.length} message(s); ApproximateNumberOfMessages ${peeked.approximateVisible}${peeked.approximateInFlight > 0 ? ` (+${peeked.approximateInFlight} in flight)` : ''}.`;
  if (format === 'json') {
    return JSON.stringify({ seen: rows.length, approximateNumberOfMessages: peeked.approximateVisible, approximateNumberOfMessagesNotVisible: peeked.approximateInFlight, messages: rows }, null, 2);
  }
  if (format === 'csv') {
    const header = ['eventId', 'rejectionCode', 'rejectedAt', 'sourceQueue', 'reason', 'messageId'];
    return [header.join(','), ...rows.map((r) => header.map((h) => csvField(r[h as keyof typeof r])).join(','))].join('\n');
  }
  const p = paint(color);
  if (rows.length === 0) return summary;
  const columns = ['eventId', 'rejectionCode', 'rejectedAt', 'sourceQueue'] as const;
  const titles = { eventId: 'EVENT ID', rejectionCode: 'CODE', rejectedAt: 'REJECTED AT', sourceQueue: 'SOURCE' };
  const widths = columns.map((c) => Math.max(titles[c].length, ...rows.map((r) => [...r[c]].length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i] - [...cell].length))).join('  ');
  const out: string[] = [];
  for (const text of wrap(line(columns.map((c) => titles[c])), width)) out.push(p.bold(text));
  for (const r of rows) {
    for (const text of wrap(line(columns.map((c) => r[c])), width)) out.push(text);
    for (const text of wrap(r.reason, width - 4)) out.push(p.dim(`    ${text}`));
  }
  out.push('', summary);
  return out.join('\n');
}

function prettyBody(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function renderShow(messages: DlqMessage[], eventId: string, format: Format, width: number, color: boolean, stack?: { name: string; region?: string; profile?: string }): string {
  // The same target as this command: the stack (npm run audit reads its AuditTableName output).
  const on = stack ? ` --stack ${stack.name}${stack.region ? ` --region ${stack.region}` : ''}${stack.profile ? ` --profile ${stack.profile}` : ''}` : '';
  const hint = `npm run audit -- event ${eventId}${on}`;
  if (format === 'json') {
    return JSON.stringify(
      {
        eventId,
        messages: messages.map((m) => ({ messageId: m.messageId, body: parsedOrRaw(m.body), messageAttributes: m.attributes, attributes: m.system })),
        audit: hint,
      },
      null,
      2,
    );
  }
  const p = paint(color);
  const out: string[] = [];
  for (const m of messages) {
    out.push(p.bold(`Message ${m.messageId}`), '', p.bold('Body:'), prettyBody(m.body), '', p.bold('Message attributes:'));
    for (const [name, value] of Object.entries(m.attributes).sort(([a], [b]) => a.localeCompare(b))) {
      const [first, ...rest] = wrap(`${name}: ${value}`, width - 2);
      out.push(`  ${first}`, ...rest.map((text) => `    ${text}`));
    }
    out.push('', p.bold('System attributes:'));
    for (const [name, value] of Object.entries(m.system).sort(([a], [b]) => a.localeCompare(b))) {
      const shown = /Timestamp$/.test(name) && /^\d+$/.test(value) ? `${value} (${new Date(Number(value)).toISOString()})` : value;
      out.push(...wrap(`${name}: ${shown}`, width - 2).map((text) => `  ${text}`));
    }
    out.push('');
  }
  out.push(`The event's audit trail: ${hint}`);
  return out.join('\n');
}

function parsedOrRaw(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

// ---------------------------------------------------------------------------------------------
// Redrive

/** The queue a message goes back to: --to, its recorded source, or the only source queue. */
async function destinationOf(target: Target, message: DlqMessage, to: Queue | undefined): Promise<Queue> {
  if (to) return to;
  if (message.sourceArn) {
    const known = target.sources.find((q) => q.arn === message.sourceArn);
    if (known) return known;
    const [, , , , account, name] = message.sourceArn.split(':');
    const url = (await target.sqs.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }))).QueueUrl!;
    return { name, url, arn: message.sourceArn };
  }
  if (target.sources.length === 1) return target.sources[0];
  throw new UsageError(
    `message ${message.messageId} does not say which queue it came from, and the DLQ has ${target.sources.length} source queues (${target.sources.map((q) => q.name).join(', ')}): give --to <queue>`,
  );
}

async function resolveTo(target: Target, to: string | undefined): Promise<Queue | undefined> {
  if (to === undefined) return undefined;
  const name = queueName(to);
  const known = target.sources.find((q) => q.name === name || q.url === to || q.arn === to);
  if (known) return known;
  const guess = closest(name, target.sources.map((q) => q.name));
  throw new UsageError(`--to: ${to} is not a source queue of the DLQ (${target.sources.map((q) => q.name).join(', ') || 'none'})${guess ? `; did you mean ${guess}?` : ''}`);
}

/** Send to its queue, then (only once the send succeeded) delete from the DLQ. */
async function redriveOne(target: Target, message: DlqMessage, destination: Queue): Promise<string> {
  // The function's DLQ attributes describe the rejection, not the event: the body goes back alone.
  // A message SQS moved there keeps its own message attributes, as a move task would.
  const fromFunction = message.attributes.sourceQueueArn !== undefined;
  const sent = await target.sqs.send(
    new SendMessageCommand({
      QueueUrl: destination.url,
      MessageBody: message.body,
      // A FIFO source queue: the event's group again, deduplicated per DLQ message (a second
      // redrive of the same message within SQS's 5-minute window is not a second event).
      ...(destination.name.endsWith('.fifo') && {
        MessageGroupId: message.system.MessageGroupId ?? message.eventId ?? message.messageId,
        MessageDeduplicationId: message.messageId,
      }),
      ...(!fromFunction &&
        Object.keys(message.attributes).length > 0 && {
          MessageAttributes: Object.fromEntries(Object.entries(message.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])),
        }),
    }),
  );
  await target.sqs.send(new DeleteMessageCommand({ QueueUrl: target.dlq.url, ReceiptHandle: message.receiptHandle }));
  return sent.MessageId ?? '';
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function followMoveTask(target: Target, out: (line: string) => void, pollMs: number): Promise<boolean> {
  for (;;) {
    const [task] = (await target.sqs.send(new ListMessageMoveTasksCommand({ SourceArn: target.dlq.arn, MaxResults: 1 }))).Results ?? [];
    if (task === undefined) throw new Error('the move task is not listed');
    out(`  ${task.Status}: moved ${task.ApproximateNumberOfMessagesMoved ?? 0} of ${task.ApproximateNumberOfMessagesToMove ?? '?'}`);
    if (task.Status === 'COMPLETED') return true;
    if (task.Status === 'FAILED' || task.Status === 'CANCELLED') {
      out(`  ${task.Status}${task.FailureReason ? `: ${task.FailureReason}` : ''}`);
      return false;
    }
    await sleep(pollMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Main

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  if (values.version) {
    process.stdout.write(`${projectVersion()}\n`);
    return EXIT.ok;
  }
  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError(`a command is needed: ${COMMANDS.join(', ')}`);
  if (!(COMMANDS as readonly string[]).includes(command)) {
    const guess = closest(command, COMMANDS);
    throw new UsageError(`unknown command ${command}${guess ? ` (did you mean ${guess}?)` : ''}`);
  }
  const format = (values.format ?? 'table') as Format;
  if (!(FORMATS as readonly string[]).includes(format)) {
    const guess = closest(format, FORMATS);
    throw new UsageError(`--format must be table, json or csv, not ${format}${guess ? ` (did you mean ${guess}?)` : ''}`);
  }
  const max = values.max === undefined ? 1000 : Number(values.max);
  if (!Number.isInteger(max) || max < 1) throw new UsageError(`--max must be a whole number of at least 1, not ${values.max}`);
  if (command === 'show' && rest.length !== 1) throw new UsageError('show takes one event id: show <eventId>');
  if (command !== 'show' && rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
  if (command === 'show' && format === 'csv') throw new UsageError('show prints table or json');
  if (command !== 'redrive' && (values.event !== undefined || values.to !== undefined || values.yes)) {
    throw new UsageError(`--event, --to and --yes belong to redrive, not ${command}`);
  }
  if (values.stack === undefined && (values.region !== undefined || values.profile !== undefined)) {
    throw new UsageError('--region and --profile go with --stack (the local pipeline has its own)');
  }
  if (values.stack !== undefined && (values['local-dir'] !== undefined || values.as !== undefined)) {
    throw new UsageError('--local-dir and --as are for the local pipeline, not --stack');
  }
  // Decide before touching anything: a redrive nobody can confirm is refused.
  if (command === 'redrive' && !values.yes && !process.stdin.isTTY) {
    throw new UsageError('redrive asks for confirmation, and stdin is not a terminal: add --yes to redrive without asking');
  }

  if (values.profile !== undefined) process.env.AWS_PROFILE = values.profile;
  const target =
    values.stack !== undefined
      ? await stackTarget(values.stack, values.region)
      : await localTarget(resolve(userDirectory(), values['local-dir'] ?? DEFAULT_LOCAL_DIR), values.as ?? LOCAL_OPERATORS[0]);
  const color = useColor();
  const width = terminalWidth();
  const out = (text: string) => process.stdout.write(`${text}\n`);
  const err = (text: string) => process.stderr.write(`${text}\n`);
  try {
    const peeked = await peek(target, max);
    let held = peeked.messages;
    try {
      if (command === 'list') {
        out(renderList(peeked, format, width, color));
        if (format === 'csv') err(`Saw ${peeked.messages.length} message(s); ApproximateNumberOfMessages ${peeked.approximateVisible}.`);
        return EXIT.ok;
      }
      if (command === 'show') {
        const eventId = rest[0];
        const matching = peeked.messages.filter((m) => m.eventId === eventId);
        if (matching.length === 0) {
          const guess = closest(eventId, peeked.messages.map((m) => m.eventId ?? '').filter(Boolean));
          err(`No message of event ${eventId} in the DLQ of ${target.description} (saw ${peeked.messages.length})${guess ? `; did you mean ${guess}?` : ''}.`);
          return EXIT.failed;
        }
        const stack = values.stack !== undefined ? { name: values.stack, region: values.region, profile: values.profile } : undefined;
        out(renderShow(matching, eventId, format, width, color, stack));
        return EXIT.ok;
      }

      // redrive
      const to = await resolveTo(target, values.to);
      const selected = values.event !== undefined ? peeked.messages.filter((m) => m.eventId === values.event) : peeked.messages;
      if (values.event !== undefined && selected.length === 0) {
        err(`No message of event ${values.event} in the DLQ of ${target.description} (saw ${peeked.messages.length}).`);
        return EXIT.failed;
      }
      if (selected.length === 0) {
        out(`The DLQ of ${target.description} is empty: nothing to redrive.`);
        return EXIT.ok;
      }
      // SQS's move task places only what SQS's redrive moved there (DeadLetterQueueSourceArn); the
      // function's own rejections (a sourceQueueArn attribute) and a single event go one by one.
      const movedBySqs = (m: DlqMessage) => m.attributes.sourceQueueArn === undefined && m.system.DeadLetterQueueSourceArn !== undefined;
      const byTask = values.event !== undefined ? [] : selected.filter(movedBySqs);
      const oneByOne = selected.filter((m) => !byTask.includes(m));
      const plan = await Promise.all(oneByOne.map(async (m) => ({ message: m, destination: await destinationOf(target, m, to) })));
      const where = [...new Set([...plan.map((p) => p.destination.name), ...byTask.map((m) => to?.name ?? shortName(m.sourceArn))])];
      if (!values.yes && !(await confirm(`Redrive ${selected.length} message(s) from ${target.dlq.name} to ${where.join(', ')} (${target.description})?`))) {
        err('Nothing redriven.');
        return EXIT.failed;
      }
      let failed = 0;
      for (const { message, destination } of plan) {
        try {
          const newId = await redriveOne(target, message, destination);
          held = held.filter((m) => m !== message);
          out(`Redrove ${message.eventId ?? message.messageId} to ${destination.name} (new message ${newId}); deleted from ${target.dlq.name}.`);
        } catch (error) {
          failed += 1;
          err(`Could not redrive ${message.eventId ?? message.messageId} to ${destination.name}: ${(error as Error).message} (left in the DLQ)`);
        }
      }
      if (byTask.length > 0) {
        // The move task needs its messages visible: give those back (a failed one stays held, out of its way).
        await release(target, byTask);
        held = held.filter((m) => !byTask.includes(m));
        const started = await target.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: target.dlq.arn, ...(to && { DestinationArn: to.arn }) }));
        out(`Started message move task ${started.TaskHandle} (${target.dlq.name} -> ${to ? to.name : 'each message\'s source queue'}).`);
        if (!(await followMoveTask(target, out, values.stack !== undefined ? 5000 : 200))) failed += 1;
      }
      return failed === 0 ? EXIT.ok : EXIT.failed;
    } finally {
      if (held.length > 0) await release(target, held).catch((error: Error) => err(`Could not make ${held.length} message(s) visible again: ${error.message} (they reappear after ${HOLD_SECONDS} s)`));
    }
  } finally {
    target.close();
  }
}

if (require.main === module) runCommand(NAME, () => main(process.argv.slice(2)));
