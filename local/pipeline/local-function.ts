/**
 * The consumer function, run locally as Lambda runs it: up to `maxInstances` worker processes
 * (started on demand: a cold start each), each handling one invocation at a time. What the
 * function prints is split as CloudWatch would: EMF metric documents are summed into `metrics`,
 * everything else is appended to the log file.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { InvokeMessage, WorkerReply } from './function-worker';
import { LOG_MESSAGE } from '../../lambdas/shared/telemetry';

/** What the consumer logs (lambdas/handlers/consumer-runtime.ts) when idempotency answers a delivery. */
export const DUPLICATE_LOG_MESSAGE = LOG_MESSAGE.duplicate;

export interface LocalFunctionOptions {
  functionName: string;
  /** Absolute path of the module exporting `handler`. */
  handlerModule: string;
  /** The function's environment (its configuration). */
  environment: Record<string, string>;
  maxInstances: number;
  memoryLimitInMB: number;
  region: string;
  accountId: string;
  logFile: string;
}

interface Instance {
  child: ChildProcess;
  busy: boolean;
  /** Stopped at an invocation's timeout: never handed out again. */
  dead?: boolean;
  pending: Map<number, { resolve: (r: SQSBatchResponse | undefined) => void; reject: (e: Error) => void }>;
}

export class FunctionInvocationError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = `FunctionInvocationError(${name})`;
  }
}

export class LocalFunction {
  /** Metric name -> sum of every value the function emitted (EMF). */
  readonly metrics = new Map<string, number>();
  /**
   * Event ids of deliveries the function answered from its idempotency store (its log line
   * "duplicate delivery answered from the idempotency store"), one entry per answer, in order.
   */
  readonly duplicateDeliveries: string[] = [];
  private readonly instances: Instance[] = [];
  private readonly waiting: ((instance: Instance) => void)[] = [];
  private readonly log: WriteStream;
  private nextId = 0;
  coldStarts = 0;
  /** Invocations stopped at the function's timeout. */
  timeouts = 0;

  constructor(private readonly options: LocalFunctionOptions) {
    mkdirSync(dirname(options.logFile), { recursive: true });
    this.log = createWriteStream(options.logFile, { flags: 'a' });
  }

  /** The event source mapping's handler. */
  readonly invoke = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse | undefined> => {
    const instance = await this.acquire();
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<SQSBatchResponse | undefined>((resolve, reject) => {
        const id = ++this.nextId;
        instance.pending.set(id, { resolve, reject });
        // As Lambda does at the function's timeout: the runtime is stopped wherever it is (no more
        // calls, no more writes), the invocation fails, and the next one gets a fresh instance.
        const remainingMs = context.getRemainingTimeInMillis();
        timer = setTimeout(() => {
          this.timeouts++;
          instance.dead = true;
          instance.pending.delete(id);
          // Out of the pool at once, so the next invocation may start a fresh instance in its place.
          const index = this.instances.indexOf(instance);
          if (index >= 0) this.instances.splice(index, 1);
          instance.child.kill('SIGKILL');
          reject(new FunctionInvocationError('Timeout', `Task timed out after ${(remainingMs / 1000).toFixed(2)} seconds`));
        }, remainingMs);
        const message: InvokeMessage = {
          kind: 'invoke',
          id,
          event,
          context: {
            functionName: this.options.functionName,
            region: this.options.region,
            accountId: this.options.accountId,
            memoryLimitInMB: this.options.memoryLimitInMB,
            deadline: Date.now() + context.getRemainingTimeInMillis(),
            awsRequestId: context.awsRequestId,
          },
        };
        instance.child.send(message);
      });
    } finally {
      clearTimeout(timer);
      this.release(instance);
    }
  };

  async stop(): Promise<void> {
    await Promise.all(
      this.instances.map(
        (instance) =>
          new Promise<void>((resolve) => {
            if (instance.child.exitCode !== null) return resolve();
            instance.child.once('exit', () => resolve());
            instance.child.kill('SIGTERM');
          }),
      ),
    );
    await new Promise<void>((resolve) => this.log.end(resolve));
  }

  private async acquire(): Promise<Instance> {
    const idle = this.instances.find((i) => !i.busy);
    if (idle) {
      idle.busy = true;
      return idle;
    }
    if (this.instances.length < this.options.maxInstances) {
      const instance = await this.start();
      instance.busy = true;
      return instance;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(instance: Instance): void {
    if (instance.dead) {
      // A waiter gets a fresh instance in its place (a cold start, as after a Lambda timeout).
      const next = this.waiting.shift();
      if (next) {
        this.start().then(
          (fresh) => {
            fresh.busy = true;
            next(fresh);
          },
          () => this.waiting.unshift(next),
        );
      }
      return;
    }
    const next = this.waiting.shift();
    if (next) next(instance);
    else instance.busy = false;
  }

  private start(): Promise<Instance> {
    this.coldStarts++;
    const child = fork(join(__dirname, 'function-worker.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...this.options.environment, LOCAL_HANDLER_MODULE: this.options.handlerModule },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const instance: Instance = { child, busy: false, pending: new Map() };
    createInterface({ input: child.stdout! }).on('line', (line) => this.consumeOutput(line));
    createInterface({ input: child.stderr! }).on('line', (line) => this.log.write(`${line}\n`));
    return new Promise((resolve, reject) => {
      child.on('message', (reply: WorkerReply) => {
        if (reply.kind === 'ready') {
          this.instances.push(instance);
          resolve(instance);
        } else if (reply.kind === 'init-error') {
          reject(new Error(`the function failed to initialise: ${reply.message}`));
        } else {
          const pending = instance.pending.get(reply.id);
          instance.pending.delete(reply.id);
          if (reply.kind === 'result') pending?.resolve(reply.response);
          else pending?.reject(new FunctionInvocationError(reply.name, reply.message));
        }
      });
      child.on('exit', (code) => {
        for (const pending of instance.pending.values()) pending.reject(new Error(`function instance exited (${code})`));
        instance.pending.clear();
        const index = this.instances.indexOf(instance);
        if (index >= 0) this.instances.splice(index, 1);
        reject(new Error(`function instance exited during init (${code})`));
      });
    });
  }

  private consumeOutput(line: string): void {
    if (line.startsWith('{') && line.includes('"_aws"')) {
      try {
        this.addEmf(JSON.parse(line) as Record<string, unknown>);
        return;
      } catch {
        // Not EMF after all: keep it as a log line.
      }
    }
    if (line.includes(DUPLICATE_LOG_MESSAGE)) {
      try {
        const entry = JSON.parse(line) as { message?: unknown; eventId?: unknown };
        if (entry.message === DUPLICATE_LOG_MESSAGE && typeof entry.eventId === 'string') this.duplicateDeliveries.push(entry.eventId);
      } catch {
        // Not the function's structured log line: nothing to count.
      }
    }
    this.log.write(`${line}\n`);
  }

  private addEmf(document: Record<string, unknown>): void {
    const aws = document._aws as { CloudWatchMetrics?: { Metrics?: { Name: string }[] }[] } | undefined;
    for (const directive of aws?.CloudWatchMetrics ?? []) {
      for (const { Name } of directive.Metrics ?? []) {
        const value = document[Name];
        const values = Array.isArray(value) ? value : [value];
        const sum = values.reduce<number>((acc, v) => acc + (typeof v === 'number' ? v : 0), 0);
        this.metrics.set(Name, (this.metrics.get(Name) ?? 0) + sum);
      }
    }
  }
}
