/**
 * cli/deliver.ts against a deployed stack: the producer's door comes from the stack's outputs
 * (DescribeStacks, answered by a CloudFormation stand-in speaking the query protocol's XML, as in
 * test/audit/audit-stack.test.ts): a queue producer's ProducerQueueUrl<Name>, else the bus
 * (EventBusName) with the producer's source. The real SDK clients are pointed at 127.0.0.1 by
 * AWS_ENDPOINT_URL_<SERVICE>, with the caller's own (dummy) credentials.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deliverEvents } from '../../cli/deliver';
import { startLocalEventBridge, type LocalEventBridge } from '../../local/eventbridge';
import { startLocalSqs, type LocalSqs } from '../../local/sqs';

let cloudFormation: Server;
let sqs: LocalSqs;
let eventBridge: LocalEventBridge;
const stacks: Record<string, Record<string, string>> = {};
const saved = { ...process.env };

function describeStacksXml(name: string, outputs: Record<string, string>): string {
  const members = Object.entries(outputs)
    .map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${value}</OutputValue></member>`)
    .join('');
  return `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
<StackName>${name}</StackName><StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/${name}/1</StackId>
<CreationTime>2026-11-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${members}</Outputs>
</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DescribeStacksResponse>`;
}

beforeAll(async () => {
  sqs = await startLocalSqs({ region: 'us-east-1' });
  eventBridge = await startLocalEventBridge({ sqs, region: 'us-east-1' });
  stacks.WithQueue = { ProducerQueueUrlHrFeed: sqs.createQueue('hr-feed-queue').url, EventBusName: 'stack-bus' };
  stacks.BusOnly = { EventBusName: 'stack-bus' };
  stacks.NoDoors = { AuditTableName: 'audit' };
  cloudFormation = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const name = new URLSearchParams(body).get('StackName') ?? '';
      response.writeHead(200, { 'content-type': 'text/xml' });
      response.end(describeStacksXml(name, stacks[name] ?? {}));
    });
  });
  await new Promise<void>((ready) => cloudFormation.listen(0, '127.0.0.1', ready));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_CLOUDFORMATION: `http://127.0.0.1:${(cloudFormation.address() as AddressInfo).port}`,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
    AWS_ACCESS_KEY_ID: 'AKIDCALLER',
    AWS_SECRET_ACCESS_KEY: 'not-checked',
  });
});

afterAll(async () => {
  process.env = saved;
  await new Promise<void>((closed) => cloudFormation?.close(() => closed()));
  await eventBridge?.stop();
  await sqs?.stop();
});

const upsert = (id: string) => ({ id, type: 'group.upserted', occurredAt: '2026-11-02T09:00:00Z', actor: 'deliver-test', data: { group: { DisplayName: 'Alpha' } } });

it("sends a queue producer's documents to its ProducerQueueUrl<Name> output, as message bodies", async () => {
  const report = await deliverEvents([upsert('stk-1'), upsert('stk-2')], { producer: 'hr-feed' }, { kind: 'stack', stackName: 'WithQueue', region: 'us-east-1' });
  expect(report).toMatchObject({ delivered: true, via: 'stack', sent: 2, refused: [], failed: [] });
  expect(report.description).toContain('as producer hr-feed');
  expect(sqs.queue('hr-feed-queue').messages.map((m) => JSON.parse(m.body))).toEqual([upsert('stk-1'), upsert('stk-2')]);
});

it("sends a bus producer's documents to the stack's bus with the producer's source (its default, or the declared one)", async () => {
  const first = await deliverEvents([upsert('stk-3')], { producer: 'portal' }, { kind: 'stack', stackName: 'BusOnly', region: 'us-east-1' });
  expect(first).toMatchObject({ delivered: true, via: 'stack', sent: 1 });
  await deliverEvents([upsert('stk-4')], { producer: 'portal' }, { kind: 'stack', stackName: 'BusOnly', region: 'us-east-1', source: 'com.example.portal' });
  expect(eventBridge.events('stack-bus').map((e) => [e.source, e['detail-type'], (e.detail as { id: string }).id])).toEqual([
    ['identity-provisioner.portal', 'group.upserted', 'stk-3'],
    ['com.example.portal', 'group.upserted', 'stk-4'],
  ]);
});

it('names what is missing when the stack has no door for the producer', async () => {
  await expect(deliverEvents([upsert('stk-5')], { producer: 'hr-feed' }, { kind: 'stack', stackName: 'NoDoors', region: 'us-east-1' })).rejects.toThrow(
    'stack NoDoors has neither a ProducerQueueUrlHrFeed nor an EventBusName output: name the IdentityProvisioner stack',
  );
});
