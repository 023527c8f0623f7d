import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbProcessingState } from '../../lambdas/adapters/dynamodb-processing-state';
import { createTables } from '../../local/tables';
import { AUDIT_TABLE } from '../../lambdas/shared/tables';
import { useDynalite } from '../support/dynalite';

const dynamo = useDynalite();

describe('createTables (local)', () => {
  it('is idempotent: tables that exist are left as they are', async () => {
    await expect(createTables(dynamo.current.client, dynamo.current.tables)).resolves.toBeUndefined();
  });

  it('creates the audit table with every index of the layout, projecting ALL, on demand', async () => {
    const { Table } = await dynamo.current.client.send(new DescribeTableCommand({ TableName: dynamo.current.tables.audit }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    const indexes = Object.fromEntries((Table?.GlobalSecondaryIndexes ?? []).map((index) => [index.IndexName, index]));
    expect(Object.keys(indexes).sort()).toEqual(Object.keys(AUDIT_TABLE.indexes).sort());
    for (const [name, layout] of Object.entries(AUDIT_TABLE.indexes)) {
      expect(indexes[name]?.KeySchema).toEqual([
        { AttributeName: layout.partitionKey, KeyType: 'HASH' },
        { AttributeName: layout.sortKey, KeyType: 'RANGE' },
      ]);
      expect(indexes[name]?.Projection?.ProjectionType).toBe('ALL');
    }
  });

  it('creates the state and idempotency tables keyed as the layout says', async () => {
    const { state, idempotency } = dynamo.current.tables;
    const keyOf = async (name: string) =>
      (await dynamo.current.client.send(new DescribeTableCommand({ TableName: name }))).Table?.KeySchema;
    expect(await keyOf(state)).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(await keyOf(idempotency)).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
  });
});

// dynalite never leaves keys unprocessed, so this one branch runs against a mocked client.
describe('getWatermarks with unprocessed keys', () => {
  it('asks again for the keys DynamoDB left unprocessed', async () => {
    const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const mocked = mockClient(documentClient);
    const stored = (key: string) => ({ pk: `WM#${key}`, occurredAt: '2024-05-01T00:00:00.000Z', eventId: key, kind: 'upserted' });
    mocked
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { state: [stored('a')] }, UnprocessedKeys: { state: { Keys: [{ pk: 'WM#b' }] } } })
      .resolvesOnce({ Responses: { state: [stored('b')] } });

    const found = await new DynamoDbProcessingState({ client: documentClient, tableName: 'state' }).getWatermarks(['a', 'b']);

    expect([...found.keys()].sort()).toEqual(['a', 'b']);
    expect(mocked.commandCalls(BatchGetCommand)[1]?.args[0].input.RequestItems?.state?.Keys).toEqual([{ pk: 'WM#b' }]);
    mocked.restore();
  });
});
