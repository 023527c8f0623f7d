/**
 * `npm run drift -- --stack NAME`: in a deployed stack only the service's functions may append to
 * the audit trail and send as drift-repair, so the command reads and writes nothing itself: it
 * invokes the stack's drift function (its DriftFunctionName output; Lambda Invoke,
 * RequestResponse) and prints the summary the function returns. Here a stand-in on 127.0.0.1
 * answers CloudFormation (query protocol XML) and Lambda Invoke (a scripted response); DynamoDB,
 * the Identity Store and EventBridge point at it too, so a call the command should not make shows.
 */
import { DETAILED_EXIT } from '../../cli/conventions';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { renderDeployedDrift, type DeployedDriftSummary } from '../../cli/drift';
import type { DriftRunSummary } from '../../lambdas/handlers/drift-detector';

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const STACK = 'IdentityProvisioner';
const STACK_WITHOUT_DRIFT = 'IdentityProvisionerNoDrift';
const DRIFT_FUNCTION = 'IdentityProvisioner-DriftFunction-4D5E6F';

interface Call {
  kind: 'DescribeStacks' | 'Invoke' | 'other';
  stackName?: string;
  functionName?: string;
  invocationType?: string;
  payload?: string;
  url?: string;
}

interface Scripted {
  payload: unknown;
  functionError?: string;
}

let stand: Server;
let standEndpoint: string;
let dir: string;
const calls: Call[] = [];
let next: Scripted;

const noKinds = { 'attribute-differs': 0, 'user-missing': 0, 'unexpected-member': 0, 'unexplained-member': 0, 'member-missing': 0, 'description-differs': 0, 'group-missing': 0 };

/** Typed as the handler's own summary: what the function returns fits what the command reads. */
function summary(overrides: Partial<DriftRunSummary>): DriftRunSummary {
  return {
    at: '2026-12-01T05:00:00.000Z',
    identityStoreId: 'd-1234567890',
    action: 'report',
    appliedFacts: 7,
    groupsChecked: 2,
    usersChecked: 3,
    findings: 0,
    newFindings: 0,
    counts: { ...noKinds },
    published: undefined,
    ...overrides,
  };
}

function xml(body: string, action: string): string {
  return `<${action}Response xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><${action}Result>${body}</${action}Result><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></${action}Response>`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drift-stack-'));
  stand = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(request.url ?? '');
      if (invoke && request.method === 'POST') {
        calls.push({
          kind: 'Invoke',
          functionName: decodeURIComponent(invoke[1]!),
          invocationType: String(request.headers['x-amz-invocation-type'] ?? ''),
          payload: body,
        });
        response.writeHead(200, {
          'content-type': 'application/json',
          'x-amz-executed-version': '$LATEST',
          ...(next.functionError !== undefined && { 'x-amz-function-error': next.functionError }),
        });
        response.end(JSON.stringify(next.payload));
        return;
      }
      const parameters = new URLSearchParams(body);
      if (parameters.get('Action') === 'DescribeStacks') {
        const stackName = parameters.get('StackName') ?? '';
        calls.push({ kind: 'DescribeStacks', stackName });
        const outputs: Record<string, string> = {
          FunctionName: 'IdentityProvisioner-Consumer-1A2B3C',
          AuditTableName: 'stack-audit',
          ...(stackName === STACK && { DriftFunctionName: DRIFT_FUNCTION }),
        };
        const members = Object.entries(outputs).map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${value}</OutputValue></member>`).join('');
        response.writeHead(200, { 'content-type': 'text/xml' });
        response.end(
          xml(
            `<Stacks><member><StackName>${stackName}</StackName><StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/${stackName}/1</StackId><CreationTime>2026-11-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${members}</Outputs></member></Stacks>`,
            'DescribeStacks',
          ),
        );
        return;
      }
      calls.push({ kind: 'other', url: request.url });
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ message: 'not a call npm run drift -- --stack makes' }));
    });
  });
  await new Promise<void>((ready) => stand.listen(0, '127.0.0.1', ready));
  standEndpoint = `http://127.0.0.1:${(stand.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((closed) => stand?.close(() => closed()));
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  calls.length = 0;
});

function drift(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    COLUMNS: '100',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_CONFIG_FILE: join(dir, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
    AWS_ACCESS_KEY_ID: 'AKIAOPERATOR0000001',
    AWS_SECRET_ACCESS_KEY: 'not-checked',
    AWS_ENDPOINT_URL_CLOUDFORMATION: standEndpoint,
    AWS_ENDPOINT_URL_LAMBDA: standEndpoint,
    // Anything else the command might call lands on the stand-in too, and shows as 'other'.
    AWS_ENDPOINT_URL_DYNAMODB: standEndpoint,
    AWS_ENDPOINT_URL_IDENTITYSTORE: standEndpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: standEndpoint,
  };
  return new Promise((done) => {
    const child = execFile(TSX, [join(ROOT, 'cli/drift.ts'), ...args], { cwd: ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

const flat = (text: string) => text.replace(/\s+/g, ' ');

it("invokes the stack's drift function (RequestResponse) and nothing else, prints its findings by kind, and exits 2", async () => {
  next = {
    payload: summary({
      findings: 3,
      newFindings: 2,
      counts: { ...noKinds, 'attribute-differs': 2, 'member-missing': 1 },
      published: true,
    }),
  };
  const result = await drift(['--stack', STACK, '--region', 'us-east-1']);
  expect(result.code).toBe(DETAILED_EXIT.changes);
  expect(calls).toEqual([
    { kind: 'DescribeStacks', stackName: STACK },
    { kind: 'Invoke', functionName: DRIFT_FUNCTION, invocationType: 'RequestResponse', payload: '{}' },
  ]);
  expect(result.stderr).toBe(`drift: running ${DRIFT_FUNCTION} (stack ${STACK}) and waiting for it; a run may take minutes\n`);
  expect(flat(result.stdout)).toContain(`drift: stack ${STACK} (drift function ${DRIFT_FUNCTION} in us-east-1), run at 2026-12-01T05:00:00Z with the deployment's driftAction: report`);
  expect(result.stdout).toMatch(/^ {2}2 {2}attribute differs$/m);
  expect(result.stdout).toMatch(/^ {2}1 {2}member missing$/m);
  expect(flat(result.stdout)).toContain('Drift: 3 findings, 2 new. Checked 2 managed groups and 3 users against 7 applied facts. The drift function recorded each finding in the audit trail (DRIFT).');
  expect(flat(result.stdout)).toContain('reports drift only (driftAction: report)');
  expect(result.stdout).toContain(`npm run audit -- changes --since 1h --stack ${STACK} --region us-east-1`);
});

it('with driftAction repair, prints the repairs the function sent; a repair it could not send is exit 1', async () => {
  next = {
    payload: summary({
      action: 'repair',
      findings: 2,
      newFindings: 0,
      counts: { ...noKinds, 'member-missing': 1, 'unexplained-member': 1 },
      published: true,
      repairEventIds: ['drift-aaa'],
      repairsSent: 1,
      repairsFailed: [],
      notRepaired: 1,
    }),
  };
  const sent = await drift(['--stack', STACK, '--region', 'us-east-1']);
  expect(sent.code).toBe(DETAILED_EXIT.changes);
  expect(flat(sent.stdout)).toContain('Drift: 2 findings, 0 new.');
  expect(flat(sent.stdout)).toContain('Repair: 1 of 1 event sent to the bus as drift-repair by the drift function: drift-aaa.');
  expect(flat(sent.stdout)).toContain('1 finding not repaired');

  next = {
    payload: summary({
      action: 'repair',
      findings: 1,
      newFindings: 1,
      counts: { ...noKinds, 'member-missing': 1 },
      published: true,
      repairEventIds: ['drift-bbb'],
      repairsSent: 0,
      repairsFailed: [{ id: 'drift-bbb', reason: 'AccessDeniedException' }],
      notRepaired: 0,
    }),
  };
  const failed = await drift(['--stack', STACK, '--region', 'us-east-1']);
  expect(failed.code).toBe(DETAILED_EXIT.error);
  expect(flat(failed.stdout)).toContain('Repair: 0 of 1 event sent');
  expect(failed.stdout).toContain('not sent: drift-bbb: AccessDeniedException');
});

it('no drift: exit 0, and --format json is the summary as the function returned it', async () => {
  next = { payload: summary({}) };
  const result = await drift(['--stack', STACK, '--region', 'us-east-1']);
  expect(result.code).toBe(DETAILED_EXIT.none);
  expect(result.stdout).toContain('No drift: the managed scope holds what this service applied.');
  expect(flat(result.stdout)).toContain('Drift: 0 findings, 0 new.');
  expect(result.stdout).not.toContain('npm run audit');

  const json = await drift(['--stack', STACK, '--region', 'us-east-1', '--format', 'json']);
  expect(json.code).toBe(DETAILED_EXIT.none);
  expect(JSON.parse(json.stdout)).toEqual({
    target: `stack ${STACK} (drift function ${DRIFT_FUNCTION} in us-east-1)`,
    functionName: DRIFT_FUNCTION,
    drift: false,
    ...summary({}),
  });
});

it("a function error (FunctionError) is exit 1, with the function's error", async () => {
  next = {
    functionError: 'Unhandled',
    payload: { errorType: 'DriftYieldTimeoutError', errorMessage: 'drift run abandoned: the source queues held events for 840 s', trace: [] },
  };
  const result = await drift(['--stack', STACK, '--region', 'us-east-1']);
  expect(result.code).toBe(DETAILED_EXIT.error);
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain(
    `drift: the drift function ${DRIFT_FUNCTION} of stack ${STACK} failed (Unhandled): DriftYieldTimeoutError: drift run abandoned: the source queues held events for 840 s; its logs are in the log group /aws/lambda/${DRIFT_FUNCTION}\n`,
  );
  expect(calls.filter((call) => call.kind === 'Invoke')).toHaveLength(1);
});

it('a payload that is not a drift summary is exit 1', async () => {
  next = { payload: { hello: 'world' } };
  const result = await drift(['--stack', STACK, '--region', 'us-east-1']);
  expect(result.code).toBe(DETAILED_EXIT.error);
  expect(result.stderr).toContain(`drift: the drift function ${DRIFT_FUNCTION} of stack ${STACK} returned no drift summary`);
});

it('a stack without a DriftFunctionName output (driftSchedule "off") is exit 1, saying so, and nothing is invoked', async () => {
  const result = await drift(['--stack', STACK_WITHOUT_DRIFT, '--region', 'us-east-1']);
  expect(result.code).toBe(DETAILED_EXIT.error);
  expect(result.stderr).toContain(`drift: stack ${STACK_WITHOUT_DRIFT} has no DriftFunctionName output: drift detection is off in that deployment (driftSchedule "off")`);
  expect(calls).toEqual([{ kind: 'DescribeStacks', stackName: STACK_WITHOUT_DRIFT }]);
});

it('--repair with --stack is a usage error (exit 1) naming driftAction, before any call', async () => {
  const result = await drift(['--repair', '--stack', STACK, '--region', 'us-east-1']);
  expect(result.code).toBe(DETAILED_EXIT.error);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^drift: usage error: --repair does not go with --stack: .*driftAction: repair.*run --stack without --repair, which then repairs\nRun with --help for usage\.\n$/);
  expect(calls).toEqual([]);
});

it('the help says what --stack does', async () => {
  const result = await drift(['--help']);
  expect(result.code).toBe(DETAILED_EXIT.none);
  const text = flat(result.stdout);
  expect(text).toContain("It runs the stack's drift function now (its DriftFunctionName output; Lambda Invoke, RequestResponse");
  expect(text).toContain('--repair does not go with --stack');
  expect(calls).toEqual([]);
});

describe('renderDeployedDrift', () => {
  it('wraps to the width, never cutting; the audit command to copy stays on one line', () => {
    const run = { stackName: STACK, functionName: DRIFT_FUNCTION, region: 'eu-west-1', profile: 'ops' };
    const text = renderDeployedDrift(
      summary({ action: 'repair', findings: 1, newFindings: 1, counts: { ...noKinds, 'attribute-differs': 1 }, repairEventIds: ['drift-ccc'], repairsSent: 1, repairsFailed: [], notRepaired: 0 }) satisfies DeployedDriftSummary,
      run,
      60,
    );
    const command = `  npm run audit -- changes --since 1h --stack ${STACK} --region eu-west-1 --profile ops`;
    expect(text.split('\n')).toContain(command);
    expect(text.split('\n').every((line) => line.length <= 60 || line === command)).toBe(true);
    expect(flat(text)).toContain('Repair: 1 of 1 event sent to the bus as drift-repair by the drift function: drift-ccc.');
  });
});
