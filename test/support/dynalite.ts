/**
 * Jest helper: an in-memory dynalite on a free port with the project's three tables.
 * Call `useDynalite()` at the top of a describe block; read `.current` inside tests.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { localDynamoDbClient, startDynalite, type RunningDynalite } from '../../local/dynalite';
import { createTables, type TableNames } from '../../local/tables';

export interface TestDynamo {
  endpoint: string;
  client: DynamoDBClient;
  documentClient: DynamoDBDocumentClient;
  tables: TableNames;
  stop(): Promise<void>;
}

export const TEST_TABLES: TableNames = { audit: 'test-audit', state: 'test-state', idempotency: 'test-idempotency' };

export async function startTestDynamo(tables: TableNames = TEST_TABLES): Promise<TestDynamo> {
  const dynalite: RunningDynalite = await startDynalite();
  const client = localDynamoDbClient(dynalite.endpoint);
  await createTables(client, tables);
  return {
    endpoint: dynalite.endpoint,
    client,
    documentClient: DynamoDBDocumentClient.from(client),
    tables,
    stop: async () => {
      client.destroy();
      await dynalite.stop();
    },
  };
}

/** Starts dynalite before the block's tests and stops it after them. */
export function useDynalite(tables: TableNames = TEST_TABLES): { readonly current: TestDynamo } {
  const holder: { current?: TestDynamo } = {};
  beforeAll(async () => {
    holder.current = await startTestDynamo(tables);
  });
  afterAll(async () => {
    await holder.current?.stop();
  });
  return {
    get current(): TestDynamo {
      if (!holder.current) throw new Error('dynalite is not running: use it inside a test');
      return holder.current;
    },
  };
}
