/**
 * The audit items of a time window, as the digests and verify read them: the byDay GSI, one
 * Query per UTC day of the window, `sk BETWEEN from AND to` (sort keys start with the record's
 * UTC time; a record at exactly `to` has a longer key than the bare time, so it falls outside),
 * every page. The items come back whole (the index projects ALL), contentHash and expiresAt
 * included. byDay is a GSI, so eventually consistent: a record written a moment ago may be missing.
 */
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditItemSourcePort } from '../domain/audit-digest';
import { AUDIT_TABLE } from '../shared/tables';
import { asDocumentClient, type AnyDynamoDbClient } from './dynamodb-document-client';

const MS_PER_DAY = 86_400_000;

export interface DynamoDbAuditItemSourceOptions {
  client: AnyDynamoDbClient;
  tableName: string;
  /** Items per Query page (DynamoDB's own, up to 1 MB, when absent). */
  pageSize?: number;
}

export class DynamoDbAuditItemSource implements AuditItemSourcePort {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly pageSize?: number;

  constructor(options: DynamoDbAuditItemSourceOptions) {
    this.client = asDocumentClient(options.client);
    this.tableName = options.tableName;
    this.pageSize = options.pageSize;
  }

  /** Every item whose sk time is in [from, to), oldest day first, each day in sk order. */
  async itemsBetween(from: Date, to: Date): Promise<Record<string, unknown>[]> {
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw new Error('from and to must be valid dates');
    if (from.getTime() >= to.getTime()) return [];
    const between = [from.toISOString(), to.toISOString()] as const;
    const items: Record<string, unknown>[] = [];
    const lastDay = Math.floor(to.getTime() / MS_PER_DAY);
    for (let day = Math.floor(from.getTime() / MS_PER_DAY); day <= lastDay; day++) {
      items.push(...(await this.dayItems(new Date(day * MS_PER_DAY).toISOString().slice(0, 10), between)));
    }
    return items;
  }

  private async dayItems(day: string, [from, to]: readonly [string, string]): Promise<Record<string, unknown>[]> {
    const index = AUDIT_TABLE.indexes.byDay;
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'byDay',
          KeyConditionExpression: '#day = :day AND #sk BETWEEN :from AND :to',
          ExpressionAttributeNames: { '#day': index.partitionKey, '#sk': index.sortKey },
          ExpressionAttributeValues: { ':day': day, ':from': from, ':to': to },
          ExclusiveStartKey: startKey,
          ...(this.pageSize !== undefined && { Limit: this.pageSize }),
        }),
      );
      items.push(...((page.Items ?? []) as Record<string, unknown>[]));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }
}
