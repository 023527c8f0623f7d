/**
 * `npm run dlq -- ... --stack NAME`: the queues come from the stack's outputs (DescribeStacks,
 * answered here by a tiny CloudFormation stand-in speaking the query protocol's XML), the
 * credentials from the default chain (here a named profile in a temporary config, --profile).
 * AWS_ENDPOINT_URL_CLOUDFORMATION and AWS_ENDPOINT_URL_SQS point the real SDK at 127.0.0.1.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startLocalSqs, type LocalSqs } from '../../local/sqs';

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const STACK = 'IdentityProvisioner';

let sqs: LocalSqs;
let cloudFormation: Server;
let cloudFormationEndpoint: string;
let dir: string;
const describeCalls: string[] = [];

function describeStacksXml(outputs: Record<string, string>): string {
  const members = Object.entries(outputs)
    .map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${value}</OutputValue></member>`)
    .join('');
  return `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
<StackName>${STACK}</StackName><StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/${STACK}/1</StackId>
<CreationTime>2026-11-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${members}</Outputs>
</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DescribeStacksResponse>`;
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    NO_COLOR: '1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_CONFIG_FILE: join(dir, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
    AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormationEndpoint,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
  };
  return new Promise((done) => {
    const child = execFile(TSX, [join(ROOT, 'cli/dlq.ts'), ...args], { cwd: ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dlq-stack-'));
  writeFileSync(join(dir, 'config'), '[profile ops]\nregion = us-east-1\n');
  writeFileSync(join(dir, 'credentials'), '[ops]\naws_access_key_id = AKIAOPSOPSOPSOPSOPS1\naws_secret_access_key = not-checked\n');
  sqs = await startLocalSqs({ region: 'us-east-1' });
  const dlq = sqs.createQueue('stack-dlq');
  const redrive = { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 5 }) };
  const bus = sqs.createQueue('stack-events', redrive);
  const onboarding = sqs.createQueue('stack-producer-onboarding', redrive);
  const outputs = {
    QueueUrl: bus.url,
    QueueArn: bus.arn,
    DeadLetterQueueUrl: dlq.url,
    ProducerQueueUrlOnboarding: onboarding.url,
    EventBusName: 'bus',
  };
  cloudFormation = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      describeCalls.push(body);
      const known = new URLSearchParams(body).get('StackName') === STACK;
      response.writeHead(known ? 200 : 400, { 'content-type': 'text/xml' });
      response.end(
        known
          ? describeStacksXml(outputs)
          : `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id nope does not exist</Message></Error><RequestId>r-2</RequestId></ErrorResponse>`,
      );
    });
  });
  await new Promise<void>((ready) => cloudFormation.listen(0, '127.0.0.1', ready));
  cloudFormationEndpoint = `http://127.0.0.1:${(cloudFormation.address() as AddressInfo).port}`;
  // A rejection as the function writes it (its source recorded), and a message of unknown origin.
  sqs.sendMessage(
    'stack-dlq',
    {
      body: JSON.stringify({ id: 'stack-e1', type: 'user.suspended' }),
      messageAttributes: {
        eventId: { DataType: 'String', StringValue: 'stack-e1' },
        rejectionCode: { DataType: 'String', StringValue: 'INVALID_EVENT' },
        rejectionReason: { DataType: 'String', StringValue: 'data.user is required' },
        sourceQueueArn: { DataType: 'String', StringValue: onboarding.arn },
      },
    },
    { service: 'test', sourceArn: 'arn:aws:iam::000000000000:role/fn', sourceAccount: '000000000000', senderId: 'AROATEST:fn' },
  );
  sqs.sendMessage('stack-dlq', { body: JSON.stringify({ id: 'stack-e2' }) }, { service: 'test', sourceArn: 'x', sourceAccount: '000000000000', senderId: 'AIDATEST' });
});

afterAll(async () => {
  await new Promise<void>((closed) => cloudFormation?.close(() => closed()));
  await sqs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const stack = ['--stack', STACK, '--profile', 'ops'];
const ids = (name: string) => sqs.queue(name).messages.map((m) => (JSON.parse(m.body) as { id: string }).id).sort();

it("lists the DLQ named by the stack's DeadLetterQueueUrl output, with the profile's credentials", async () => {
  const result = await run(['list', '--format', 'json', ...stack]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const listed = JSON.parse(result.stdout) as { seen: number; messages: Array<Record<string, string>> };
  expect(listed.seen).toBe(2);
  expect(listed.messages.find((m) => m.eventId === 'stack-e1')).toMatchObject({ rejectionCode: 'INVALID_EVENT', sourceQueue: 'stack-producer-onboarding' });
  expect(describeCalls.at(-1)).toContain('Action=DescribeStacks');
});

it('show names the audit command for the same stack (npm run audit reads its AuditTableName output)', async () => {
  const result = await run(['show', 'stack-e1', ...stack]);
  expect(result).toMatchObject({ code: 0, stderr: '' });
  expect(result.stdout).toContain('npm run audit -- event stack-e1 --stack IdentityProvisioner --profile ops');
});

it('asks for --to when a message names no source and the stack has several source queues (exit 2)', async () => {
  const result = await run(['redrive', '--event', 'stack-e2', '--yes', ...stack]);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/2 source queues \(stack-events, stack-producer-onboarding\): give --to <queue>/);
  const misspelt = await run(['redrive', '--event', 'stack-e2', '--yes', '--to', 'stack-event', ...stack]);
  expect(misspelt.code).toBe(2);
  expect(misspelt.stderr).toMatch(/did you mean stack-events\?/);
});

it('redrives one event to the queue its sourceQueueArn names, and one of unknown origin with --to', async () => {
  const first = await run(['redrive', '--event', 'stack-e1', '--yes', ...stack]);
  expect(first).toMatchObject({ code: 0, stderr: '' });
  expect(ids('stack-producer-onboarding')).toEqual(['stack-e1']);
  const second = await run(['redrive', '--event', 'stack-e2', '--yes', '--to', 'stack-events', ...stack]);
  expect(second).toMatchObject({ code: 0, stderr: '' });
  expect(ids('stack-events')).toEqual(['stack-e2']);
  expect(ids('stack-dlq')).toEqual([]);
});

it('fails (exit 1) on a stack it cannot describe, and refuses --region without --stack (exit 2)', async () => {
  const missing = await run(['list', '--stack', 'nope', '--profile', 'ops']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/does not exist/);
  const usage = await run(['list', '--region', 'us-east-1']);
  expect(usage.code).toBe(2);
});
