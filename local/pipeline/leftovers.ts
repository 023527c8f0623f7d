/**
 * What an interrupted local run leaves in the tables, and clearing it before the next run sends.
 *
 * A run stopped while invocations were in flight (Ctrl-C past its grace period, a crash, kill -9)
 * leaves:
 * - Powertools idempotency records in status INPROGRESS, which answer every delivery of their
 *   event "already in progress" until the invocation's deadline (the function timeout, 60 s);
 * - subject leases in the state table (LEASE#...), held until the same deadline.
 * Its SQS messages are gone (the local SQS lives in memory); the next run sends the file again, so
 * those events come back with the same ids and would meet these records, retry on backoff and,
 * with the local 3 s base delay, reach the DLQ (MAX_RECEIVES) before the records expire.
 *
 * When the run owns the store (embedded dynalite in its locked state dir), no invocation of any
 * other run can be in flight, so every INPROGRESS record and every lease is such a leftover: they
 * are deleted, each with a condition that it still is one. COMPLETED records (which answer
 * duplicates), watermarks, the ExternalId map and the audit trail are never touched. Against a
 * DynamoDB it does not own (--dynamodb-endpoint), another pipeline may be using them: nothing is
 * deleted, the run waits until the ones it found have expired instead (at most the function timeout).
 */
import { DeleteItemCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TableNames } from '../tables';

export interface Leftovers {
  /** Idempotency records in progress: key and when Powertools lets them expire (epoch ms). */
  inProgress: { id: string; expiresAtMs: number }[];
  /** Subject leases: key, owner and until when (epoch ms). */
  leases: { pk: string; owner: string; expiresAtMs: number }[];
}

async function scanAll(client: DynamoDBClient, input: ConstructorParameters<typeof ScanCommand>[0]): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ ...input, ExclusiveStartKey }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

export async function findLeftovers(client: DynamoDBClient, tables: Pick<TableNames, 'state' | 'idempotency'>): Promise<Leftovers> {
  const records = await scanAll(client, {
    TableName: tables.idempotency,
    FilterExpression: '#status = :inProgress',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: { ':inProgress': { S: 'INPROGRESS' } },
  });
  const leases = await scanAll(client, {
    TableName: tables.state,
    FilterExpression: 'begins_with(pk, :lease)',
    ExpressionAttributeValues: { ':lease': { S: 'LEASE#' } },
  });
  return {
    inProgress: records.map((r) => ({
      id: r.id!.S!,
      // Without a Lambda context Powertools sets no in-progress expiry: then the record's own expiry.
      expiresAtMs: r.in_progress_expiration?.N ? Number(r.in_progress_expiration.N) : Number(r.expiration?.N ?? 0) * 1000,
    })),
    leases: leases.map((l) => ({ pk: l.pk!.S!, owner: l.owner?.S ?? '', expiresAtMs: Number(l.expiresAtMs?.N ?? 0) })),
  };
}

/** Deletes what `findLeftovers` found, each only if it still is a leftover. Returns how many went. */
export async function clearLeftovers(client: DynamoDBClient, tables: Pick<TableNames, 'state' | 'idempotency'>, leftovers: Leftovers): Promise<{ inProgress: number; leases: number }> {
  const deleted = { inProgress: 0, leases: 0 };
  const conditional = async (command: DeleteItemCommand) => {
    try {
      await client.send(command);
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  };
  for (const record of leftovers.inProgress) {
    const gone = await conditional(
      new DeleteItemCommand({
        TableName: tables.idempotency,
        Key: { id: { S: record.id } },
        ConditionExpression: '#status = :inProgress',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':inProgress': { S: 'INPROGRESS' } },
      }),
    );
    if (gone) deleted.inProgress++;
  }
  for (const lease of leftovers.leases) {
    const gone = await conditional(
      new DeleteItemCommand({
        TableName: tables.state,
        Key: { pk: { S: lease.pk } },
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': { S: lease.owner } },
      }),
    );
    if (gone) deleted.leases++;
  }
  return deleted;
}

/**
 * Before a run sends: clear (owned store) or wait out (someone else's store) what an earlier run
 * left in progress. Returns a line for the user, or undefined when there was nothing.
 */
export async function settleLeftovers(
  client: DynamoDBClient,
  tables: Pick<TableNames, 'state' | 'idempotency'>,
  options: { ownsStore: boolean; maxWaitMs: number; now?: () => number; sleep?: (ms: number) => Promise<void> },
): Promise<string | undefined> {
  const now = options.now ?? Date.now;
  const leftovers = await findLeftovers(client, tables);
  const live = {
    inProgress: leftovers.inProgress.filter((r) => r.expiresAtMs > now()),
    leases: leftovers.leases.filter((l) => l.expiresAtMs > now()),
  };
  if (options.ownsStore) {
    // Expired ones too: they are leftovers all the same, and nothing is gained by keeping them.
    if (leftovers.inProgress.length + leftovers.leases.length === 0) return undefined;
    const deleted = await clearLeftovers(client, tables, leftovers);
    return `cleared what an interrupted run left in progress: ${deleted.inProgress} idempotency record(s) in progress, ${deleted.leases} subject lease(s) (completed records and the audit trail are kept; those events are applied again)`;
  }
  if (live.inProgress.length + live.leases.length === 0) return undefined;
  const until = Math.min(Math.max(...[...live.inProgress, ...live.leases].map((x) => x.expiresAtMs)), now() + options.maxWaitMs);
  const waitMs = Math.max(0, until - now());
  await (options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(waitMs);
  return `waited ${(waitMs / 1000).toFixed(1)} s for ${live.inProgress.length} idempotency record(s) in progress and ${live.leases.length} subject lease(s) in the DynamoDB at --dynamodb-endpoint to expire (not ours to delete: another pipeline may hold them)`;
}
