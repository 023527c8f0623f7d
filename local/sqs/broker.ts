import { randomUUID, createHash } from 'node:crypto';
import { sqsErrors } from './errors';
import { md5Hex, md5OfMessageAttributes, type StoredAttributeValue } from './md5';
import { parsePolicy, PolicyError, type Policy } from '../iam';

/**
 * The in-memory SQS model: queues, messages, visibility, redrive, FIFO groups.
 * It knows nothing about HTTP, so the server and the programmatic API share it.
 *
 * Durations in the SQS API are whole seconds. `secondMs` says how long one of
 * those seconds lasts here, so tests can run a 2 s visibility timeout in 200 ms
 * while callers keep sending the integers the real API accepts.
 */
export interface BrokerOptions {
  region: string;
  accountId: string;
  secondMs: number;
  /** Base of queue URLs (the server's endpoint), read lazily: the port is known only after listen. */
  baseUrl: () => string;
}

export interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly messageAttributes: Record<string, StoredAttributeValue>;
  readonly md5OfMessageAttributes: string | undefined;
  readonly senderId: string;
  readonly sentTimestamp: number;
  readonly messageGroupId: string | undefined;
  readonly messageDeduplicationId: string | undefined;
  readonly sequenceNumber: string | undefined;
  readonly awsTraceHeader: string | undefined;
  /** Set when the message was moved here from a source queue by redrive. */
  deadLetterQueueSourceArn: string | undefined;
  receiveCount: number;
  firstReceiveTimestamp: number | undefined;
  /** The handle of the latest receive; older handles are stale. */
  currentReceiptHandle: string | undefined;
  /** Epoch ms before which the message cannot be received (delay or visibility timeout). */
  visibleAt: number;
}

export interface SendInput {
  body: string;
  delaySeconds?: number;
  messageAttributes?: Record<string, StoredAttributeValue>;
  messageGroupId?: string;
  messageDeduplicationId?: string;
  awsTraceHeader?: string;
  senderId?: string;
}

export interface SendResult {
  messageId: string;
  md5OfMessageBody: string;
  md5OfMessageAttributes: string | undefined;
  sequenceNumber: string | undefined;
}

export interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

export type MessageState = 'visible' | 'inFlight' | 'delayed';

/** A snapshot for tests and run summaries. */
export interface QueueSnapshot {
  name: string;
  url: string;
  arn: string;
  fifo: boolean;
  attributes: Record<string, string>;
  messages: Array<{
    messageId: string;
    body: string;
    state: MessageState;
    receiveCount: number;
    sentTimestamp: number;
    messageGroupId: string | undefined;
    messageAttributes: Record<string, StoredAttributeValue>;
    deadLetterQueueSourceArn: string | undefined;
  }>;
}

/** The range SQS accepts for MaximumMessageSize (1 KiB to 1 MiB since 2025). */
const MIN_MESSAGE_SIZE_BYTES = 1_024;
const MAX_MESSAGE_SIZE_BYTES = 1_048_576;

const DEFAULT_ATTRIBUTES: Record<string, string> = {
  VisibilityTimeout: '30',
  DelaySeconds: '0',
  ReceiveMessageWaitTimeSeconds: '0',
  MessageRetentionPeriod: '345600',
  // SQS's default since 2025 (it was 262144): the largest a queue may take.
  MaximumMessageSize: String(MAX_MESSAGE_SIZE_BYTES),
};
const SETTABLE_ATTRIBUTES = new Set([
  ...Object.keys(DEFAULT_ATTRIBUTES),
  'RedrivePolicy',
  'FifoQueue',
  'ContentBasedDeduplication',
  'Policy',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'SqsManagedSseEnabled',
  'DeduplicationScope',
  'FifoThroughputLimit',
  'RedriveAllowPolicy',
]);
const FIFO_DEDUPLICATION_INTERVAL_SECONDS = 300;
const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

interface ReceiptHandleContent {
  queueName: string;
  messageId: string;
}

export class LocalQueue {
  readonly messages: StoredMessage[] = [];
  readonly createdTimestamp = Math.floor(Date.now() / 1000);
  lastModifiedTimestamp = this.createdTimestamp;
  /** FIFO deduplication window: deduplication id → (message id, expiry). */
  readonly deduplication = new Map<string, { messageId: string; sequenceNumber: string; expiresAt: number }>();
  private readonly listeners = new Set<() => void>();
  /** The parsed `Policy` attribute: a queue without one is not policed (as before policies existed). */
  policy: Policy | undefined;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly arn: string,
    public attributes: Record<string, string>,
  ) {}

  get fifo(): boolean {
    return this.name.endsWith('.fifo');
  }

  seconds(attribute: string): number {
    return Number(this.attributes[attribute]);
  }

  redrivePolicy(): RedrivePolicy | undefined {
    const raw = this.attributes.RedrivePolicy;
    return raw === undefined ? undefined : parseRedrivePolicy(raw);
  }

  /** Wake long-polling receivers: something may have become receivable. */
  notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolve on the next notify(), after `ms`, or on abort, whichever is first. */
  waitForChange(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.listeners.delete(finish);
        signal.removeEventListener('abort', finish);
        resolve();
      };
      const timer = setTimeout(finish, Math.max(0, ms));
      this.listeners.add(finish);
      signal.addEventListener('abort', finish, { once: true });
    });
  }

  /** The earliest future moment a message becomes receivable (delay or visibility ends). */
  nextVisibleAt(now: number): number | undefined {
    let next: number | undefined;
    for (const message of this.messages) {
      if (message.visibleAt > now && (next === undefined || message.visibleAt < next)) next = message.visibleAt;
    }
    return next;
  }
}

export class SqsBroker {
  private readonly queuesByName = new Map<string, LocalQueue>();
  private sequence = 0n;

  constructor(private readonly options: BrokerOptions) {}

  get region(): string {
    return this.options.region;
  }
  get accountId(): string {
    return this.options.accountId;
  }

  secondsToMs(seconds: number): number {
    return seconds * this.options.secondMs;
  }

  queueUrl(name: string): string {
    return `${this.options.baseUrl()}/${this.options.accountId}/${name}`;
  }

  queueArn(name: string): string {
    return `arn:aws:sqs:${this.options.region}:${this.options.accountId}:${name}`;
  }

  createQueue(name: string, requestedAttributes: Record<string, string> = {}): LocalQueue {
    if (!/^[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(name) || name.length > 80) {
      throw sqsErrors.invalidParameterValue(
        'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
      );
    }
    const isFifoName = name.endsWith('.fifo');
    if (requestedAttributes.FifoQueue === 'true' && !isFifoName) {
      throw sqsErrors.invalidParameterValue('The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix.');
    }
    const attributes = this.validatedAttributes(requestedAttributes, isFifoName);
    const existing = this.queuesByName.get(name);
    if (existing) {
      // CreateQueue is idempotent only when every given attribute matches.
      for (const [key, value] of Object.entries(requestedAttributes)) {
        if (existing.attributes[key] !== value) throw sqsErrors.queueNameExists(name);
      }
      return existing;
    }
    const queue = new LocalQueue(name, this.queueUrl(name), this.queueArn(name), attributes);
    queue.policy = policyOf(attributes);
    this.queuesByName.set(name, queue);
    return queue;
  }

  setQueueAttributes(queue: LocalQueue, requestedAttributes: Record<string, string>): void {
    if ('FifoQueue' in requestedAttributes) throw sqsErrors.invalidAttributeName('FifoQueue');
    queue.attributes = this.validatedAttributes({ ...queue.attributes, ...requestedAttributes }, queue.fifo);
    queue.policy = policyOf(queue.attributes);
    queue.lastModifiedTimestamp = Math.floor(Date.now() / 1000);
    queue.notify();
  }

  /** Accepts a queue name, a queue URL of any host (last path segment is the name) or a queue ARN. */
  getQueue(nameUrlOrArn: string | undefined): LocalQueue {
    if (!nameUrlOrArn) throw sqsErrors.missingParameter('QueueUrl');
    const name = nameUrlOrArn.startsWith('arn:')
      ? nameUrlOrArn.split(':').pop()
      : nameUrlOrArn.replace(/\/+$/, '').split('/').pop();
    const queue = name === undefined ? undefined : this.queuesByName.get(name);
    if (!queue) throw sqsErrors.queueDoesNotExist();
    return queue;
  }

  listQueues(): LocalQueue[] {
    return [...this.queuesByName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  send(queue: LocalQueue, input: SendInput): SendResult {
    const now = Date.now();
    const messageAttributes = input.messageAttributes ?? {};
    validateMessageAttributes(messageAttributes);
    const maximumSize = Number(queue.attributes.MaximumMessageSize);
    // As SQS counts it: the body and every message attribute's name, data type and value.
    if (messageSize(input.body, messageAttributes) > maximumSize) {
      throw sqsErrors.invalidParameterValue(
        `One or more parameters are invalid. Reason: Message must be shorter than ${maximumSize} bytes.`,
      );
    }
    if (input.body.length === 0) throw sqsErrors.missingParameter('MessageBody');
    let deduplicationId: string | undefined;
    let sequenceNumber: string | undefined;
    if (queue.fifo) {
      if (!input.messageGroupId) throw sqsErrors.missingParameter('MessageGroupId');
      if (input.delaySeconds !== undefined && input.delaySeconds !== 0) {
        throw sqsErrors.invalidParameterValue(
          `Value ${input.delaySeconds} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.`,
        );
      }
      deduplicationId =
        input.messageDeduplicationId ??
        (queue.attributes.ContentBasedDeduplication === 'true'
          ? createHash('sha256').update(input.body, 'utf8').digest('hex')
          : undefined);
      if (deduplicationId === undefined) {
        throw sqsErrors.invalidParameterValue(
          'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
        );
      }
      for (const [id, entry] of queue.deduplication) if (entry.expiresAt <= now) queue.deduplication.delete(id);
      const duplicate = queue.deduplication.get(deduplicationId);
      if (duplicate) {
        // Accepted but not enqueued again, as SQS does within the 5-minute window.
        return {
          messageId: duplicate.messageId,
          md5OfMessageBody: md5Hex(input.body),
          md5OfMessageAttributes: md5OfMessageAttributes(messageAttributes),
          sequenceNumber: duplicate.sequenceNumber,
        };
      }
      this.sequence += 1n;
      sequenceNumber = (18_000_000_000_000_000_000n + this.sequence).toString();
    } else if (input.messageGroupId !== undefined && input.messageDeduplicationId !== undefined) {
      throw sqsErrors.invalidParameterValue(
        'The request include parameter MessageDeduplicationId that is not valid for this queue type',
      );
    }
    const delaySeconds = input.delaySeconds ?? queue.seconds('DelaySeconds');
    if (delaySeconds < 0 || delaySeconds > 900) {
      throw sqsErrors.invalidParameterValue(
        `Value ${delaySeconds} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.`,
      );
    }
    const message: StoredMessage = {
      messageId: randomUUID(),
      body: input.body,
      md5OfBody: md5Hex(input.body),
      messageAttributes,
      md5OfMessageAttributes: md5OfMessageAttributes(messageAttributes),
      senderId: input.senderId ?? `AIDA${this.options.accountId}LOCAL`,
      sentTimestamp: now,
      messageGroupId: input.messageGroupId,
      messageDeduplicationId: queue.fifo ? deduplicationId : undefined,
      sequenceNumber,
      awsTraceHeader: input.awsTraceHeader,
      deadLetterQueueSourceArn: undefined,
      receiveCount: 0,
      firstReceiveTimestamp: undefined,
      currentReceiptHandle: undefined,
      visibleAt: now + this.secondsToMs(delaySeconds),
    };
    queue.messages.push(message);
    if (deduplicationId !== undefined && sequenceNumber !== undefined) {
      queue.deduplication.set(deduplicationId, {
        messageId: message.messageId,
        sequenceNumber,
        expiresAt: now + this.secondsToMs(FIFO_DEDUPLICATION_INTERVAL_SECONDS),
      });
    }
    queue.notify();
    return {
      messageId: message.messageId,
      md5OfMessageBody: message.md5OfBody,
      md5OfMessageAttributes: message.md5OfMessageAttributes,
      sequenceNumber,
    };
  }

  /**
   * Take up to `max` receivable messages now and make them in flight.
   * FIFO: messages leave in order per group, and a group with a message in
   * flight yields nothing until that message is deleted or visible again.
   * Redrive: a message whose next receive would exceed maxReceiveCount moves
   * to the dead-letter queue instead of being returned.
   */
  take(queue: LocalQueue, max: number, visibilityTimeoutSeconds: number): StoredMessage[] {
    const now = Date.now();
    this.dropExpired(queue, now);
    const redrive = queue.redrivePolicy();
    const received: StoredMessage[] = [];
    const unavailableGroups = new Set<string>();
    if (queue.fifo) {
      for (const message of queue.messages) {
        if (message.receiveCount > 0 && message.visibleAt > now && message.messageGroupId !== undefined) {
          unavailableGroups.add(message.messageGroupId);
        }
      }
    }
    for (const message of [...queue.messages]) {
      if (received.length >= max) break;
      const group = queue.fifo ? message.messageGroupId : undefined;
      if (group !== undefined && unavailableGroups.has(group)) continue;
      if (message.visibleAt > now) {
        // A FIFO group is blocked behind its first message that is not receivable.
        if (group !== undefined) unavailableGroups.add(group);
        continue;
      }
      if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
        this.moveToDeadLetterQueue(queue, message, redrive);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceiveTimestamp ??= now;
      message.currentReceiptHandle = encodeReceiptHandle({ queueName: queue.name, messageId: message.messageId });
      message.visibleAt = now + this.secondsToMs(visibilityTimeoutSeconds);
      received.push(message);
    }
    return received;
  }

  /** Long poll: return as soon as anything is receivable, or empty after `waitSeconds`. */
  async receive(
    queue: LocalQueue,
    max: number,
    visibilityTimeoutSeconds: number,
    waitSeconds: number,
    signal: AbortSignal,
  ): Promise<StoredMessage[]> {
    const deadline = Date.now() + this.secondsToMs(waitSeconds);
    for (;;) {
      if (signal.aborted) return [];
      const received = this.take(queue, max, visibilityTimeoutSeconds);
      const now = Date.now();
      if (received.length > 0 || now >= deadline) return received;
      const wakeAt = Math.min(deadline, queue.nextVisibleAt(now) ?? deadline);
      await queue.waitForChange(wakeAt - now, signal);
    }
  }

  /**
   * SQS deletes with the latest receipt handle; per its documentation an older
   * handle "succeeds, but the message will not be deleted". A message that is
   * already gone is not an error either.
   */
  deleteMessage(queue: LocalQueue, receiptHandle: string): void {
    const handle = decodeReceiptHandle(receiptHandle);
    if (handle.queueName !== queue.name) throw sqsErrors.receiptHandleIsInvalid(receiptHandle);
    const index = queue.messages.findIndex((m) => m.messageId === handle.messageId);
    if (index < 0) return;
    if (queue.messages[index].currentReceiptHandle !== receiptHandle) return;
    queue.messages.splice(index, 1);
    queue.notify(); // the next message of a FIFO group may now be receivable
  }

  /** The new timeout counts from now, as in SQS. */
  changeMessageVisibility(queue: LocalQueue, receiptHandle: string, visibilityTimeoutSeconds: number): void {
    validateVisibilityTimeout(visibilityTimeoutSeconds);
    const handle = decodeReceiptHandle(receiptHandle);
    if (handle.queueName !== queue.name) throw sqsErrors.receiptHandleIsInvalid(receiptHandle);
    const message = queue.messages.find((m) => m.messageId === handle.messageId);
    if (!message) {
      throw sqsErrors.invalidParameterValue(
        `Value ${receiptHandle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
      );
    }
    if (message.currentReceiptHandle !== receiptHandle) {
      throw sqsErrors.invalidParameterValue(
        `Value ${receiptHandle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.`,
      );
    }
    const now = Date.now();
    if (message.visibleAt <= now) throw sqsErrors.messageNotInflight();
    message.visibleAt = now + this.secondsToMs(visibilityTimeoutSeconds);
    queue.notify();
  }

  purge(queue: LocalQueue): void {
    queue.messages.length = 0;
    queue.notify();
  }

  snapshot(queue: LocalQueue): QueueSnapshot {
    const now = Date.now();
    return {
      name: queue.name,
      url: queue.url,
      arn: queue.arn,
      fifo: queue.fifo,
      attributes: { ...queue.attributes },
      messages: queue.messages.map((message) => ({
        messageId: message.messageId,
        body: message.body,
        state: messageState(message, now),
        receiveCount: message.receiveCount,
        sentTimestamp: message.sentTimestamp,
        messageGroupId: message.messageGroupId,
        messageAttributes: { ...message.messageAttributes },
        deadLetterQueueSourceArn: message.deadLetterQueueSourceArn,
      })),
    };
  }

  /** Values of GetQueueAttributes, all strings as SQS returns them. */
  queueAttributes(queue: LocalQueue): Record<string, string> {
    const now = Date.now();
    const count = (state: MessageState): string =>
      String(queue.messages.filter((m) => messageState(m, now) === state).length);
    return {
      ...queue.attributes,
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: count('visible'),
      ApproximateNumberOfMessagesNotVisible: count('inFlight'),
      ApproximateNumberOfMessagesDelayed: count('delayed'),
      CreatedTimestamp: String(queue.createdTimestamp),
      LastModifiedTimestamp: String(queue.lastModifiedTimestamp),
    };
  }

  private moveToDeadLetterQueue(source: LocalQueue, message: StoredMessage, redrive: RedrivePolicy): void {
    const deadLetterQueue = this.getQueue(redrive.deadLetterTargetArn);
    source.messages.splice(source.messages.indexOf(message), 1);
    // Same message id, body, attributes and SentTimestamp; the receive count carries over.
    message.deadLetterQueueSourceArn = source.arn;
    message.currentReceiptHandle = undefined;
    message.visibleAt = Date.now();
    deadLetterQueue.messages.push(message);
    deadLetterQueue.notify();
  }

  private dropExpired(queue: LocalQueue, now: number): void {
    const retentionMs = this.secondsToMs(queue.seconds('MessageRetentionPeriod'));
    const kept = queue.messages.filter((m) => now - m.sentTimestamp < retentionMs);
    if (kept.length !== queue.messages.length) queue.messages.splice(0, queue.messages.length, ...kept);
  }

  private validatedAttributes(requested: Record<string, string>, fifo: boolean): Record<string, string> {
    for (const name of Object.keys(requested)) {
      if (!SETTABLE_ATTRIBUTES.has(name)) throw sqsErrors.invalidAttributeName(name);
    }
    const attributes: Record<string, string> = { ...DEFAULT_ATTRIBUTES, ...requested };
    validateVisibilityTimeout(Number(attributes.VisibilityTimeout));
    for (const name of ['DelaySeconds', 'ReceiveMessageWaitTimeSeconds', 'MessageRetentionPeriod', 'MaximumMessageSize']) {
      if (!/^\d+$/.test(attributes[name])) {
        throw sqsErrors.invalidParameterValue(`Invalid value for the parameter ${name}.`);
      }
    }
    const maximumSize = Number(attributes.MaximumMessageSize);
    if (maximumSize < MIN_MESSAGE_SIZE_BYTES || maximumSize > MAX_MESSAGE_SIZE_BYTES) {
      throw sqsErrors.invalidParameterValue('Invalid value for the parameter MaximumMessageSize.');
    }
    if (fifo) {
      attributes.FifoQueue = 'true';
      attributes.ContentBasedDeduplication ??= 'false';
    }
    policyOf(attributes); // refuses a policy the local evaluator cannot enforce
    if (attributes.RedrivePolicy !== undefined) {
      const policy = parseRedrivePolicy(attributes.RedrivePolicy);
      let target: LocalQueue;
      try {
        target = this.getQueue(policy.deadLetterTargetArn);
      } catch {
        throw sqsErrors.invalidParameterValue(
          `Value ${attributes.RedrivePolicy} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.`,
        );
      }
      if (target.fifo !== fifo) {
        throw sqsErrors.invalidParameterValue(
          `Value ${attributes.RedrivePolicy} for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be same type of queue as the source.`,
        );
      }
    }
    return attributes;
  }
}

function policyOf(attributes: Record<string, string>): Policy | undefined {
  if (attributes.Policy === undefined || attributes.Policy === '') return undefined;
  try {
    return parsePolicy(attributes.Policy);
  } catch (error) {
    if (error instanceof PolicyError) throw sqsErrors.invalidAttributeValue(`Invalid value for the parameter Policy. Reason: ${error.message}`);
    throw error;
  }
}

function messageState(message: StoredMessage, now: number): MessageState {
  if (message.visibleAt <= now) return 'visible';
  return message.receiveCount > 0 && message.currentReceiptHandle !== undefined ? 'inFlight' : 'delayed';
}

export function parseRedrivePolicy(raw: string): RedrivePolicy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw sqsErrors.invalidParameterValue(`Value ${raw} for parameter RedrivePolicy is invalid. Reason: Invalid JSON.`);
  }
  const candidate = parsed as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
  const maxReceiveCount = Number(candidate.maxReceiveCount);
  if (
    typeof candidate.deadLetterTargetArn !== 'string' ||
    !Number.isInteger(maxReceiveCount) ||
    maxReceiveCount < 1 ||
    maxReceiveCount > 1000
  ) {
    throw sqsErrors.invalidParameterValue(
      `Value ${raw} for parameter RedrivePolicy is invalid. Reason: Redrive policy requires deadLetterTargetArn and maxReceiveCount between 1 and 1000.`,
    );
  }
  return { deadLetterTargetArn: candidate.deadLetterTargetArn, maxReceiveCount };
}

function validateVisibilityTimeout(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_VISIBILITY_TIMEOUT_SECONDS) {
    throw sqsErrors.invalidParameterValue(
      `Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.`,
    );
  }
}

function validateMessageAttributes(attributes: Record<string, StoredAttributeValue>): void {
  if (Object.keys(attributes).length > 10) {
    throw sqsErrors.invalidParameterValue('Number of message attributes [' + Object.keys(attributes).length + '] exceeds the allowed maximum [10].');
  }
  for (const [name, value] of Object.entries(attributes)) {
    if (!/^(String|Number|Binary)(\..+)?$/.test(value.DataType ?? '')) {
      throw sqsErrors.invalidParameterValue(`The type of message (user) attribute '${name}' is invalid.`);
    }
    const isBinary = value.DataType.startsWith('Binary');
    // SQS refuses an empty value as it refuses a missing one.
    if (isBinary ? value.BinaryValue === undefined || value.BinaryValue.length === 0 : !value.StringValue) {
      throw sqsErrors.invalidParameterValue(`Message (user) attribute '${name}' must contain a non-empty value of type '${value.DataType}'.`);
    }
  }
}

/**
 * A message's size as SQS measures it against MaximumMessageSize: the body's UTF-8 bytes plus,
 * for each message attribute, the UTF-8 bytes of its name and data type and the bytes of its value.
 */
export function messageSize(body: string, attributes: Record<string, StoredAttributeValue>): number {
  let size = Buffer.byteLength(body, 'utf8');
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value.DataType, 'utf8');
    size += value.BinaryValue !== undefined ? value.BinaryValue.length : Buffer.byteLength(value.StringValue ?? '', 'utf8');
  }
  return size;
}

function encodeReceiptHandle(content: ReceiptHandleContent): string {
  // A fresh nonce per receive makes every handle distinct, as in SQS.
  return Buffer.from(JSON.stringify({ ...content, nonce: randomUUID() }), 'utf8').toString('base64');
}

function decodeReceiptHandle(receiptHandle: string): ReceiptHandleContent {
  try {
    const parsed = JSON.parse(Buffer.from(receiptHandle, 'base64').toString('utf8')) as Partial<ReceiptHandleContent>;
    if (typeof parsed.queueName === 'string' && typeof parsed.messageId === 'string') {
      return { queueName: parsed.queueName, messageId: parsed.messageId };
    }
  } catch {
    // fall through: not one of ours
  }
  throw sqsErrors.receiptHandleIsInvalid(receiptHandle);
}

