/**
 * Reads the audit trail back: the questions an auditor asks, each answered by Queries on the
 * table's keys and indexes (never a Scan). Time windows become one Query per UTC day on
 * byDay / byActor / byProblem, with the sort key between the window's bounds.
 *
 * Every answer is the newest `limit` records, returned oldest first; `truncated` says whether
 * older ones were left out.
 */
import { QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../domain/ports';
import { AUDIT_TABLE, type AuditIndexName } from '../shared/tables';
import {
  auditKeys,
  fromAuditItem,
  fromLinkItem,
  legacyAuditKeys,
  PROBLEM_OUTCOMES,
  type AuditItem,
  type AuditRecord,
  type PersonLink,
} from './dynamodb-audit-log';
import { asDocumentClient, type AnyDynamoDbClient } from './dynamodb-document-client';

export interface AuditQueryResult {
  /** Oldest first. */
  records: AuditRecord[];
  /** Older matching records exist beyond `limit`. */
  truncated: boolean;
}

export interface LimitOptions {
  /** Keep the newest this many records; all when absent. */
  limit?: number;
}

export interface WindowOptions extends LimitOptions {
  /** Inclusive start. */
  since: Date;
  /** Exclusive end; now when absent. */
  until?: Date;
}

export interface DynamoDbAuditQueryOptions {
  client: AnyDynamoDbClient;
  tableName: string;
  /** Items per DynamoDB Query page; DynamoDB's own 1 MB pages when absent. */
  pageSize?: number;
  /** For windows without `until`; the system clock when absent. */
  clock?: Clock;
}

/** A window longer than this is refused: it would cost one Query per day. */
export const MAX_WINDOW_DAYS = 3_660;
const MS_PER_DAY = 86_400_000;

/** One partition of the table or of an index, optionally narrowed to a sort-key range. */
interface PartitionQuery {
  index?: AuditIndexName;
  partitionValue: string;
  skBetween?: [string, string];
  onlyKinds?: (AuditRecord['kind'] | PersonLink['kind'])[];
  /** Only records of this verified producer (a filter: the partition is still read). */
  onlyProducer?: string;
}

export class InvalidAuditQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAuditQueryError';
  }
}

export class DynamoDbAuditQuery {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly pageSize: number | undefined;
  private readonly clock: Clock;

  constructor(options: DynamoDbAuditQueryOptions) {
    if (options.pageSize !== undefined && (!Number.isInteger(options.pageSize) || options.pageSize < 1)) {
      throw new InvalidAuditQueryError(`pageSize must be a whole number >= 1, got ${options.pageSize}`);
    }
    this.client = asDocumentClient(options.client);
    this.tableName = options.tableName;
    this.pageSize = options.pageSize;
    this.clock = options.clock ?? { now: () => new Date() };
  }

  /**
   * Everything recorded about a user (outcomes of their events and writes that touched them), by
   * name in any case (`Ada` finds `ada`), as the Identity Store compares names.
   */
  userTimeline(userName: string, options: LimitOptions = {}): Promise<AuditQueryResult> {
    return this.newest([withLegacy('byUser', auditKeys.user(userName), legacyAuditKeys.user(userName))], options.limit);
  }

  /** Everything recorded about a group, memberships included, by display name in any case. */
  groupHistory(displayName: string, options: LimitOptions = {}): Promise<AuditQueryResult> {
    return this.newest([withLegacy('byGroup', auditKeys.group(displayName), legacyAuditKeys.group(displayName))], options.limit);
  }

  /** One event: every attempt's outcome and every write, in order. */
  eventHistory(eventId: string, options: LimitOptions = {}): Promise<AuditQueryResult> {
    return this.newest([[{ partitionValue: auditKeys.event(eventId), onlyKinds: ['OUTCOME', 'WRITE', 'INTENT'] }]], options.limit);
  }

  /** The Identity Store writes made in a window, and the drift found in it (changes made outside this service). */
  changes(options: WindowOptions): Promise<AuditQueryResult> {
    return this.newest(
      this.perDay(options, (day, skBetween) => [{ index: 'byDay', partitionValue: day, skBetween, onlyKinds: ['WRITE', 'DRIFT'] }]),
      options.limit,
    );
  }

  /** Events that ended FAILED or REJECTED in a window, with their error code and message. */
  failures(options: WindowOptions): Promise<AuditQueryResult> {
    return this.newest(
      this.perDay(options, (day, skBetween) =>
        PROBLEM_OUTCOMES.map((outcome) => ({
          index: 'byProblem' as const,
          partitionValue: auditKeys.problemDay(outcome, day),
          skBetween,
        })),
      ),
      options.limit,
    );
  }

  /**
   * Everything one verified producer caused in a window: every outcome and write recorded with
   * that `producer` (`unverified` for what no producer could be verified for). One Query per day on
   * byDay, filtered: it reads the whole window's records, so keep windows short on a busy table.
   */
  byProducer(producer: string, options: WindowOptions): Promise<AuditQueryResult> {
    return this.newest(
      this.perDay(options, (day, skBetween) => [{ index: 'byDay', partitionValue: day, skBetween, onlyProducer: producer, onlyKinds: ['OUTCOME', 'WRITE'] }]),
      options.limit,
    );
  }

  /** Everything one actor (what events claim as their author) caused in a window. */
  byActor(actor: string, options: WindowOptions): Promise<AuditQueryResult> {
    return this.newest(
      this.perDay(options, (day, skBetween) => [
        { index: 'byActor', partitionValue: auditKeys.actorDay(actor, day), skBetween },
      ]),
      options.limit,
    );
  }

  /**
   * Every record that names this UserId (byPerson), whatever the user was called then: outcomes,
   * writes and drift findings, oldest first. Records written before byPerson existed are not here;
   * they are under the names the user had (recordsOfUserName).
   */
  async recordsOfUserId(userId: string): Promise<AuditRecord[]> {
    const partition: PartitionQuery = { index: 'byPerson', partitionValue: auditKeys.person(userId), onlyKinds: ['OUTCOME', 'WRITE', 'DRIFT'] };
    return (await this.newest([[partition]])).records;
  }

  /** Every record filed under a user name (any case; today's key and the legacy one), oldest first. */
  async recordsOfUserName(userName: string): Promise<AuditRecord[]> {
    return (await this.newest([withLegacy('byUser', auditKeys.user(userName), legacyAuditKeys.user(userName))])).records;
  }

  /** Every record filed under a group display name (any case), oldest first. */
  async recordsOfGroupName(displayName: string): Promise<AuditRecord[]> {
    return (await this.newest([withLegacy('byGroup', auditKeys.group(displayName), legacyAuditKeys.group(displayName))])).records;
  }

  /** The LINK items of an ExternalId: each UserId it named, and when (oldest first). */
  async linksOfExternalId(issuer: string, id: string): Promise<PersonLink[]> {
    const items = await this.newestIn({ index: 'byPerson', partitionValue: auditKeys.externalId(issuer, id), onlyKinds: ['LINK'] }, Infinity);
    return items.reverse().map(fromLinkItem);
  }

  /**
   * Every item dated in [from, to), as stored (contentHash and expiresAt included), oldest day
   * first and each day in sort-key order: what the digests list and verify recomputes. Empty when
   * the window is.
   */
  async itemsBetween(from: Date, to: Date): Promise<AuditItem[]> {
    if (from.getTime() >= to.getTime()) return [];
    const days = this.perDay({ since: from, until: to }, (day, skBetween) => [{ index: 'byDay', partitionValue: day, skBetween }]);
    const items: AuditItem[] = [];
    for (const [day] of days.reverse()) items.push(...(await this.newestIn(day!, Infinity)).reverse());
    return items;
  }

  /** The window's partitions, one group per UTC day, newest day first. */
  private perDay(
    options: WindowOptions,
    partitionsOf: (day: string, skBetween: [string, string]) => PartitionQuery[],
  ): PartitionQuery[][] {
    const since = options.since;
    const until = options.until ?? this.clock.now();
    if (Number.isNaN(since.getTime()) || Number.isNaN(until.getTime())) {
      throw new InvalidAuditQueryError('since and until must be valid dates');
    }
    if (since.getTime() >= until.getTime()) {
      throw new InvalidAuditQueryError(`since (${since.toISOString()}) must be before until (${until.toISOString()})`);
    }
    // Sort keys start with the record's UTC time, so [since, until) is `sk BETWEEN since AND until`:
    // a record at exactly `until` has a longer key than the bare timestamp and falls outside.
    const skBetween: [string, string] = [since.toISOString(), until.toISOString()];
    const firstDay = Math.floor(since.getTime() / MS_PER_DAY);
    const lastDay = Math.floor(until.getTime() / MS_PER_DAY);
    if (lastDay - firstDay + 1 > MAX_WINDOW_DAYS) {
      throw new InvalidAuditQueryError(`the window spans more than ${MAX_WINDOW_DAYS} days`);
    }
    const groups: PartitionQuery[][] = [];
    for (let day = lastDay; day >= firstDay; day--) {
      groups.push(partitionsOf(new Date(day * MS_PER_DAY).toISOString().slice(0, 10), skBetween));
    }
    return groups;
  }

  /**
   * Walks the groups newest first (each group's partitions merged by time) until one record
   * more than `limit` is found, the extra one only telling that the answer was truncated.
   */
  private async newest(groups: PartitionQuery[][], limit?: number): Promise<AuditQueryResult> {
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw new InvalidAuditQueryError(`limit must be a whole number >= 1, got ${limit}`);
    }
    const wanted = limit === undefined ? Infinity : limit + 1;
    const collected: AuditItem[] = [];
    for (const partitions of groups) {
      const remaining = wanted - collected.length;
      if (remaining <= 0) break;
      const found = (await Promise.all(partitions.map((p) => this.newestIn(p, remaining)))).flat();
      collected.push(...found.sort(newestFirst).slice(0, remaining));
    }
    const truncated = collected.length > (limit ?? Infinity);
    const kept = truncated ? collected.slice(0, limit) : collected;
    return { records: kept.reverse().map(fromAuditItem), truncated };
  }

  /** Up to `max` items of one partition, newest first, following DynamoDB's pages. */
  private async newestIn(partition: PartitionQuery, max: number): Promise<AuditItem[]> {
    const items: AuditItem[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(new QueryCommand({ ...this.queryInput(partition), ExclusiveStartKey: startKey }));
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined && items.length < max);
    return items.slice(0, max);
  }

  private queryInput(partition: PartitionQuery): QueryCommandInput {
    const partitionKey = partition.index ? AUDIT_TABLE.indexes[partition.index].partitionKey : AUDIT_TABLE.partitionKey;
    const names: Record<string, string> = { '#pk': partitionKey };
    const values: Record<string, unknown> = { ':pk': partition.partitionValue };
    let keyCondition = '#pk = :pk';
    if (partition.skBetween) {
      keyCondition += ' AND #sk BETWEEN :from AND :to';
      names['#sk'] = AUDIT_TABLE.sortKey;
      [values[':from'], values[':to']] = partition.skBetween;
    }
    const filters: string[] = [];
    if (partition.onlyKinds) {
      filters.push(`#kind IN (${partition.onlyKinds.map((_, i) => `:kind${i}`).join(', ')})`);
      names['#kind'] = 'kind';
      partition.onlyKinds.forEach((kind, i) => {
        values[`:kind${i}`] = kind;
      });
    }
    if (partition.onlyProducer !== undefined) {
      filters.push('#producer = :producer');
      names['#producer'] = 'producer';
      values[':producer'] = partition.onlyProducer;
    }
    const filter = filters.length > 0 ? filters.join(' AND ') : undefined;
    return {
      TableName: this.tableName,
      IndexName: partition.index,
      KeyConditionExpression: keyCondition,
      FilterExpression: filter,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ScanIndexForward: false,
      Limit: this.pageSize,
    };
  }
}

/**
 * The partition under today's key, and the one the same name was written under before names were
 * folded (records written then keep their key): read together, merged by time.
 */
function withLegacy(index: AuditIndexName, partitionValue: string, legacyValue: string | undefined): PartitionQuery[] {
  return [{ index, partitionValue }, ...(legacyValue === undefined ? [] : [{ index, partitionValue: legacyValue }])];
}

/** Newest first by sort key (time, then kind/attempt/sequence); the event breaks ties between events. */
function newestFirst(a: AuditItem, b: AuditItem): number {
  return compare(String(b.sk), String(a.sk)) || compare(String(b.pk), String(a.pk));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
