/**
 * One local "Lambda instance": a child process that loads the real handler module once (its
 * cold start) and then serves invocations sent by the parent over IPC. Its environment is the
 * function's configuration; its stdout is what CloudWatch Logs would receive.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createLambdaContext, type LambdaContextOptions } from '../lambda/context';

export interface InvokeMessage {
  kind: 'invoke';
  id: number;
  event: SQSEvent;
  context: LambdaContextOptions & { awsRequestId: string };
}

export type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'init-error'; message: string }
  | { kind: 'result'; id: number; response: SQSBatchResponse | undefined }
  | { kind: 'error'; id: number; name: string; message: string };

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

const send = (reply: WorkerReply) => process.send?.(reply);

// Ctrl-C in a terminal reaches the whole process group: the parent run decides when this instance
// stops (it finishes its invocation first, or is stopped with SIGTERM past the grace period).
process.on('SIGINT', () => undefined);
// The run is gone (killed without stopping its instances): nothing more will be asked of this one.
process.on('disconnect', () => process.exit(0));

async function main(): Promise<void> {
  const modulePath = process.env.LOCAL_HANDLER_MODULE;
  if (!modulePath) throw new Error('LOCAL_HANDLER_MODULE is not set');
  let handler: Handler;
  try {
    handler = ((await import(modulePath)) as { handler: Handler }).handler;
  } catch (error) {
    send({ kind: 'init-error', message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
  process.on('message', (message: InvokeMessage) => {
    if (message.kind !== 'invoke') return;
    const context = { ...createLambdaContext(message.context), awsRequestId: message.context.awsRequestId };
    handler(message.event, context).then(
      (response) => send({ kind: 'result', id: message.id, response: response ?? undefined }),
      (error: unknown) =>
        send({
          kind: 'error',
          id: message.id,
          name: error instanceof Error ? error.name : 'Error',
          message: error instanceof Error ? error.message : String(error),
        }),
    );
  });
  send({ kind: 'ready' });
}

void main();
