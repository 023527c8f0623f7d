import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { SqsBroker, type LocalQueue, type QueueSnapshot, type SendInput, type SendResult, type StoredMessage } from './broker';
import { SqsError, sqsErrors } from './errors';
import { MessageMover, type MoveTask } from './move-tasks';
import type { StoredAttributeValue } from './md5';
import { evaluatePolicy, LocalPrincipals, senderIdOf, type LocalPrincipal, type RequestPrincipal } from '../iam';

/**
 * A local SQS speaking the JSON protocol (awsJson1_0) exactly as
 * @aws-sdk/client-sqs sends it: `POST /`, `X-Amz-Target: AmazonSQS.<Action>`,
 * `Content-Type: application/x-amz-json-1.0`. Signatures are not checked, but the access key id
 * tells who is calling (local/iam): a queue with a `Policy` attribute refuses SendMessage and
 * SendMessageBatch, and the message move tasks (StartMessageMoveTask, ListMessageMoveTasks,
 * CancelMessageMoveTask: local/sqs/move-tasks.ts), as its policy says; a queue without one takes
 * every caller, as before. Receive, delete and visibility changes are not policed locally.
 * Only the actions the project calls are served: queues are created, and their attributes set,
 * by the pipeline in-process (createQueue, setQueueAttributes), so SetQueueAttributes and
 * DeleteQueue over HTTP (with which any caller could have replaced a queue's policy) are not.
 */
export interface LocalSqsOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  region?: string;
  accountId?: string;
  /** How many real milliseconds one SQS second lasts (default 1000). Tests compress time with e.g. 100. */
  secondMs?: number;
  /** Who the access key ids stand for (default: nobody known, every caller is the unknown caller). */
  principals?: LocalPrincipals;
}

/** An AWS service sending for one of its resources, e.g. EventBridge for a rule (aws:SourceArn). */
export interface ServiceSender {
  service: string;
  sourceArn: string;
  sourceAccount: string;
  /** SQS's SenderId for the service's messages. */
  senderId: string;
}

export interface LocalSqs {
  readonly endpoint: string;
  readonly region: string;
  readonly accountId: string;
  createQueue(name: string, attributes?: Record<string, string>): QueueSnapshot;
  /** As SetQueueAttributes, e.g. to install a `Policy` once the ARNs it names exist. */
  setQueueAttributes(name: string, attributes: Record<string, string>): void;
  /**
   * Enqueue without HTTP, as an AWS service does for one of its resources (the local EventBridge's
   * rule targets): policed by the queue's policy like any other send.
   */
  sendMessage(queueName: string, input: SendInput, sender: ServiceSender): SendResult;
  /** Inspection for tests and run summaries: every queue with its messages, DLQs included. */
  queues(): QueueSnapshot[];
  queue(name: string): QueueSnapshot;
  /** The message move tasks started on a DLQ (oldest first), for tests. */
  moveTasks(sourceQueueName: string): MoveTask[];
  stop(): Promise<void>;
}

type JsonObject = Record<string, unknown>;
type ActionHandler = (input: JsonObject, signal: AbortSignal, caller: LocalPrincipal) => Promise<JsonObject> | JsonObject;

const MAX_BATCH_ENTRIES = 10;

export async function startLocalSqs(options: LocalSqsOptions = {}): Promise<LocalSqs> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  let endpoint = '';
  const broker = new SqsBroker({ region, accountId, secondMs: options.secondMs ?? 1000, baseUrl: () => endpoint });
  const principals = options.principals ?? new LocalPrincipals();
  const mover = new MessageMover(broker);
  const actions = sqsActions(broker, mover);
  const stopping = new AbortController();

  const server = createServer((request, response) => {
    const caller = principals.callerOf(request.headers.authorization, accountId);
    void handleRequest(actions, request, response, stopping.signal, caller);
  });
  // Long polls hold connections open for up to 20 s; never time them out server-side.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    region,
    accountId,
    createQueue: (name, attributes = {}) => broker.snapshot(broker.createQueue(name, attributes)),
    setQueueAttributes: (name, attributes) => broker.setQueueAttributes(broker.getQueue(name), attributes),
    sendMessage: (queueName, input, sender) => {
      const queue = broker.getQueue(queueName);
      authorizeSend(queue, {
        principal: { type: 'service', service: sender.service },
        context: { 'aws:SourceArn': sender.sourceArn, 'aws:SourceAccount': sender.sourceAccount },
        describe: sender.service,
      });
      return broker.send(queue, { ...input, senderId: sender.senderId });
    },
    queues: () => broker.listQueues().map((queue) => broker.snapshot(queue)),
    queue: (name) => broker.snapshot(broker.getQueue(name)),
    moveTasks: (sourceQueueName) => mover.tasksOf(broker.getQueue(sourceQueueName).arn).map((task) => ({ ...task })),
    stop: async () => {
      mover.stop();
      stopping.abort(); // ends pending long polls with an empty answer
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

async function handleRequest(
  actions: Record<string, ActionHandler>,
  request: IncomingMessage,
  response: ServerResponse,
  stopping: AbortSignal,
  caller: LocalPrincipal,
): Promise<void> {
  const requestId = randomUUID();
  // A client that hangs up (aborted long poll) must not take messages it will never see.
  const clientGone = new AbortController();
  response.on('close', () => clientGone.abort());
  const signal = AbortSignal.any([clientGone.signal, stopping]);
  try {
    const rawBody = await readBody(request);
    const target = String(request.headers['x-amz-target'] ?? '');
    const [service, action] = target.split('.');
    const handler = service === 'AmazonSQS' && action !== undefined ? actions[action] : undefined;
    if (request.method !== 'POST' || handler === undefined) throw sqsErrors.invalidAction(target || '(none)');
    let input: JsonObject;
    try {
      input = rawBody.length === 0 ? {} : (JSON.parse(rawBody) as JsonObject);
    } catch {
      throw sqsErrors.malformedRequest('The request body is not valid JSON.');
    }
    const output = await handler(input, signal, caller);
    send(response, 200, requestId, output);
  } catch (error) {
    if (error instanceof SqsError) {
      send(response, error.httpStatus, requestId, { __type: `${error.namespace}#${error.shapeName}`, message: error.message }, {
        'x-amzn-query-error': `${error.queryCode};${error.fault}`,
      });
    } else {
      send(response, 500, requestId, { __type: 'com.amazonaws.sqs#InternalError', message: String(error) }, {
        'x-amzn-query-error': 'InternalError;Receiver',
      });
    }
  }
}

function send(
  response: ServerResponse,
  status: number,
  requestId: string,
  body: JsonObject,
  extraHeaders: Record<string, string> = {},
): void {
  if (response.destroyed) return;
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': requestId,
    ...extraHeaders,
  });
  response.end(payload);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function sqsActions(broker: SqsBroker, mover: MessageMover): Record<string, ActionHandler> {
  const queueOf = (input: JsonObject): LocalQueue => broker.getQueue(optionalString(input, 'QueueUrl'));

  return {
    CreateQueue: (input) => {
      const queue = broker.createQueue(requiredString(input, 'QueueName'), stringMap(input.Attributes));
      return { QueueUrl: queue.url };
    },
    GetQueueUrl: (input) => ({ QueueUrl: broker.getQueue(requiredString(input, 'QueueName')).url }),
    ListQueues: (input) => {
      const prefix = optionalString(input, 'QueueNamePrefix') ?? '';
      const maxResults = optionalInteger(input, 'MaxResults') ?? 1000;
      const urls = broker.listQueues().filter((q) => q.name.startsWith(prefix)).map((q) => q.url);
      return { QueueUrls: urls.slice(0, maxResults) };
    },
    GetQueueAttributes: (input) => {
      const all = broker.queueAttributes(queueOf(input));
      const requested = stringList(input.AttributeNames);
      if (requested.length === 0) return {};
      if (requested.includes('All')) return { Attributes: all };
      const selected: Record<string, string> = {};
      for (const name of requested) {
        if (!KNOWN_QUEUE_ATTRIBUTES.has(name)) throw sqsErrors.invalidAttributeName(name);
        if (all[name] !== undefined) selected[name] = all[name];
      }
      return { Attributes: selected };
    },
    PurgeQueue: (input) => {
      broker.purge(queueOf(input));
      return {};
    },
    SendMessage: (input, _signal, caller) => {
      const queue = queueOf(input);
      authorizeSend(queue, callerRequest(caller));
      const result = broker.send(queue, { ...sendInput(input, 'MessageBody'), senderId: senderIdOf(caller) });
      return sendOutput(result);
    },
    SendMessageBatch: (input, _signal, caller) => {
      const queue = queueOf(input);
      // One authorisation for the whole call, as sqs:SendMessage: a refusal fails every entry.
      authorizeSend(queue, callerRequest(caller));
      const senderId = senderIdOf(caller);
      return runBatch(input, (entry) => ({ ...sendOutput(broker.send(queue, { ...sendInput(entry, 'MessageBody'), senderId })) }));
    },
    ReceiveMessage: async (input, signal) => {
      const queue = queueOf(input);
      const max = optionalInteger(input, 'MaxNumberOfMessages') ?? 1;
      if (max < 1 || max > 10) {
        throw sqsErrors.invalidParameterValue(
          `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`,
        );
      }
      const waitSeconds = optionalInteger(input, 'WaitTimeSeconds') ?? queue.seconds('ReceiveMessageWaitTimeSeconds');
      if (waitSeconds < 0 || waitSeconds > 20) {
        throw sqsErrors.invalidParameterValue(
          `Value ${waitSeconds} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.`,
        );
      }
      const visibilityTimeout = optionalInteger(input, 'VisibilityTimeout') ?? queue.seconds('VisibilityTimeout');
      const systemAttributeNames = [...stringList(input.MessageSystemAttributeNames), ...stringList(input.AttributeNames)];
      const messageAttributeNames = stringList(input.MessageAttributeNames);
      const messages = await broker.receive(queue, max, visibilityTimeout, waitSeconds, signal);
      if (messages.length === 0) return {};
      return { Messages: messages.map((m) => receivedMessage(m, systemAttributeNames, messageAttributeNames)) };
    },
    DeleteMessage: (input) => {
      broker.deleteMessage(queueOf(input), requiredString(input, 'ReceiptHandle'));
      return {};
    },
    DeleteMessageBatch: (input) => {
      const queue = queueOf(input);
      return runBatch(input, (entry) => {
        broker.deleteMessage(queue, requiredString(entry, 'ReceiptHandle'));
        return {};
      });
    },
    ChangeMessageVisibility: (input) => {
      broker.changeMessageVisibility(
        queueOf(input),
        requiredString(input, 'ReceiptHandle'),
        requiredInteger(input, 'VisibilityTimeout'),
      );
      return {};
    },
    /**
     * Authorised as SQS documents it: sqs:StartMessageMoveTask, sqs:ReceiveMessage,
     * sqs:DeleteMessage and sqs:GetQueueAttributes on the source (the DLQ), and sqs:SendMessage on
     * every queue a message is moved to, as the caller (checked per message when each returns
     * to its own source queue).
     */
    StartMessageMoveTask: (input, _signal, caller) => {
      const sourceArn = requiredString(input, 'SourceArn');
      const request = callerRequest(caller);
      let source: LocalQueue | undefined;
      try {
        source = broker.getQueue(sourceArn);
      } catch {
        source = undefined; // the mover answers ResourceNotFoundException
      }
      if (source !== undefined) {
        for (const action of ['sqs:StartMessageMoveTask', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']) {
          authorize(source, action, request);
        }
      }
      const task = mover.start({
        sourceArn,
        destinationArn: optionalString(input, 'DestinationArn'),
        maxNumberOfMessagesPerSecond: optionalInteger(input, 'MaxNumberOfMessagesPerSecond'),
        authorizeSend: (destination) => authorize(destination, 'sqs:SendMessage', request),
        senderId: senderIdOf(caller),
      });
      return { TaskHandle: task.taskHandle };
    },
    ListMessageMoveTasks: (input, _signal, caller) => {
      const sourceArn = requiredString(input, 'SourceArn');
      const source = queueIfExists(broker, sourceArn);
      if (source !== undefined) authorize(source, 'sqs:ListMessageMoveTasks', callerRequest(caller));
      const tasks = mover.list(sourceArn, optionalInteger(input, 'MaxResults') ?? 1);
      return { Results: tasks.map(moveTaskOutput) };
    },
    CancelMessageMoveTask: (input, _signal, caller) => {
      const taskHandle = requiredString(input, 'TaskHandle');
      const sourceArn = sourceArnOfTaskHandle(taskHandle);
      const source = sourceArn === undefined ? undefined : queueIfExists(broker, sourceArn);
      if (source !== undefined) authorize(source, 'sqs:CancelMessageMoveTask', callerRequest(caller));
      const task = mover.cancel(taskHandle);
      return { ApproximateNumberOfMessagesMoved: task.approximateNumberOfMessagesMoved };
    },
    ChangeMessageVisibilityBatch: (input) => {
      const queue = queueOf(input);
      return runBatch(input, (entry) => {
        broker.changeMessageVisibility(
          queue,
          requiredString(entry, 'ReceiptHandle'),
          requiredInteger(entry, 'VisibilityTimeout'),
        );
        return {};
      });
    },
  };
}

function queueIfExists(broker: SqsBroker, arn: string): LocalQueue | undefined {
  try {
    return broker.getQueue(arn);
  } catch {
    return undefined;
  }
}

/** Task handles are base64 JSON naming the source queue, as SQS's are. */
function sourceArnOfTaskHandle(taskHandle: string): string | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(taskHandle, 'base64').toString('utf8')) as { sourceArn?: unknown };
    return typeof parsed.sourceArn === 'string' ? parsed.sourceArn : undefined;
  } catch {
    return undefined;
  }
}

/** A ListMessageMoveTasks result entry: the handle only while the task runs, as SQS answers. */
function moveTaskOutput(task: MoveTask): JsonObject {
  return {
    ...(task.status === 'RUNNING' && { TaskHandle: task.taskHandle }),
    Status: task.status,
    SourceArn: task.sourceArn,
    ...(task.destinationArn !== undefined && { DestinationArn: task.destinationArn }),
    ...(task.maxNumberOfMessagesPerSecond !== undefined && { MaxNumberOfMessagesPerSecond: task.maxNumberOfMessagesPerSecond }),
    ApproximateNumberOfMessagesMoved: task.approximateNumberOfMessagesMoved,
    ApproximateNumberOfMessagesToMove: task.approximateNumberOfMessagesToMove,
    ...(task.failureReason !== undefined && { FailureReason: task.failureReason }),
    StartedTimestamp: task.startedTimestamp,
  };
}

interface SendRequest {
  principal: RequestPrincipal;
  context: Record<string, string | undefined>;
  /** The caller as IAM names it in an AccessDenied message. */
  describe: string;
}

function callerRequest(caller: LocalPrincipal): SendRequest {
  return {
    principal: { type: 'aws', arn: caller.arn, account: caller.account },
    // aws:PrincipalArn is the role's ARN for a role session, the user's ARN for a user.
    context: { 'aws:PrincipalArn': caller.arn, 'aws:PrincipalAccount': caller.account },
    describe: callerDisplayArn(caller),
  };
}

/** A role session as IAM names it in errors: arn:aws:sts::<account>:assumed-role/<role>/<session>. */
function callerDisplayArn(caller: LocalPrincipal): string {
  if (caller.kind !== 'role') return caller.arn;
  const roleName = caller.arn.split('/').pop();
  return `arn:aws:sts::${caller.account}:assumed-role/${roleName}/${caller.sessionName}`;
}

/** The queue's policy decides; a queue without a policy takes every sender. */
function authorizeSend(queue: LocalQueue, request: SendRequest): void {
  authorize(queue, 'sqs:SendMessage', request);
}

/** The queue's policy decides `action` (e.g. sqs:SendMessage); a queue without a policy allows all. */
function authorize(queue: LocalQueue, action: string, request: SendRequest): void {
  if (queue.policy === undefined) return;
  const [, , , , resourceAccount] = queue.arn.split(':');
  const decision = evaluatePolicy(queue.policy, {
    action,
    resource: queue.arn,
    resourceAccount,
    principal: request.principal,
    context: request.context,
  });
  if (decision.allowed) return;
  const lower = action.toLowerCase();
  const why = decision.by === 'explicitDeny' ? 'with an explicit deny in a resource-based policy' : `because no resource-based policy allows the ${lower} action`;
  throw sqsErrors.accessDenied(`User: ${request.describe} is not authorized to perform: ${lower} on resource: ${queue.arn} ${why}`);
}

const KNOWN_QUEUE_ATTRIBUTES = new Set([
  'All', 'Policy', 'VisibilityTimeout', 'MaximumMessageSize', 'MessageRetentionPeriod',
  'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'CreatedTimestamp',
  'LastModifiedTimestamp', 'QueueArn', 'ApproximateNumberOfMessagesDelayed', 'DelaySeconds',
  'ReceiveMessageWaitTimeSeconds', 'RedrivePolicy', 'FifoQueue', 'ContentBasedDeduplication',
  'KmsMasterKeyId', 'KmsDataKeyReusePeriodSeconds', 'DeduplicationScope', 'FifoThroughputLimit',
  'RedriveAllowPolicy', 'SqsManagedSseEnabled',
]);

/** Batch actions: per-entry failures go to `Failed`; request-level problems throw. */
function runBatch(input: JsonObject, perEntry: (entry: JsonObject) => JsonObject): JsonObject {
  const entries = Array.isArray(input.Entries) ? (input.Entries as JsonObject[]) : [];
  if (entries.length === 0) throw sqsErrors.emptyBatchRequest();
  if (entries.length > MAX_BATCH_ENTRIES) throw sqsErrors.tooManyEntriesInBatchRequest(entries.length);
  const seen = new Set<string>();
  for (const entry of entries) {
    const id = requiredString(entry, 'Id');
    if (seen.has(id)) throw sqsErrors.batchEntryIdsNotDistinct(id);
    seen.add(id);
  }
  const successful: JsonObject[] = [];
  const failed: JsonObject[] = [];
  for (const entry of entries) {
    try {
      successful.push({ Id: entry.Id, ...perEntry(entry) });
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      failed.push({ Id: entry.Id, SenderFault: error.fault === 'Sender', Code: error.queryCode, Message: error.message });
    }
  }
  return { Successful: successful, Failed: failed };
}

function sendInput(input: JsonObject, bodyField: string): SendInput {
  const systemAttributes = (input.MessageSystemAttributes ?? {}) as Record<string, { StringValue?: string }>;
  return {
    body: requiredString(input, bodyField),
    delaySeconds: optionalInteger(input, 'DelaySeconds'),
    messageAttributes: attributesFromWire(input.MessageAttributes),
    messageGroupId: optionalString(input, 'MessageGroupId'),
    messageDeduplicationId: optionalString(input, 'MessageDeduplicationId'),
    awsTraceHeader: systemAttributes.AWSTraceHeader?.StringValue,
  };
}

function sendOutput(result: SendResult): JsonObject {
  return {
    MessageId: result.messageId,
    MD5OfMessageBody: result.md5OfMessageBody,
    ...(result.md5OfMessageAttributes && { MD5OfMessageAttributes: result.md5OfMessageAttributes }),
    ...(result.sequenceNumber && { SequenceNumber: result.sequenceNumber }),
  };
}

function receivedMessage(message: StoredMessage, systemAttributeNames: string[], messageAttributeNames: string[]): JsonObject {
  const system: Record<string, string | undefined> = {
    SenderId: message.senderId,
    SentTimestamp: String(message.sentTimestamp),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp),
    AWSTraceHeader: message.awsTraceHeader,
    MessageGroupId: message.messageGroupId,
    MessageDeduplicationId: message.messageDeduplicationId,
    SequenceNumber: message.sequenceNumber,
    DeadLetterQueueSourceArn: message.deadLetterQueueSourceArn,
  };
  const wantAllSystem = systemAttributeNames.includes('All');
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(system)) {
    if (value !== undefined && (wantAllSystem || systemAttributeNames.includes(name))) attributes[name] = value;
  }
  const selectedAttributes: Record<string, JsonObject> = {};
  for (const [name, value] of Object.entries(message.messageAttributes)) {
    if (messageAttributeSelected(name, messageAttributeNames)) selectedAttributes[name] = attributeToWire(value);
  }
  return {
    MessageId: message.messageId,
    ReceiptHandle: message.currentReceiptHandle,
    MD5OfBody: message.md5OfBody,
    Body: message.body,
    ...(Object.keys(attributes).length > 0 && { Attributes: attributes }),
    ...(Object.keys(selectedAttributes).length > 0 && {
      MessageAttributes: selectedAttributes,
      MD5OfMessageAttributes: message.md5OfMessageAttributes,
    }),
  };
}

/** `All`, `.*`, exact names, and `prefix.*` patterns, as SQS accepts them. */
function messageAttributeSelected(name: string, requested: string[]): boolean {
  return requested.some(
    (pattern) =>
      pattern === 'All' ||
      pattern === '.*' ||
      pattern === name ||
      (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -1))),
  );
}

function attributesFromWire(raw: unknown): Record<string, StoredAttributeValue> {
  const attributes: Record<string, StoredAttributeValue> = {};
  for (const [name, value] of Object.entries((raw ?? {}) as Record<string, JsonObject>)) {
    attributes[name] = {
      DataType: String(value.DataType ?? ''),
      ...(typeof value.StringValue === 'string' && { StringValue: value.StringValue }),
      ...(typeof value.BinaryValue === 'string' && { BinaryValue: Buffer.from(value.BinaryValue, 'base64') }),
    };
  }
  return attributes;
}

function attributeToWire(value: StoredAttributeValue): JsonObject {
  return {
    DataType: value.DataType,
    ...(value.StringValue !== undefined && { StringValue: value.StringValue }),
    ...(value.BinaryValue !== undefined && { BinaryValue: value.BinaryValue.toString('base64') }),
  };
}

function requiredString(input: JsonObject, name: string): string {
  const value = input[name];
  if (typeof value !== 'string' || value.length === 0) throw sqsErrors.missingParameter(name);
  return value;
}

function optionalString(input: JsonObject, name: string): string | undefined {
  const value = input[name];
  return typeof value === 'string' ? value : undefined;
}

function requiredInteger(input: JsonObject, name: string): number {
  const value = optionalInteger(input, name);
  if (value === undefined) throw sqsErrors.missingParameter(name);
  return value;
}

function optionalInteger(input: JsonObject, name: string): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw sqsErrors.invalidParameterValue(`Value ${String(value)} for parameter ${name} is invalid. Reason: must be an integer.`);
  }
  return value;
}

function stringList(raw: unknown): string[] {
  return Array.isArray(raw) ? raw.filter((v): v is string => typeof v === 'string') : [];
}

function stringMap(raw: unknown): Record<string, string> {
  const map: Record<string, string> = {};
  for (const [key, value] of Object.entries((raw ?? {}) as Record<string, unknown>)) map[key] = String(value);
  return map;
}
