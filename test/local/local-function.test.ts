/**
 * The local function stops an invocation at its timeout, as Lambda does: the runtime is stopped
 * wherever it is, so nothing it would have done after its deadline happens; the invocation fails;
 * the next one runs on a fresh instance. (A stand-in that let invocations outlive their deadline
 * let a late write land while another event held the same subject.)
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context, SQSEvent } from 'aws-lambda';
import { FunctionInvocationError, LocalFunction } from '../../local/pipeline/local-function';

jest.setTimeout(60_000);

const dir = mkdtempSync(join(tmpdir(), 'local-function-'));
const marks = join(dir, 'marks.txt');

const event = (sleepMs: number, mark: string): SQSEvent =>
  ({ Records: [{ messageId: mark, body: JSON.stringify({ sleepMs, file: marks, mark }) }] }) as unknown as SQSEvent;
const context = (remainingMs: number): Context =>
  ({ getRemainingTimeInMillis: () => remainingMs, awsRequestId: `req-${remainingMs}` }) as unknown as Context;

describe('LocalFunction at its timeout', () => {
  const fn = new LocalFunction({
    functionName: 'slow',
    handlerModule: join(__dirname, '../fixtures/functions/slow-handler.js'),
    environment: {},
    maxInstances: 1,
    memoryLimitInMB: 128,
    region: 'us-east-1',
    accountId: '000000000000',
    logFile: join(dir, 'function.log'),
  });

  afterAll(() => fn.stop());

  it('stops an invocation that outlives its deadline before it can act, and serves the next on a fresh instance', async () => {
    await expect(fn.invoke(event(8_000, 'late'), context(300))).rejects.toThrow(FunctionInvocationError);
    expect(fn.timeouts).toBe(1);
    expect(fn.coldStarts).toBe(1);

    // The next invocation, on the only instance slot, gets a fresh instance and completes.
    await expect(fn.invoke(event(0, 'next'), context(30_000))).resolves.toEqual({ batchItemFailures: [] });
    expect(fn.coldStarts).toBe(2);

    // Long after the stopped invocation's wait would have ended, its write never happened.
    await new Promise((resolve) => setTimeout(resolve, 8_500));
    expect(existsSync(marks) ? readFileSync(marks, 'utf8') : '').toBe('next\n');
  });
});
