/**
 * `npm run dlq` as an operator runs it: a child process (tsx cli/dlq.ts) against a local pipeline
 * this test starts (its endpoints.json in a state directory, as npm start writes it), acting as
 * the local operator role, under the queue policies the stack writes. Two invalid events are
 * rejected to the DLQ; the event source mappings are then stopped, so what the command puts back
 * on a source queue stays there to be looked at.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localCredentialsFor } from '../../local/iam';
import { LOCAL_DEFAULTS, LOCAL_OPERATORS, LOCAL_PRODUCERS } from '../../local/pipeline/defaults';
import { LocalDoors } from '../../local/pipeline/doors';
import { LOCAL_NAMES, startLocalPipeline, type LocalPipeline } from '../../local/pipeline/pipeline';
import { routeEntries, sendThroughDoors } from '../../local/producer';

jest.setTimeout(180_000);

const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const SOURCE = 'identity-provisioner-producer-onboarding';
const DLQ = LOCAL_NAMES.deadLetterQueue;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Asynchronous on purpose: the servers answering the child live in this process's event loop. */
function runDlq(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  // The SDK's notice about Node versions is not the command's output.
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env };
  return new Promise((done) => {
    const child = execFile(TSX, [join(ROOT, 'cli/dlq.ts'), ...args], { cwd: ROOT, env: base, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end(); // stdin is a pipe, not a terminal
  });
}

const invalid = (id: string) => ({ id, type: 'user.suspended', occurredAt: '2026-11-30T09:00:00Z', actor: 'dlq-test', data: {} });

describe('npm run dlq against a local pipeline', () => {
  let pipeline: LocalPipeline;
  let workDir: string;
  let stateDir: string;
  const local = () => ['--local-dir', stateDir];

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'dlq-cli-'));
    stateDir = join(workDir, 'state');
    pipeline = await startLocalPipeline({
      ...LOCAL_DEFAULTS,
      emulatorTps: 0,
      requestsPerSecond: 50,
      producers: { hr: LOCAL_PRODUCERS.hr, onboarding: LOCAL_PRODUCERS.onboarding },
      stateDir,
      logFile: join(workDir, 'consumer.log'),
    });
    const { routed } = routeEntries(
      [{ producer: 'onboarding', event: invalid('dlq-a') }, { producer: 'onboarding', event: invalid('dlq-b') }],
      pipeline.doors,
      {},
    );
    const doors = new LocalDoors({ region: 'us-east-1', sqsEndpoint: pipeline.sqsEndpoint, eventBridgeEndpoint: pipeline.eventBridgeEndpoint, producers: pipeline.doors });
    await sendThroughDoors(routed, doors.doorFor).finally(() => doors.destroy());
    await pipeline.settled(90_000);
    // From here on nothing consumes the source queues: what is redriven stays there.
    for (const mapping of pipeline.mappings) await mapping.stop();
  });
  afterAll(async () => {
    await pipeline?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  const dlqEventIds = () => pipeline.sqs.queue(DLQ).messages.map((m) => m.messageAttributes.eventId?.StringValue ?? JSON.parse(m.body).id).sort();

  it('lists the rejected events without consuming them', async () => {
    expect(dlqEventIds()).toEqual(['dlq-a', 'dlq-b']);
    const result = await runDlq(['list', '--format', 'json', ...local()]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const listed = JSON.parse(result.stdout) as { seen: number; approximateNumberOfMessages: number; messages: Record<string, string>[] };
    expect(listed.seen).toBe(2);
    expect(listed.approximateNumberOfMessages).toBe(2);
    expect(listed.messages.map((m) => m.eventId).sort()).toEqual(['dlq-a', 'dlq-b']);
    expect(listed.messages[0]).toMatchObject({ rejectionCode: expect.any(String), sourceQueue: SOURCE, reason: expect.any(String) });
    expect(listed.messages[0].rejectedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    // Still there, and visible again at once.
    expect(pipeline.sqs.queue(DLQ).messages.map((m) => m.state)).toEqual(['visible', 'visible']);
  });

  it('wraps the reason to the terminal width in a table, never clipping it', async () => {
    const result = await runDlq(['list', ...local()], { COLUMNS: '50' });
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.every((line) => [...line].length <= 50)).toBe(true);
    const reason = pipeline.sqs.queue(DLQ).messages[0].messageAttributes.rejectionReason!.StringValue!;
    const flattened = lines.map((line) => line.trim()).join(' ');
    expect(flattened.replace(/\s+/g, '')).toContain(reason.replace(/\s+/g, ''));
    expect(result.stdout).toMatch(/Saw 2 message\(s\); ApproximateNumberOfMessages 2\./);
    expect(result.stdout).not.toMatch(/\u001b\[/); // NO_COLOR
  });

  it('shows one event: its body, every attribute and the audit command', async () => {
    const result = await runDlq(['show', 'dlq-a', ...local()]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('"id": "dlq-a"'); // pretty JSON
    for (const name of ['rejectionCode', 'rejectionReason', 'eventId', 'sourceMessageId', 'sourceQueueArn', 'rejectedAt', 'SentTimestamp']) {
      expect(result.stdout).toContain(`${name}:`);
    }
    expect(result.stdout).toContain('npm run audit -- event dlq-a');
    const json = await runDlq(['show', 'dlq-a', '--format', 'json', ...local()]);
    expect(JSON.parse(json.stdout)).toMatchObject({ eventId: 'dlq-a', messages: [{ body: { id: 'dlq-a' } }], audit: 'npm run audit -- event dlq-a' });
    const missing = await runDlq(['show', 'dlq-z', ...local()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No message of event dlq-z/);
  });

  it('refuses to redrive without --yes when stdin is not a terminal (exit 2), and touches nothing', async () => {
    const result = await runDlq(['redrive', '--event', 'dlq-a', ...local()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--yes/);
    expect(dlqEventIds()).toEqual(['dlq-a', 'dlq-b']);
  });

  it('redrives one event to its source queue as the operator, then deletes it from the DLQ', async () => {
    const result = await runDlq(['redrive', '--event', 'dlq-a', '--yes', ...local()]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(new RegExp(`Redrove dlq-a to ${SOURCE}`));
    expect(dlqEventIds()).toEqual(['dlq-b']);
    const back = pipeline.sqs.queue(SOURCE).messages;
    expect(back.map((m) => JSON.parse(m.body).id)).toEqual(['dlq-a']);
    // Sent as the operator, with the body only (the rejection attributes stay behind).
    expect(back[0].messageAttributes).toEqual({});
  });

  it("redrives all: the function's rejections one by one, what SQS moved there with a move task", async () => {
    // Let SQS's own redrive move dlq-a to the DLQ: received past maxReceiveCount without a delete.
    const operator = new SQSClient({ endpoint: pipeline.sqsEndpoint, region: 'us-east-1', credentials: localCredentialsFor(LOCAL_OPERATORS[0]) });
    try {
      const url = pipeline.sqs.queue(SOURCE).url;
      for (let i = 0; i <= LOCAL_DEFAULTS.maxReceiveCount; i++) await operator.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 0 }));
    } finally {
      operator.destroy();
    }
    expect(pipeline.sqs.queue(DLQ).messages.find((m) => JSON.parse(m.body).id === 'dlq-a')?.deadLetterQueueSourceArn).toBe(pipeline.sqs.queue(SOURCE).arn);

    const result = await runDlq(['redrive', '--yes', ...local()]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`Redrove dlq-b to ${SOURCE}`));
    expect(result.stdout).toMatch(/Started message move task \S+/);
    expect(result.stdout).toMatch(/COMPLETED: moved 1 of 1/);
    expect(pipeline.sqs.queue(DLQ).messages).toEqual([]);
    const back = pipeline.sqs.queue(SOURCE).messages;
    expect(back.map((m) => JSON.parse(m.body).id).sort()).toEqual(['dlq-a', 'dlq-b']);
    expect(pipeline.sqs.moveTasks(DLQ).at(-1)).toMatchObject({ status: 'COMPLETED', approximateNumberOfMessagesMoved: 1 });

    const empty = await runDlq(['redrive', '--yes', ...local()]);
    expect(empty).toMatchObject({ code: 0 });
    expect(empty.stdout).toMatch(/empty: nothing to redrive/);
  });

  it('acts as the operator: a role the source queue policy refuses leaves the message in the DLQ (exit 1)', async () => {
    // Put one back in the DLQ to have something to delete: a rejection from the function is
    // reproduced by sending as the function's role, the only sender the DLQ takes.
    const fn = new SQSClient({ endpoint: pipeline.sqsEndpoint, region: 'us-east-1', credentials: localCredentialsFor(pipeline.plan.resources.functionRoleArn) });
    try {
      await fn.send(
        new SendMessageCommand({
          QueueUrl: pipeline.sqs.queue(DLQ).url,
          MessageBody: JSON.stringify(invalid('dlq-c')),
          MessageAttributes: { eventId: { DataType: 'String', StringValue: 'dlq-c' }, sourceQueueArn: { DataType: 'String', StringValue: pipeline.sqs.queue(SOURCE).arn } },
        }),
      );
    } finally {
      fn.destroy();
    }
    const stranger = 'arn:aws:iam::000000000000:role/hr-feed';
    const refused = await runDlq(['redrive', '--event', 'dlq-c', '--yes', '--as', stranger, ...local()]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not authorized/);
    expect(dlqEventIds()).toContain('dlq-c');
    const redriven = await runDlq(['redrive', '--event', 'dlq-c', '--yes', ...local()]);
    expect(redriven.code).toBe(0);
    const sent = pipeline.sqs.queue(SOURCE).messages.find((m) => JSON.parse(m.body).id === 'dlq-c');
    expect(sent).toBeDefined();
  });
});
