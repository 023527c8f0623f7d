import { randomUUID } from 'node:crypto';
import { SqsError, sqsErrors } from './errors';
import type { LocalQueue, SqsBroker, StoredMessage } from './broker';

/**
 * SQS's message move tasks (DLQ redrive: StartMessageMoveTask, ListMessageMoveTasks,
 * CancelMessageMoveTask), as the service documents them:
 * - the source must be a queue some queue names as its dead-letter target (a DLQ of SQS queues);
 * - one active (RUNNING or CANCELLING) task per source queue;
 * - a task runs in the background, oldest message first, at MaxNumberOfMessagesPerSecond (1..500;
 *   unset: as fast as the backlog allows, here 500 per SQS second);
 * - with a DestinationArn every message goes there (same queue type as the source); without one,
 *   each message goes back to the queue SQS's redrive moved it from (its DeadLetterQueueSourceArn);
 * - a redriven message is a new message on its destination: new MessageId, sent now (retention and
 *   receive count start over), same body and message attributes;
 * - a failed move ends the task FAILED with a FailureReason; what it moved stays moved.
 *
 * Messages that SQS's redrive did not move there (here: the ones the function sends to the DLQ
 * itself, with its rejection attributes) carry no DeadLetterQueueSourceArn, so a task without a
 * DestinationArn has nowhere to put them. The service's documentation does not say what happens;
 * this model never drops or guesses: the task stops FAILED at the first such message, which stays
 * in the DLQ (what it moved before stays moved). `npm run dlq -- redrive` sends those messages to
 * the queue named by their `sourceQueueArn` attribute itself, before it starts a task.
 */
export type MoveTaskStatus = 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';

export interface MoveTask {
  readonly taskHandle: string;
  readonly sourceArn: string;
  readonly destinationArn: string | undefined;
  readonly maxNumberOfMessagesPerSecond: number | undefined;
  readonly startedTimestamp: number;
  readonly approximateNumberOfMessagesToMove: number;
  approximateNumberOfMessagesMoved: number;
  status: MoveTaskStatus;
  failureReason: string | undefined;
}

export interface MoveTaskRequest {
  sourceArn: string;
  destinationArn?: string;
  maxNumberOfMessagesPerSecond?: number;
  /** Throws (an SqsError) when the caller may not send to `destination`: a move sends as its caller. */
  authorizeSend: (destination: LocalQueue) => void;
  /** The SenderId of the moved messages (the caller's). */
  senderId: string;
}

/** How often a running task moves its next messages (in SQS seconds). */
const TICK_SECONDS = 0.1;
/** SQS's ceiling for MaxNumberOfMessagesPerSecond, also the rate of a task without one. */
const MAX_RATE = 500;

export class MessageMover {
  /** Every task, newest last, per source queue ARN. */
  private readonly tasks = new Map<string, MoveTask[]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly broker: SqsBroker) {}

  start(request: MoveTaskRequest): MoveTask {
    const source = this.sourceQueue(request.sourceArn);
    if (!this.isDeadLetterQueue(source)) {
      throw sqsErrors.invalidParameterValue(
        `Value ${request.sourceArn} for parameter SourceArn is invalid. Reason: Source queue must be configured as a Dead Letter Queue.`,
      );
    }
    const rate = request.maxNumberOfMessagesPerSecond;
    if (rate !== undefined && (!Number.isInteger(rate) || rate < 1 || rate > MAX_RATE)) {
      throw sqsErrors.invalidParameterValue(
        `Value ${rate} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and ${MAX_RATE}.`,
      );
    }
    let destination: LocalQueue | undefined;
    if (request.destinationArn !== undefined) {
      destination = this.destinationQueue(request.destinationArn);
      if (destination.fifo !== source.fifo) {
        throw sqsErrors.invalidParameterValue(
          `Value ${request.destinationArn} for parameter DestinationArn is invalid. Reason: The destination queue must be the same type as the source queue.`,
        );
      }
      if (destination.arn === source.arn) {
        throw sqsErrors.invalidParameterValue(`Value ${request.destinationArn} for parameter DestinationArn is invalid. Reason: Source and destination must differ.`);
      }
      request.authorizeSend(destination);
    }
    if (this.activeTask(source.arn) !== undefined) {
      throw sqsErrors.unsupportedOperation('There is already a task running. Only one active task is allowed for a source queue arn at a given time.');
    }
    const now = Date.now();
    const task: MoveTask = {
      taskHandle: Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn: source.arn }), 'utf8').toString('base64'),
      sourceArn: source.arn,
      destinationArn: destination?.arn,
      maxNumberOfMessagesPerSecond: rate,
      startedTimestamp: now,
      approximateNumberOfMessagesToMove: source.messages.filter((m) => m.visibleAt <= now).length,
      approximateNumberOfMessagesMoved: 0,
      status: 'RUNNING',
      failureReason: undefined,
    };
    const list = this.tasks.get(source.arn) ?? [];
    list.push(task);
    this.tasks.set(source.arn, list);
    this.schedule(task, source, request);
    return task;
  }

  /** Newest first, at most `maxResults` (1..10, default 1), as ListMessageMoveTasks answers. */
  list(sourceArn: string, maxResults = 1): MoveTask[] {
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 10) {
      throw sqsErrors.invalidParameterValue(`Value ${maxResults} for parameter MaxResults is invalid. Reason: Must be between 1 and 10.`);
    }
    const source = this.sourceQueue(sourceArn);
    if (!this.isDeadLetterQueue(source)) {
      throw sqsErrors.invalidParameterValue(`Value ${sourceArn} for parameter SourceArn is invalid. Reason: Source queue must be configured as a Dead Letter Queue.`);
    }
    return [...(this.tasks.get(source.arn) ?? [])].reverse().slice(0, maxResults);
  }

  /** Cancels a RUNNING task; the messages it moved stay moved. */
  cancel(taskHandle: string): MoveTask {
    const task = [...this.tasks.values()].flat().find((t) => t.taskHandle === taskHandle);
    if (task === undefined) throw sqsErrors.resourceNotFound('Task does not exist.');
    if (task.status !== 'RUNNING') throw sqsErrors.unsupportedOperation(`Only active tasks can be cancelled. This task is ${task.status}.`);
    task.status = 'CANCELLING';
    return task;
  }

  /** The tasks of one source queue, for tests: oldest first. */
  tasksOf(sourceArn: string): MoveTask[] {
    return [...(this.tasks.get(sourceArn) ?? [])];
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private activeTask(sourceArn: string): MoveTask | undefined {
    return this.tasks.get(sourceArn)?.find((t) => t.status === 'RUNNING' || t.status === 'CANCELLING');
  }

  private isDeadLetterQueue(queue: LocalQueue): boolean {
    return this.broker.listQueues().some((q) => q.redrivePolicy()?.deadLetterTargetArn === queue.arn);
  }

  private sourceQueue(arn: string): LocalQueue {
    if (!arn.startsWith('arn:')) throw sqsErrors.invalidParameterValue(`Value ${arn} for parameter SourceArn is invalid. Reason: Must be a queue ARN.`);
    try {
      return this.broker.getQueue(arn);
    } catch {
      throw sqsErrors.resourceNotFound('The resource that you specified for the SourceArn parameter does not exist.');
    }
  }

  private destinationQueue(arn: string): LocalQueue {
    if (!arn.startsWith('arn:')) throw sqsErrors.invalidParameterValue(`Value ${arn} for parameter DestinationArn is invalid. Reason: Must be a queue ARN.`);
    try {
      return this.broker.getQueue(arn);
    } catch {
      throw sqsErrors.resourceNotFound('The resource that you specified for the DestinationArn parameter does not exist.');
    }
  }

  private schedule(task: MoveTask, source: LocalQueue, request: MoveTaskRequest): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.tick(task, source, request);
      if (task.status === 'RUNNING' || task.status === 'CANCELLING') this.schedule(task, source, request);
    }, this.broker.secondsToMs(TICK_SECONDS));
    this.timers.add(timer);
  }

  private tick(task: MoveTask, source: LocalQueue, request: MoveTaskRequest): void {
    if (task.status === 'CANCELLING') {
      task.status = 'CANCELLED';
      return;
    }
    const perTick = Math.max(1, Math.floor((task.maxNumberOfMessagesPerSecond ?? MAX_RATE) * TICK_SECONDS));
    for (let moved = 0; moved < perTick; moved++) {
      if (task.approximateNumberOfMessagesMoved >= task.approximateNumberOfMessagesToMove) {
        task.status = 'COMPLETED';
        return;
      }
      const now = Date.now();
      const message = source.messages.find((m) => m.visibleAt <= now);
      if (message === undefined) {
        // Nothing receivable left (the rest were taken by someone else, or are in flight).
        task.status = 'COMPLETED';
        return;
      }
      try {
        this.move(task, source, message, request);
      } catch (error) {
        task.status = 'FAILED';
        task.failureReason = error instanceof SqsError ? `${error.queryCode}: ${error.message}` : String(error);
        return;
      }
    }
  }

  private move(task: MoveTask, source: LocalQueue, message: StoredMessage, request: MoveTaskRequest): void {
    const targetArn = task.destinationArn ?? message.deadLetterQueueSourceArn;
    if (targetArn === undefined) {
      throw sqsErrors.invalidParameterValue(
        `Message ${message.messageId} was not moved to ${source.arn} by a redrive policy: it has no original source queue to return to (give a DestinationArn).`,
      );
    }
    let destination: LocalQueue;
    try {
      destination = this.broker.getQueue(targetArn);
    } catch {
      throw sqsErrors.queueDoesNotExist();
    }
    request.authorizeSend(destination);
    this.broker.send(destination, {
      body: message.body,
      messageAttributes: message.messageAttributes,
      messageGroupId: message.messageGroupId,
      // A FIFO destination deduplicates on the DLQ message's id (SQS put it there as the id).
      ...(destination.fifo && { messageDeduplicationId: message.messageDeduplicationId ?? message.messageId }),
      awsTraceHeader: message.awsTraceHeader,
      senderId: request.senderId,
    });
    source.messages.splice(source.messages.indexOf(message), 1);
    source.notify();
    task.approximateNumberOfMessagesMoved += 1;
  }
}
