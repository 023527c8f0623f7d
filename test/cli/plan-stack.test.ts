/**
 * `npm run plan -- --stack NAME`: the settings are the deployed consumer function's own
 * environment, read with Lambda GetFunctionConfiguration (the function named by the stack's
 * FunctionName output, else found among its resources), parsed by loadRuntimeConfig. Here a small
 * stand-in answers CloudFormation (query protocol XML) and Lambda (REST JSON); the Identity Store
 * is the emulator and DynamoDB a dynalite, all on 127.0.0.1 through the SDK's AWS_ENDPOINT_URL_*.
 * The deployed settings differ from the local ones (table names, a managed scope of prefix:app-),
 * so a plan that used anything else would show it.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEmulator, type RunningEmulator } from '../../local/emulator';
import { LOCAL_DEFAULTS } from '../../local/pipeline/defaults';
import { planLocalIngestion } from '../../local/pipeline/ingestion';
import { functionEnvironment } from '../../local/pipeline/pipeline';
import { startTestDynamo, type TestDynamo } from '../support/dynalite';

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const STACK = 'IdentityProvisioner';
const FUNCTION = 'IdentityProvisioner-Consumer-1A2B3C';
const TABLES = { audit: 'stack-audit', state: 'stack-state', idempotency: 'stack-idempotency' };

let stand: Server;
let standEndpoint: string;
let emulator: RunningEmulator;
let dynamo: TestDynamo;
let dir: string;
let withFunctionOutput = true;
const lambdaCalls: string[] = [];

function xml(body: string, action: string): string {
  return `<${action}Response xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><${action}Result>${body}</${action}Result><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></${action}Response>`;
}

function functionEnvironmentOfTheStack(): Record<string, string> {
  const plan = planLocalIngestion({ producers: LOCAL_DEFAULTS.producers, operators: LOCAL_DEFAULTS.operators });
  const environment = functionEnvironment(
    { ...LOCAL_DEFAULTS, requestsPerSecond: 400, retrySafetyMarginMs: 5000 },
    { identityStoreEndpoint: 'x', dynamodbEndpoint: 'x', sqsEndpoint: 'x', eventBridgeEndpoint: 'x', deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/stack-dlq' },
    plan,
  );
  return {
    ...environment,
    AUDIT_TABLE_NAME: TABLES.audit,
    STATE_TABLE_NAME: TABLES.state,
    IDEMPOTENCY_TABLE_NAME: TABLES.idempotency,
    MANAGED_GROUP_SCOPE: 'prefix:app-',
  };
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_CONFIG_FILE: join(dir, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
    AWS_ENDPOINT_URL_CLOUDFORMATION: standEndpoint,
    AWS_ENDPOINT_URL_LAMBDA: standEndpoint,
    AWS_ENDPOINT_URL_IDENTITYSTORE: emulator.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
  };
  return new Promise((done) => {
    const child = execFile(TSX, [join(ROOT, 'cli/plan.ts'), ...args], { cwd: ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plan-stack-'));
  writeFileSync(join(dir, 'config'), '[profile ops]\nregion = us-east-1\n');
  writeFileSync(join(dir, 'credentials'), '[ops]\naws_access_key_id = AKIAOPSOPSOPSOPSOPS1\naws_secret_access_key = not-checked\n');
  emulator = await startEmulator({ identityStoreIds: [LOCAL_DEFAULTS.identityStoreId], tps: 0 });
  dynamo = await startTestDynamo(TABLES);
  const environment = functionEnvironmentOfTheStack();
  stand = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const lambda = /^\/2015-03-31\/functions\/([^/]+)\/configuration/.exec(request.url ?? '');
      if (lambda) {
        const name = decodeURIComponent(lambda[1]!);
        lambdaCalls.push(name);
        const known = name === FUNCTION;
        response.writeHead(known ? 200 : 404, { 'content-type': 'application/json', ...(known ? {} : { 'x-amzn-errortype': 'ResourceNotFoundException' }) });
        response.end(
          JSON.stringify(
            known
              ? { FunctionName: FUNCTION, FunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${FUNCTION}`, Environment: { Variables: environment } }
              : { Type: 'User', Message: `Function not found: ${name}` },
          ),
        );
        return;
      }
      const parameters = new URLSearchParams(body);
      const action = parameters.get('Action');
      response.writeHead(200, { 'content-type': 'text/xml' });
      if (action === 'DescribeStackResources') {
        response.end(
          xml(
            `<StackResources><member><StackName>${STACK}</StackName><LogicalResourceId>ProvisionerConsumerFunction12AB</LogicalResourceId><PhysicalResourceId>${FUNCTION}</PhysicalResourceId><ResourceType>AWS::Lambda::Function</ResourceType><Timestamp>2026-11-01T00:00:00Z</Timestamp><ResourceStatus>CREATE_COMPLETE</ResourceStatus></member>` +
              `<member><StackName>${STACK}</StackName><LogicalResourceId>LogRetentionFunction</LogicalResourceId><PhysicalResourceId>other</PhysicalResourceId><ResourceType>AWS::Lambda::Function</ResourceType><Timestamp>2026-11-01T00:00:00Z</Timestamp><ResourceStatus>CREATE_COMPLETE</ResourceStatus></member></StackResources>`,
            'DescribeStackResources',
          ),
        );
        return;
      }
      const outputs: Record<string, string> = { QueueArn: 'arn:aws:sqs:us-east-1:000000000000:stack-events', ...(withFunctionOutput && { FunctionName: FUNCTION }) };
      const members = Object.entries(outputs).map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${value}</OutputValue></member>`).join('');
      response.end(
        xml(
          `<Stacks><member><StackName>${STACK}</StackName><StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/${STACK}/1</StackId><CreationTime>2026-11-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${members}</Outputs></member></Stacks>`,
          'DescribeStacks',
        ),
      );
    });
  });
  await new Promise<void>((ready) => stand.listen(0, '127.0.0.1', ready));
  standEndpoint = `http://127.0.0.1:${(stand.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((closed) => stand?.close(() => closed()));
  await emulator?.stop();
  await dynamo?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const at = (minute: number) => new Date(Date.UTC(2026, 10, 2, 9, minute)).toISOString();

function eventsFile(): string {
  const file = join(dir, 'events.jsonl');
  writeFileSync(
    file,
    [
      { id: 'g1', type: 'group.upserted', occurredAt: at(1), actor: 'hr-system', data: { group: { DisplayName: 'app-billing' } } },
      { id: 'g2', type: 'group.upserted', occurredAt: at(2), actor: 'hr-system', data: { group: { DisplayName: 'Finance' } } },
    ]
      .map((event) => JSON.stringify(event))
      .join('\n'),
  );
  return file;
}

it("plans with the deployed function's settings (its tables, its managed scope), writing nothing", async () => {
  lambdaCalls.length = 0;
  withFunctionOutput = true;
  const result = await run(['--events', eventsFile(), '--stack', STACK, '--region', 'us-east-1', '--profile', 'ops', '--format', 'json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(2);
  const report = JSON.parse(result.stdout) as { target: string; entries: { eventId: string; outcome: string; errorCode?: string; writes: { action: string }[] }[] };
  expect(lambdaCalls).toEqual([FUNCTION]);
  expect(report.target).toBe(`stack ${STACK} (function ${FUNCTION} in us-east-1)`);
  // prefix:app- is the deployed scope: the local default ("created") would have planned Finance too.
  expect(report.entries[0]).toMatchObject({ eventId: 'g1', outcome: 'APPLIED', writes: [{ action: 'CreateGroup' }] });
  expect(report.entries[1]).toMatchObject({ eventId: 'g2', outcome: 'REJECTED', errorCode: 'GROUP_NOT_MANAGED' });
  expect(emulator.writes()).toEqual([]);
});

it('without a FunctionName output, finds the consumer among the stack resources', async () => {
  lambdaCalls.length = 0;
  withFunctionOutput = false;
  const result = await run(['--events', eventsFile(), '--stack', STACK, '--region', 'us-east-1', '--profile', 'ops']);
  expect(result.code).toBe(2);
  expect(lambdaCalls).toEqual([FUNCTION]);
  expect(result.stdout).toContain(`settings: the environment of ${FUNCTION} (stack ${STACK})`);
});
