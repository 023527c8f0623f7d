import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export interface LambdaContextOptions {
  functionName: string;
  region: string;
  accountId: string;
  memoryLimitInMB: number;
  /** Epoch ms at which the invocation times out. */
  deadline: number;
}

/** A Lambda `Context` with the fields the Node.js runtime provides. */
export function createLambdaContext(options: LambdaContextOptions): Context {
  const now = new Date();
  const day = now.toISOString().slice(0, 10).replace(/-/g, '/');
  const callbacksUnsupported = (): never => {
    // The Node.js 24 runtime supports async handlers only.
    throw new Error('context.done/succeed/fail are not supported: return or throw from the async handler');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: options.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${options.region}:${options.accountId}:function:${options.functionName}`,
    memoryLimitInMB: String(options.memoryLimitInMB),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${options.functionName}`,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, options.deadline - Date.now()),
    done: callbacksUnsupported,
    fail: callbacksUnsupported,
    succeed: callbacksUnsupported,
  };
}
