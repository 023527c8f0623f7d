/**
 * `npm run send` as a user runs it: a child process, with dummy AWS credentials in its
 * environment, sending to the local SQS and EventBridge servers this test starts (--endpoint-url
 * for the "deployed stack" targets, an endpoints.json for the local-pipeline default). The local
 * pipeline's doors carry the default settings' producers and policies, so sends are policed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startLocalEventBridge, type LocalEventBridge } from '../../local/eventbridge';
import { localUniqueIdFor } from '../../local/iam';
import { LOCAL_DEFAULTS, LOCAL_PRODUCERS } from '../../local/pipeline/defaults';
import { LOCAL_NAMES, planLocalIngestion } from '../../local/pipeline/ingestion';
import { startLocalDoors, type LocalEndpoints, type ProducerDoor } from '../../local/pipeline/pipeline';
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
function runSend(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', ...extraEnv };
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

/** The id of a v1 event in a message body: bare, or the detail of an envelope. */
const idOf = (body: string): string => {
  const parsed = JSON.parse(body) as { id?: string; detail?: { id: string } };
  return parsed.detail?.id ?? parsed.id!;
};

let sqs: LocalSqs;
let eventBridge: LocalEventBridge;
/** The local pipeline's doors, policed as npm start polices them. */
let local: { sqs: LocalSqs; eventBridge: LocalEventBridge; doors: Record<string, ProducerDoor> };
let localDir: string;
let dir: string;

beforeAll(async () => {
  sqs = await startLocalSqs({ region: 'us-east-1' });
  eventBridge = await startLocalEventBridge({ sqs, region: 'us-east-1' });
  local = await startLocalDoors(planLocalIngestion(LOCAL_DEFAULTS), { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
  dir = mkdtempSync(join(tmpdir(), 'send-test-'));
  localDir = mkdtempSync(join(dir, 'local-'));
  const endpoints: Omit<LocalEndpoints, 'dynamodbEndpoint' | 'auditTableName'> = {
    region: 'us-east-1',
    sqsEndpoint: local.sqs.endpoint,
    eventBridgeEndpoint: local.eventBridge.endpoint,
    eventBusName: LOCAL_NAMES.bus,
    producers: local.doors,
  };
  writeFileSync(join(localDir, 'endpoints.json'), JSON.stringify(endpoints));
});

afterAll(async () => {
  await eventBridge?.stop();
  await sqs?.stop();
  await local?.eventBridge.stop();
  await local?.sqs.stop();
  rmSync(dir, { recursive: true, force: true });
});

const localBodies = (queue: string) => local.sqs.queue(queue).messages.map((m) => m.body);

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
    expect(result.stdout).toContain('--producer NAME');
  });

  it('sends to a queue: v1 events and raw bodies (JSON strings) as they are, EventBridge entries as their v1 detail', async () => {
    const queue = freshQueue(`${QUEUE}-direct`);
    const raw = 'this line is not JSON';
    const file = eventsFile('queue.jsonl', [JSON.stringify(v1('send-q-1', 'Alpha')), JSON.stringify(putEventsStyle('send-q-2', 'Beta')), JSON.stringify(raw)]);

    const result = await runSend([file, '--queue-url', queue.url, '--endpoint-url', sqs.endpoint, '--region', 'us-east-1']);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/#0 group\.upserted send-q-1: queued, message [0-9a-f-]{36}/);
    expect(result.stdout).toContain('Sent 3 to a queue and 0 to the bus; 0 refused by policy; 0 failed.');
    const bodies = queue.bodies();
    expect(bodies).toHaveLength(3);
    // What a producer queue takes: bare v1 documents (the PutEvents-style entry as its detail); the raw line stays raw.
    expect(JSON.parse(bodies[0])).toEqual(v1('send-q-1', 'Alpha'));
    expect(JSON.parse(bodies[1])).toEqual(v1('send-q-2', 'Beta'));
    expect(bodies[2]).toBe(raw);
  });

  it('puts on a bus with --source for bare v1 events, and exits 1 naming the entry it could not send', async () => {
    const bus = 'send-test-bus';
    const file = eventsFile('bus.jsonl', [JSON.stringify(v1('send-b-1', 'Gamma')), JSON.stringify(putEventsStyle('send-b-2', 'Delta')), JSON.stringify('not json')]);

    const result = await runSend([file, '--event-bus', bus, '--source', 'identity-provisioner.test', '--endpoint-url', eventBridge.endpoint, '--region', 'us-east-1']);

    expect(result.code).toBe(1);
    expect(result.stdout).toContain('#2 raw body "not json": NOT SENT: a raw (non-JSON) body can only be sent to a queue');
    expect(result.stdout).toContain('Sent 0 to a queue and 2 to the bus; 0 refused by policy; 1 failed.');
    expect(eventBridge.events(bus).map((e) => [e.source, e['detail-type'], (e.detail as { id: string }).id])).toEqual([
      ['identity-provisioner.test', 'group.upserted', 'send-b-1'],
      ['identity-provisioner.hr', 'group.upserted', 'send-b-2'],
    ]);
  });

  it('--producer with --event-bus gives v1 events the producer\'s default source', async () => {
    const bus = 'send-test-bus-producer';
    const file = eventsFile('bus-producer.jsonl', [JSON.stringify(v1('send-p-1', 'Iota'))]);
    const result = await runSend([file, '--event-bus', bus, '--producer', 'hr', '--endpoint-url', eventBridge.endpoint, '--region', 'us-east-1']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('as producer hr (source identity-provisioner.hr for v1 events)');
    expect(eventBridge.events(bus).map((e) => e.source)).toEqual(['identity-provisioner.hr']);
  });

  it("against a deployed stack, reports a queue policy's refusal of the caller's own credentials (exit 1)", async () => {
    const onboarding = local.doors.onboarding as Extract<ProducerDoor, { via: 'queue' }>;
    const file = eventsFile('refused.jsonl', [JSON.stringify(v1('send-r-1', 'Kappa'))]);
    const result = await runSend([file, '--queue-url', onboarding.queueUrl, '--producer', 'onboarding', '--endpoint-url', local.sqs.endpoint, '--region', 'us-east-1']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/#0 group\.upserted send-r-1: REFUSED by policy: AccessDenied: User: .* is not authorized to perform: sqs:sendmessage/);
    expect(result.stdout).toContain('0 to a queue and 0 to the bus; 1 refused by policy; 0 failed.');
  });

  it('sends to the running local pipeline through each producer\'s door, with its credentials', async () => {
    const onboarding = local.doors.onboarding as Extract<ProducerDoor, { via: 'queue' }>;
    const file = eventsFile('local.jsonl', [
      JSON.stringify(v1('send-l-1', 'Epsilon')),
      JSON.stringify(putEventsStyle('send-l-2', 'Zeta')),
      JSON.stringify({ producer: 'hr', event: v1('send-l-3', 'Eta') }),
    ]);

    const result = await runSend([file, '--local-dir', localDir]);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('to the local pipeline');
    // No --producer: a bare event as the default producer, an EventBridge entry as the bus producer of its source.
    expect(result.stdout).toMatch(/#0 group\.upserted send-l-1: queued as onboarding/);
    expect(result.stdout).toContain('#1 group.upserted send-l-2: put on the bus as hr');
    expect(result.stdout).toContain('#2 group.upserted send-l-3: put on the bus as hr');
    expect(localBodies(onboarding.queueName).map(idOf)).toEqual(['send-l-1']);
    expect(localBodies(LOCAL_NAMES.busQueue).map(idOf)).toEqual(['send-l-2', 'send-l-3']);
  });

  it('--producer sends the whole file as that producer, and the doors refuse what its grant or principal does not cover', async () => {
    const file = eventsFile('portal.jsonl', [
      JSON.stringify({ ...v1('send-a-1', 'app-chat'), type: 'membership.added', data: { userName: 'ada', groupDisplayName: 'app-chat' } }),
      JSON.stringify({ ...v1('send-a-2', 'Finance'), type: 'user.deleted', data: { userName: 'ada' } }),
      JSON.stringify({ producer: 'onboarding', principal: 'arn:aws:iam::000000000000:role/developer', event: v1('send-a-3', 'Mu') }),
    ]);

    const result = await runSend([file, '--local-dir', localDir, '--producer', 'access-portal']);

    expect(result.code).toBe(1);
    expect(result.stdout).toContain('#0 membership.added send-a-1: put on the bus as access-portal');
    expect(result.stdout).toMatch(/#1 user\.deleted send-a-2: REFUSED by policy as access-portal: NotAuthorizedForDetailTypeException/);
    expect(result.stdout).toMatch(/#2 group\.upserted send-a-3: REFUSED by policy as onboarding: AccessDenied/);
    expect(result.stdout).toContain('Sent 0 to a queue and 1 to the bus; 2 refused by policy; 0 failed.');
    const delivered = localBodies(LOCAL_NAMES.busQueue).map((body) => JSON.parse(body) as { account: string; source: string; detail: { id: string } });
    expect(delivered.find((e) => e.detail.id === 'send-a-1')).toMatchObject({ source: 'identity-provisioner.access-portal', account: '111122223333' });
  });

  it('signs as the producer: the SenderId is its role session', async () => {
    const onboarding = local.doors.onboarding as Extract<ProducerDoor, { via: 'queue' }>;
    const before = local.sqs.queue(onboarding.queueName).messages.length;
    const file = eventsFile('sender.jsonl', [JSON.stringify(v1('send-s-1', 'Nu'))]);
    const result = await runSend([file, '--local-dir', localDir, '--producer', 'onboarding']);
    expect(result.code).toBe(0);
    const client = new SQSClient({ endpoint: local.sqs.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const { Messages } = await client.send(new ReceiveMessageCommand({ QueueUrl: onboarding.queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['SenderId'] }));
    client.destroy();
    expect(Messages!.length).toBe(before + 1);
    const sent = Messages!.find((m) => idOf(m.Body!) === 'send-s-1')!;
    expect(sent.Attributes!.SenderId).toBe(`${localUniqueIdFor(LOCAL_PRODUCERS.onboarding.principals[0])}:local`);
  });

  it('refuses --producer that the local pipeline does not declare (exit 2)', async () => {
    const file = eventsFile('unknown.jsonl', [JSON.stringify(v1('send-u-1', 'Xi'))]);
    const result = await runSend([file, '--local-dir', localDir, '--producer', 'payroll']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--producer: "payroll" is not declared in the local pipeline (access-portal, hr, onboarding)');
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
      JSON.stringify({ region: 'us-east-1', sqsEndpoint: 'http://127.0.0.1:9', eventBridgeEndpoint: 'http://127.0.0.1:9', eventBusName: BUS, producers: {} }),
    );
    const stale = await runSend([file, '--local-dir', staleDir]);
    expect(stale.code).toBe(2);
    expect(stale.stderr).toContain('does not answer');
    expect(stale.stderr).toContain('npm start -- --events FILE');
  });

  it('reads FILE from the directory npm was run in (INIT_CWD): a pretty-printed event is one event', async () => {
    const queue = freshQueue(`${QUEUE}-pretty`);
    const userDir = mkdtempSync(join(dir, 'user-'));
    writeFileSync(join(userDir, 'one-event.json'), `${JSON.stringify(v1('send-o-1', 'Omicron'), null, 2)}\n`);

    const result = await runSend(['one-event.json', '--queue-url', queue.url, '--endpoint-url', sqs.endpoint, '--region', 'us-east-1'], { INIT_CWD: userDir });

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Sending 1 events from ${join(userDir, 'one-event.json')}`);
    expect(queue.bodies().map((body) => JSON.parse(body))).toEqual([v1('send-o-1', 'Omicron')]);
  });

  it('refuses a CSV file with file:line:column and exit 2, sending nothing', async () => {
    const queue = freshQueue(`${QUEUE}-csv`);
    const userDir = mkdtempSync(join(dir, 'user-'));
    writeFileSync(join(userDir, 'people.csv'), 'id,type,occurredAt\nsend-c-1,group.upserted,2026-11-02T09:00:00Z\n');

    const result = await runSend(['people.csv', '--queue-url', queue.url, '--endpoint-url', sqs.endpoint, '--region', 'us-east-1'], { INIT_CWD: userDir });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(userDir, 'people.csv')}:1:1: Unexpected token 'i'`);
    expect(result.stderr).toContain('Nothing was sent.');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(result.stdout).toBe('');
    expect(queue.bodies()).toEqual([]);
  });

  it('refuses two targets at once with exit 2', async () => {
    const file = eventsFile('two.jsonl', [JSON.stringify(v1('send-t-1', 'Theta'))]);
    const result = await runSend([file, '--queue-url', 'http://127.0.0.1:9/000000000000/q', '--event-bus', BUS]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--queue-url and --event-bus are alternatives');
  });
});
