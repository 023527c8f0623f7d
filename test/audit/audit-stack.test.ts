/**
 * `npm run audit -- ... --stack NAME`: the audit table is the stack's AuditTableName output
 * (DescribeStacks, answered by a CloudFormation stand-in speaking the query protocol's XML, as in
 * test/cli/dlq-stack.test.ts), read with a named profile's credentials (--profile). The real SDK
 * is pointed at 127.0.0.1 by AWS_ENDPOINT_URL_CLOUDFORMATION and AWS_ENDPOINT_URL_DYNAMODB.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { useDynalite } from '../support/dynalite';
import { recordTrail, select } from './fixtures';

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const dynamo = useDynalite();
let cloudFormation: Server;
let cloudFormationEndpoint: string;
let dir: string;
const stacks: Record<string, Record<string, string>> = {};

function describeStacksXml(name: string, outputs: Record<string, string>): string {
  const members = Object.entries(outputs)
    .map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${value}</OutputValue></member>`)
    .join('');
  return `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
<StackName>${name}</StackName><StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/${name}/1</StackId>
<CreationTime>2026-11-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${members}</Outputs>
</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DescribeStacksResponse>`;
}

function audit(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    AWS_CONFIG_FILE: join(dir, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
    AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormationEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.current.endpoint,
  };
  return new Promise((done) => {
    execFile(TSX, [join(ROOT, 'cli/audit.ts'), ...args], { cwd: ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  await recordTrail(dynamo.current.client, dynamo.current.tables.audit);
  stacks.IdentityProvisionerState = { AuditTableName: dynamo.current.tables.audit, StateTableName: dynamo.current.tables.state };
  stacks.NoTables = { QueueUrl: 'http://127.0.0.1/q' };
  dir = mkdtempSync(join(tmpdir(), 'audit-stack-'));
  writeFileSync(join(dir, 'config'), '[profile ops]\nregion = us-east-1\n');
  writeFileSync(join(dir, 'credentials'), '[ops]\naws_access_key_id = AKIAOPSOPSOPSOPSOPS1\naws_secret_access_key = not-checked\n');
  cloudFormation = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const name = new URLSearchParams(body).get('StackName') ?? '';
      const outputs = stacks[name];
      response.writeHead(outputs ? 200 : 400, { 'content-type': 'text/xml' });
      response.end(
        outputs
          ? describeStacksXml(name, outputs)
          : `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${name} does not exist</Message></Error><RequestId>r-2</RequestId></ErrorResponse>`,
      );
    });
  });
  await new Promise<void>((ready) => cloudFormation.listen(0, '127.0.0.1', ready));
  cloudFormationEndpoint = `http://127.0.0.1:${(cloudFormation.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((closed) => cloudFormation?.close(() => closed()));
  rmSync(dir, { recursive: true, force: true });
});

it("reads the audit table named by the stack's AuditTableName output, with the profile's credentials", async () => {
  const result = await audit(['event', 'evt-join-bob', '--format', 'json', '--stack', 'IdentityProvisionerState', '--profile', 'ops']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual(select((r) => r.eventId === 'evt-join-bob'));
});

it('a stack without the output: exit 1, naming what to pass', async () => {
  const result = await audit(['user', 'ann', '--stack', 'NoTables', '--profile', 'ops']);
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/stack NoTables has no AuditTableName output/);
});

it('a stack that does not exist: exit 1 with CloudFormation\'s answer', async () => {
  const result = await audit(['user', 'ann', '--stack', 'Nope', '--profile', 'ops']);
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/Nope does not exist/);
});
