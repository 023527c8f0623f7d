/**
 * `npm run send` as a user runs it: a child process, with dummy AWS credentials in its
 * environment, sending to the local SQS and EventBridge servers this test starts (--endpoint-url
 * for the "deployed stack" targets, an endpoints.json for the local-pipeline default).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseEvent } from '../../lambdas/domain/parse-event';
import { startLocalEventBridge, type LocalEventBridge } from '../../local/eventbridge';
import { startLocalSqs, type LocalSqs } from '../../local/sqs';

const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const QUEUE = 'identity-provisioner-events';
const BUS = 'identity-provisioner';

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Asynchronous on purpose: the servers answering the child live in this process's event loop. */
function runSend(args: string[]): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
  return new Promise((done) => {
    execFile(TSX, [join(ROOT, 'local/cli/send.ts'), ...args], { cwd: ROOT, env, timeout: 30_000 }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const v1 = (id: string, displayName: string) => ({
  id,
  type: 'group.upserted',
  occurredAt: '2026-11-02T09:00:00Z',
  actor: 'send-test',
  data: { group: { DisplayName: displayName } },
});
const putEventsStyle = (id: string, displayName: string) => ({ source: 'identity-provisioner.hr', 'detail-type': 'group.upserted', detail: v1(id, displayName) });

let sqs: LocalSqs;
let eventBridge: LocalEventBridge;
let dir: string;

beforeAll(async () => {
  sqs = await startLocalSqs({ region: 'us-east-1' });
  eventBridge = await startLocalEventBridge({ sqs, region: 'us-east-1' });
  dir = mkdtempSync(join(tmpdir(), 'send-test-'));
});

afterAll(async () => {
  await eventBridge?.stop();
  await sqs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh queue per test, so each test reads only what it sent. */
function freshQueue(name: string): { url: string; bodies: () => string[] } {
  const queue = sqs.createQueue(name);
  return { url: queue.url, bodies: () => sqs.queue(name).messages.map((m) => m.body) };
}

function eventsFile(name: string, lines: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('npm run send', () => {
  it('prints its usage with --help', async () => {
    const result = await runSend(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: npm run send -- FILE [options]');
    expect(result.stdout).toContain('--endpoint-url URL');
  });

  it('sends to a queue: v1 events and raw lines as they are, EventBridge entries as their v1 detail', async () => {
    const queue = freshQueue(`${QUEUE}-direct`);
    const raw = 'this line is not JSON';
    const file = eventsFile('queue.jsonl', [JSON.stringify(v1('send-q-1', 'Alpha')), JSON.stringify(putEventsStyle('send-q-2', 'Beta')), raw]);

    const result = await runSend([file, '--queue-url', queue.url, '--endpoint-url', sqs.endpoint, '--region', 'us-east-1']);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/#0 group\.upserted send-q-1: queued, message [0-9a-f-]{36}/);
    expect(result.stdout).toContain('Sent 3 to the queue and 0 to the bus; 0 failed.');
    const bodies = queue.bodies();
    expect(bodies).toHaveLength(3);
    // What the consumer will read: the two events parse as v1 events, the raw line stays raw.
    expect(parseEvent(bodies[0]).change.id).toBe('send-q-1');
    expect(parseEvent(bodies[1]).change.id).toBe('send-q-2');
    expect(bodies[2]).toBe(raw);
  });

  it('puts on a bus with --source for bare v1 events, and exits 1 naming the entry it could not send', async () => {
    const bus = 'send-test-bus';
    const file = eventsFile('bus.jsonl', [JSON.stringify(v1('send-b-1', 'Gamma')), JSON.stringify(putEventsStyle('send-b-2', 'Delta')), 'not json']);

    const result = await runSend([file, '--event-bus', bus, '--source', 'identity-provisioner.test', '--endpoint-url', eventBridge.endpoint, '--region', 'us-east-1']);

    expect(result.code).toBe(1);
    expect(result.stdout).toContain('#2 raw body "not json": NOT SENT: a raw (non-JSON) body can only be sent to a queue');
    expect(result.stdout).toContain('Sent 0 to the queue and 2 to the bus; 1 failed.');
    expect(eventBridge.events(bus).map((e) => [e.source, e['detail-type'], (e.detail as { id: string }).id])).toEqual([
      ['identity-provisioner.test', 'group.upserted', 'send-b-1'],
      ['identity-provisioner.hr', 'group.upserted', 'send-b-2'],
    ]);
  });

  it('sends to the running local pipeline named in endpoints.json: v1 events to its queue, EventBridge entries to its bus', async () => {
    const queue = freshQueue(`${QUEUE}-local`);
    const localDir = mkdtempSync(join(dir, 'local-'));
    writeFileSync(
      join(localDir, 'endpoints.json'),
      JSON.stringify({ region: 'us-east-1', sqsEndpoint: sqs.endpoint, queueUrl: queue.url, eventBridgeEndpoint: eventBridge.endpoint, eventBusName: BUS }),
    );
    const file = eventsFile('local.jsonl', [JSON.stringify(v1('send-l-1', 'Epsilon')), JSON.stringify(putEventsStyle('send-l-2', 'Zeta'))]);

    const result = await runSend([file, '--local-dir', localDir]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('to the local pipeline');
    expect(queue.bodies().map((body) => parseEvent(body).change.id)).toEqual(['send-l-1']);
    expect(eventBridge.events(BUS).map((e) => (e.detail as { id: string }).id)).toEqual(['send-l-2']);
  });

  it('exits 2 and points to npm start -- --events when no local pipeline runs', async () => {
    const file = eventsFile('none.jsonl', [JSON.stringify(v1('send-n-1', 'Eta'))]);
    const noPipeline = await runSend([file, '--local-dir', mkdtempSync(join(dir, 'empty-'))]);
    expect(noPipeline.code).toBe(2);
    expect(noPipeline.stderr).toContain('No local pipeline is running');
    expect(noPipeline.stderr).toContain('npm start -- --events FILE');

    // An endpoints.json left behind by an npm start that did not stop cleanly: nobody answers.
    const staleDir = mkdtempSync(join(dir, 'stale-'));
    writeFileSync(
      join(staleDir, 'endpoints.json'),
      JSON.stringify({ region: 'us-east-1', sqsEndpoint: 'http://127.0.0.1:9', queueUrl: 'http://127.0.0.1:9/000000000000/q', eventBridgeEndpoint: 'http://127.0.0.1:9', eventBusName: BUS }),
    );
    const stale = await runSend([file, '--local-dir', staleDir]);
    expect(stale.code).toBe(2);
    expect(stale.stderr).toContain('does not answer');
    expect(stale.stderr).toContain('npm start -- --events FILE');
  });

  it('refuses two targets at once with exit 2', async () => {
    const file = eventsFile('two.jsonl', [JSON.stringify(v1('send-t-1', 'Theta'))]);
    const result = await runSend([file, '--queue-url', 'http://127.0.0.1:9/000000000000/q', '--event-bus', BUS]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--queue-url and --event-bus are alternatives');
  });
});
