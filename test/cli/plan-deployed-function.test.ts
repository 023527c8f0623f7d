/**
 * `npm run plan -- --stack NAME` against what the real consumer handler did: the handler (its
 * configuration the "deployed" function's environment, its name in AWS_LAMBDA_FUNCTION_NAME as
 * Lambda sets it) applies some events, then a plan of them asks the idempotency table the way the
 * function's idempotency layer does and answers them as duplicates, refuses an id reused for other
 * content as ID_REUSED, and plans the rest; the handler then does exactly that. CloudFormation and
 * Lambda are a stand-in on 127.0.0.1 that serves the handler's own environment.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RUNTIME_ENV_KEYS } from '../../lambdas/shared/config';
import { at, events, person } from '../support/events';
import { deliver, failedMessageIds, lambdaContext, sqsEventOf } from '../handler/support/delivery';
import { auditedWritesOf, outcomesOf } from '../handler/support/store-view';
import { importHandler, startHandlerWorld, type HandlerWorld } from '../handler/support/world';

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const STACK = 'IdentityProvisioner';
const FUNCTION = 'IdentityProvisioner-Consumer-9Z8Y7X';

let world: HandlerWorld;
let handler: ReturnType<typeof importHandler>;
let stand: Server;
let standEndpoint: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plan-deployed-'));
  world = await startHandlerWorld({ queueKind: 'standard', maxReceiveCount: 3, redeliveryBaseDelaySeconds: 10, sqsSecondMs: 100 });
  // Lambda names the function in its environment; Powertools prefixes idempotency keys with it.
  process.env.AWS_LAMBDA_FUNCTION_NAME = FUNCTION;
  handler = importHandler();
  const environment = Object.fromEntries(RUNTIME_ENV_KEYS.map((key) => [key, process.env[key]!]));
  stand = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      if ((request.url ?? '').startsWith('/2015-03-31/functions/')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ FunctionName: FUNCTION, FunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${FUNCTION}`, Environment: { Variables: environment } }));
        return;
      }
      const outputs = { FunctionName: FUNCTION, QueueArn: world.busQueue.arn };
      const members = Object.entries(outputs).map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${value}</OutputValue></member>`).join('');
      response.writeHead(200, { 'content-type': 'text/xml' });
      response.end(
        `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${STACK}</StackName>` +
          `<StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/${STACK}/1</StackId><CreationTime>2026-11-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>` +
          `<Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
    });
  });
  await new Promise<void>((ready) => stand.listen(0, '127.0.0.1', ready));
  standEndpoint = `http://127.0.0.1:${(stand.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((closed) => stand?.close(() => closed()));
  await world?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function plan(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_CLOUDFORMATION: standEndpoint,
    AWS_ENDPOINT_URL_LAMBDA: standEndpoint,
    AWS_ENDPOINT_URL_IDENTITYSTORE: world.emulator.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: world.dynamo.endpoint,
  };
  return new Promise((done) => {
    const child = execFile(TSX, [join(ROOT, 'cli/plan.ts'), ...args], { cwd: ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

async function apply(bodies: object[]) {
  const response = await handler(await deliver(world, sqsEventOf(bodies)), lambdaContext());
  expect(failedMessageIds(response)).toEqual([]);
}

it('answers what the function already did from its idempotency table, refuses a reused id, plans the rest; the function then does just that', async () => {
  const everyone = events.groupUpserted('Everyone', { id: 'dep-g1', at: at(1) });
  const grace = events.userUpserted(person('grace'), { id: 'dep-u1', groups: ['Everyone'], at: at(2) });
  await apply([everyone, grace]);

  const reused = events.userUpserted(person('grace'), { id: 'dep-u1', groups: [], at: at(3) });
  const alan = events.userUpserted(person('alan'), { id: 'dep-u2', groups: ['Everyone'], at: at(4) });
  const file = join(dir, 'events.jsonl');
  writeFileSync(file, [everyone, grace, reused, alan].map((event) => JSON.stringify(event)).join('\n'));

  const result = await plan(['--events', file, '--stack', STACK, '--region', 'us-east-1', '--producer', 'tests', '--format', 'json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(2);
  const report = JSON.parse(result.stdout) as { target: string; entries: { eventId: string; outcome: string; errorCode?: string; reason?: string; writes: { action: string; userName?: string; groupDisplayName?: string }[] }[] };
  expect(report.target).toBe(`stack ${STACK} (function ${FUNCTION} in us-east-1)`);
  expect(report.entries.map((entry) => [entry.eventId, entry.outcome, entry.errorCode])).toEqual([
    ['dep-g1', 'DUPLICATE', undefined],
    ['dep-u1', 'DUPLICATE', undefined],
    ['dep-u1', 'REJECTED', 'ID_REUSED'],
    ['dep-u2', 'APPLIED', undefined],
  ]);
  expect(report.entries[0].reason).toMatch(/^already processed \(APPLIED\): the idempotency table remembers this event/);
  expect(report.entries[2].reason).toMatch(/^id: "dep-u1" was already used by this producer, within the last 60 minutes, for a different change/);
  const planned = report.entries[3].writes.map((write) => `${write.action} ${write.userName ?? ''} ${write.groupDisplayName ?? ''}`.trim());
  expect(planned).toEqual(['CreateUser alan', 'CreateGroupMembership alan Everyone']);

  // The function, given the same deliveries: duplicates answered, the reused id refused with the same words, alan applied.
  await apply([everyone, grace, reused, alan]);
  expect((await outcomesOf(world, 'dep-g1')).map((outcome) => outcome.outcome)).toEqual(['APPLIED']);
  expect((await outcomesOf(world, 'dep-u1')).map((outcome) => [outcome.outcome, outcome.errorCode])).toEqual([
    ['APPLIED', undefined],
    ['REJECTED', 'ID_REUSED'],
  ]);
  expect((await outcomesOf(world, 'dep-u1'))[1]!.errorMessage).toBe(report.entries[2].reason);
  expect(await auditedWritesOf(world, 'dep-u2')).toEqual(report.entries[3].writes.map((write) => write.action));
});
