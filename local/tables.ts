/**
 * Creates the three tables of lambdas/shared/tables.ts in a local DynamoDB (dynalite).
 * Idempotent: tables that already exist are left as they are. TTL is not configured
 * (dynalite has no UpdateTimeToLive, and nothing locally lives long enough to need it).
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { AUDIT_TABLE, IDEMPOTENCY_TABLE, STATE_TABLE } from '../lambdas/shared/tables';

export interface TableNames {
  audit: string;
  state: string;
  idempotency: string;
}

const ACTIVE_POLL_MS = 50;
const ACTIVE_TIMEOUT_MS = 30_000;

export async function createTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  const definitions = [auditTable(names.audit), stateTable(names.state), idempotencyTable(names.idempotency)];
  await Promise.all(definitions.map((definition) => createIfMissing(client, definition)));
  await Promise.all(definitions.map((definition) => waitUntilActive(client, definition.TableName!)));
}

function auditTable(tableName: string): CreateTableCommandInput {
  const indexes = Object.entries(AUDIT_TABLE.indexes);
  const keyAttributes = new Set<string>([
    AUDIT_TABLE.partitionKey,
    AUDIT_TABLE.sortKey,
    ...indexes.flatMap(([, index]) => [index.partitionKey, index.sortKey]),
  ]);
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...keyAttributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: AUDIT_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: AUDIT_TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: indexes.map(([indexName, index]) => ({
      IndexName: indexName,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
  };
}

function hashKeyOnlyTable(tableName: string, partitionKey: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: partitionKey, AttributeType: 'S' }],
    KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
  };
}

const stateTable = (tableName: string) => hashKeyOnlyTable(tableName, STATE_TABLE.partitionKey);
const idempotencyTable = (tableName: string) => hashKeyOnlyTable(tableName, IDEMPOTENCY_TABLE.partitionKey);

async function createIfMissing(client: DynamoDBClient, definition: CreateTableCommandInput): Promise<void> {
  try {
    await client.send(new CreateTableCommand(definition));
  } catch (error) {
    if ((error as Error).name !== 'ResourceInUseException') throw error;
  }
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    if (Date.now() > deadline) throw new Error(`Table ${tableName} did not become ACTIVE within ${ACTIVE_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, ACTIVE_POLL_MS));
  }
}
