/**
 * The audit items of a time window, as the digests and verify read them: the byDay GSI, one
 * Query per UTC day of the window, every page (DynamoDbAuditQuery.itemsBetween). The items come
 * back whole (the index projects ALL), contentHash and expiresAt included. byDay is a GSI, so
 * eventually consistent: a record written a moment ago may be missing.
 */
import type { AuditItemSourcePort } from '../domain/audit-digest';
import { DynamoDbAuditQuery } from './dynamodb-audit-query';
import type { AnyDynamoDbClient } from './dynamodb-document-client';

export interface DynamoDbAuditItemSourceOptions {
  client: AnyDynamoDbClient;
  tableName: string;
  /** Items per Query page (DynamoDB's own, up to 1 MB, when absent). */
  pageSize?: number;
}

export class DynamoDbAuditItemSource implements AuditItemSourcePort {
  private readonly query: DynamoDbAuditQuery;

  constructor(options: DynamoDbAuditItemSourceOptions) {
    this.query = new DynamoDbAuditQuery(options);
  }

  /** Every item whose sk time is in [from, to), oldest day first, each day in sk order. */
  itemsBetween(from: Date, to: Date): Promise<Record<string, unknown>[]> {
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw new Error('from and to must be valid dates');
    return this.query.itemsBetween(from, to);
  }
}
