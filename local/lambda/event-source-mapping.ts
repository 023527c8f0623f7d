import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createLambdaContext } from './context';
import { toSqsRecord } from './sqs-event';

/**
 * The SQS → Lambda event source mapping, run locally: pollers long-poll the
 * queue through the real SQS client, hand batches to the handler as Lambda
 * would, and delete what the handler did not report as failed
 * (ReportBatchItemFailures). Failed records are left alone: they come back
 * when their visibility timeout ends (or whatever the handler set with
 * ChangeMessageVisibility), and redrive moves them to the DLQ.
 */
export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface EventSourceMappingOptions {
  /** The local SQS endpoint URL, or its handle. */
  sqs: string | { endpoint: string };
  queueName: string;
  handler: SqsBatchHandler;
  /** Records per invocation (default 10). */
  batchSize?: number;
  /** ScalingConfig.MaximumConcurrency: at most this many invocations at once (default 2, the AWS minimum). */
  maxConcurrency?: number;
  functionTimeoutMs: number;
  /** Keep gathering up to batchSize for this long after the first message (default 0). */
  maximumBatchingWindowMs?: number;
  functionName?: string;
  memoryLimitInMB?: number;
  /** Region the client signs for (the local SQS accepts any); eventSourceARN comes from the queue's own ARN. */
  region?: string;
  /** Long-poll wait per ReceiveMessage (default 20, as Lambda's pollers use). */
  pollWaitTimeSeconds?: number;
  /** Checked between batches and every few ms: true stops the mapping. */
  stopWhen?: () => boolean;
  onBatch?: (batch: BatchOutcome) => void;
}

export type InvocationResult = 'success' | 'partialFailure' | 'error' | 'timeout' | 'invalidResponse';

export interface BatchOutcome {
  awsRequestId: string;
  messageIds: string[];
  /** Records left on the queue to come back (all of them unless result is success/partialFailure). */
  failedMessageIds: string[];
  result: InvocationResult;
  error?: unknown;
  durationMs: number;
  stats: EventSourceMappingStats;
}

export interface EventSourceMappingStats {
  /** Handler invocations (one per batch). */
  invocations: number;
  /** Batches received from the queue. */
  batches: number;
  /** Records delivered to the handler, redeliveries included. */
  records: number;
  deletedRecords: number;
  /** Records returned to the queue (reported failures plus every record of failed invocations). */
  failedRecords: number;
  /** Invocations that threw, timed out or returned an invalid batch response. */
  failedInvocations: number;
  timedOutInvocations: number;
  inFlightInvocations: number;
  maxConcurrentInvocations: number;
  pollErrors: number;
}

export interface RunningEventSourceMapping {
  stats(): EventSourceMappingStats;
  /** Stop polling and wait for in-flight invocations to finish (and their deletes). */
  stop(): Promise<void>;
  /** Settles when the mapping has stopped (after stop() or stopWhen). */
  readonly stopped: Promise<void>;
}

const SQS_MAX_MESSAGES_PER_RECEIVE = 10;
const STOP_CHECK_INTERVAL_MS = 25;
const BATCHING_WINDOW_POLL_MS = 20;
const POLL_ERROR_BACKOFF_MS = 100;

class InvalidBatchResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidBatchResponseError';
  }
}

class FunctionTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`Task timed out after ${timeoutMs} ms`);
    this.name = 'FunctionTimeoutError';
  }
}

export async function runEventSourceMapping(options: EventSourceMappingOptions): Promise<RunningEventSourceMapping> {
  const batchSize = options.batchSize ?? 10;
  const maxConcurrency = options.maxConcurrency ?? 2;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new Error('batchSize must be 1..10000');
  if (batchSize > SQS_MAX_MESSAGES_PER_RECEIVE && !options.maximumBatchingWindowMs) {
    throw new Error('batchSize above 10 needs maximumBatchingWindowMs, as in AWS');
  }
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) throw new Error('maxConcurrency must be a positive integer');

  const endpoint = typeof options.sqs === 'string' ? options.sqs : options.sqs.endpoint;
  const client = new SQSClient({
    endpoint,
    region: options.region ?? 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const { QueueUrl: queueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: options.queueName }));
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queueArn = Attributes?.QueueArn;
  if (!queueUrl || !queueArn) throw new Error(`Queue ${options.queueName} has no URL or ARN`);
  const [, , , region, accountId] = queueArn.split(':');
  const functionName = options.functionName ?? `${options.queueName.replace(/\.fifo$/, '')}-consumer`;

  const stats: EventSourceMappingStats = {
    invocations: 0,
    batches: 0,
    records: 0,
    deletedRecords: 0,
    failedRecords: 0,
    failedInvocations: 0,
    timedOutInvocations: 0,
    inFlightInvocations: 0,
    maxConcurrentInvocations: 0,
    pollErrors: 0,
  };
  const stopping = new AbortController();
  const requestStop = (): void => stopping.abort();
  const stopWatch = options.stopWhen
    ? setInterval(() => {
        if (options.stopWhen?.()) requestStop();
      }, STOP_CHECK_INTERVAL_MS)
    : undefined;

  const receive = async (max: number, waitSeconds: number): Promise<Message[]> => {
    const output = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(SQS_MAX_MESSAGES_PER_RECEIVE, max),
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: stopping.signal },
    );
    return output.Messages ?? [];
  };

  /** One long poll, then (with a batching window) top up until full or the window closes. */
  const collectBatch = async (): Promise<Message[]> => {
    const batch = await receive(batchSize, options.pollWaitTimeSeconds ?? 20);
    if (batch.length === 0 || !options.maximumBatchingWindowMs) return batch;
    const windowEnd = Date.now() + options.maximumBatchingWindowMs;
    while (batch.length < batchSize && Date.now() < windowEnd && !stopping.signal.aborted) {
      const more = await receive(batchSize - batch.length, 0);
      batch.push(...more);
      if (more.length === 0) await sleep(Math.min(BATCHING_WINDOW_POLL_MS, windowEnd - Date.now()));
    }
    return batch;
  };

  const deleteMessages = async (messages: Message[]): Promise<number> => {
    let deleted = 0;
    for (let start = 0; start < messages.length; start += SQS_MAX_MESSAGES_PER_RECEIVE) {
      const chunk = messages.slice(start, start + SQS_MAX_MESSAGES_PER_RECEIVE);
      const output = await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
      deleted += output.Successful?.length ?? 0;
    }
    return deleted;
  };

  const invoke = async (messages: Message[]): Promise<void> => {
    const startedAt = Date.now();
    const context = createLambdaContext({
      functionName,
      region,
      accountId,
      memoryLimitInMB: options.memoryLimitInMB ?? 256,
      deadline: startedAt + options.functionTimeoutMs,
    });
    const event: SQSEvent = { Records: messages.map((message) => toSqsRecord(message, queueArn)) };
    const messageIds = event.Records.map((record) => record.messageId);
    stats.invocations += 1;
    stats.records += messages.length;
    stats.inFlightInvocations += 1;
    stats.maxConcurrentInvocations = Math.max(stats.maxConcurrentInvocations, stats.inFlightInvocations);

    let result: InvocationResult;
    let failedIds: Set<string>;
    let error: unknown;
    try {
      const response = await withTimeout(options.handler(event, context), options.functionTimeoutMs);
      failedIds = failedItemIds(response, new Set(messageIds));
      result = failedIds.size === 0 ? 'success' : 'partialFailure';
    } catch (caught) {
      error = caught;
      failedIds = new Set(messageIds);
      result =
        caught instanceof FunctionTimeoutError ? 'timeout' : caught instanceof InvalidBatchResponseError ? 'invalidResponse' : 'error';
    } finally {
      stats.inFlightInvocations -= 1;
    }
    if (result === 'timeout') stats.timedOutInvocations += 1;
    if (result !== 'success' && result !== 'partialFailure') stats.failedInvocations += 1;
    stats.failedRecords += failedIds.size;

    const toDelete = messages.filter((message) => !failedIds.has(message.MessageId ?? ''));
    if (toDelete.length > 0) {
      // Await first: `stats.x += await …` would read x before the await and lose concurrent updates.
      const deleted = await deleteMessages(toDelete);
      stats.deletedRecords += deleted;
    }
    options.onBatch?.({
      awsRequestId: context.awsRequestId,
      messageIds,
      failedMessageIds: messageIds.filter((id) => failedIds.has(id)),
      result,
      ...(error !== undefined && { error }),
      durationMs: Date.now() - startedAt,
      stats: { ...stats },
    });
  };

  const poller = async (): Promise<void> => {
    while (!stopping.signal.aborted) {
      let messages: Message[];
      try {
        messages = await collectBatch();
      } catch (error) {
        if (stopping.signal.aborted) return;
        stats.pollErrors += 1;
        await sleep(POLL_ERROR_BACKOFF_MS);
        continue;
      }
      if (messages.length === 0) continue;
      // Messages received while stopping are simply not invoked: they return after their visibility timeout.
      if (stopping.signal.aborted) return;
      stats.batches += 1;
      await invoke(messages);
      if (options.stopWhen?.()) requestStop();
    }
  };

  // One poller per concurrency slot: a poller invokes one batch at a time, so
  // concurrent invocations can never exceed maxConcurrency.
  const stopped = Promise.all(Array.from({ length: maxConcurrency }, () => poller())).then(() => {
    if (stopWatch) clearInterval(stopWatch);
    client.destroy();
  });

  return {
    stats: () => ({ ...stats }),
    stop: async () => {
      requestStop();
      await stopped;
    },
    stopped,
  };
}

/**
 * ReportBatchItemFailures rules: no response, a null/empty list, or an empty
 * object mean full success; an entry with a missing, empty or unknown
 * itemIdentifier makes the whole batch fail.
 */
function failedItemIds(response: unknown, batchIds: Set<string>): Set<string> {
  if (response === undefined || response === null) return new Set();
  if (typeof response !== 'object') throw new InvalidBatchResponseError('Batch response is not an object');
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) throw new InvalidBatchResponseError('batchItemFailures is not a list');
  const ids = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !batchIds.has(id)) {
      throw new InvalidBatchResponseError(`Invalid itemIdentifier ${JSON.stringify(id)} in batchItemFailures`);
    }
    ids.add(id);
  }
  return ids;
}

/** The handler keeps running after a timeout (no sandbox to freeze here), but its result is ignored. */
function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FunctionTimeoutError(timeoutMs)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
