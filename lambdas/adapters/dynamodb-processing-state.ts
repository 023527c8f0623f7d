/**
 * The engine's memory between events, in the DynamoDB state table
 * (layout: lambdas/shared/tables.ts, STATE TABLE). Every change is a single conditional
 * write, so concurrent Lambdas cannot move a watermark backward or overdraw the deletion cap.
 */
import { BatchGetCommand, DeleteCommand, GetCommand, PutCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DriftMemoryPort } from '../domain/drift';
import type { ExternalId } from '../domain/identity-change';
import type { AppliedFacts, AppliedMark, AppliedViewPort, Clock, LeaseResult, ProcessingStatePort, Watermark } from '../domain/ports';
import { nameKey } from '../domain/names';
import { asDocumentClient, isConditionalCheckFailed, type AnyDynamoDbClient } from './dynamodb-document-client';
import { partitionKey } from './dynamodb-keys';

/**
 * Key values of the state table. Parts that come from events are URI-encoded where a '#' in them
 * could collide, and every variable part is bounded by `partitionKey` (dynamodb-keys.ts): past
 * 1,024 bytes of UTF-8 it becomes `sha256:<hex>` of itself, so no key exceeds DynamoDB's 2,048.
 * Subject keys (watermarks, leases) come from the domain already case-folded; a group name is
 * folded here with `nameKey`, as the Identity Store compares names.
 */
export const stateKeys = {
  watermark: (subjectKey: string) => partitionKey('WM#', subjectKey),
  managedGroup: (groupId: string) => partitionKey('MANAGED#', groupId),
  externalId: ({ Issuer, Id }: ExternalId) => partitionKey('EXT#', `${encodeURIComponent(Issuer)}#${encodeURIComponent(Id)}`),
  deletionWindow: (windowStart: Date) => `DELCAP#${windowStart.toISOString()}`,
  lease: (subjectKey: string) => partitionKey('LEASE#', subjectKey),
  groupCreationIntent: (displayName: string) => partitionKey('INTENT#group:', nameKey(displayName)),
  /** A drift finding seen and not yet gone (its key is ids only: lambdas/domain/drift.ts). */
  driftFinding: (findingKey: string) => partitionKey('DRIFT#', findingKey),
};

const BATCH_GET_LIMIT = 100;
const UNPROCESSED_RETRIES = 8;
const UNPROCESSED_BACKOFF_MS = 50;
const KNOWN_MANAGED_LIMIT = 10_000;
/** Deletion-window items linger this long after their window, then TTL removes them. */
const DELETION_WINDOW_EXPIRY_SECONDS = 86_400;

export interface DynamoDbProcessingStateOptions {
  client: AnyDynamoDbClient;
  tableName: string;
  /** For markedAt/updatedAt stamps; the system clock when absent. */
  clock?: Clock;
}

export class DynamoDbProcessingState implements ProcessingStatePort, AppliedViewPort, DriftMemoryPort {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly clock: Clock;
  /**
   * Groups known to carry the managed mark. A mark is never removed and a group id is never
   * reused, so a yes can be kept for the life of the instance (a no is asked again every time).
   */
  private readonly knownManaged = new Set<string>();

  constructor(options: DynamoDbProcessingStateOptions) {
    this.client = asDocumentClient(options.client);
    this.tableName = options.tableName;
    this.clock = options.clock ?? { now: () => new Date() };
  }

  async getWatermarks(keys: string[]): Promise<Map<string, Watermark>> {
    const watermarks = new Map<string, Watermark>();
    // BatchGetItem refuses a request that names the same key twice.
    const unique = [...new Set(keys)];
    for (let start = 0; start < unique.length; start += BATCH_GET_LIMIT) {
      // A long subject key is stored under its digest: map each item back by the key asked for.
      const subjectOf = new Map(unique.slice(start, start + BATCH_GET_LIMIT).map((key) => [stateKeys.watermark(key), key]));
      const items = await this.batchGet([...subjectOf.keys()].map((pk) => ({ pk })));
      for (const item of items) {
        const subjectKey = subjectOf.get(String(item.pk));
        if (subjectKey === undefined) continue;
        watermarks.set(subjectKey, {
          occurredAt: String(item.occurredAt),
          eventId: String(item.eventId),
          kind: String(item.kind),
          ...(typeof item.applied === 'string' && { applied: JSON.parse(item.applied) as AppliedFacts }),
        });
      }
    }
    return watermarks;
  }

  async advanceWatermarks(keys: string[], mark: Watermark): Promise<void> {
    // Stored as UTC ISO so that string order is time order (the condition compares strings).
    const occurredAt = toUtcIso(mark.occurredAt);
    await Promise.all([...new Set(keys)].map((key) => this.advanceWatermark(key, { ...mark, occurredAt })));
  }

  async isManagedGroup(groupId: string): Promise<boolean> {
    if (this.knownManaged.has(groupId)) return true;
    const managed = (await this.get(stateKeys.managedGroup(groupId))) !== undefined;
    if (managed) this.noteManaged(groupId);
    return managed;
  }

  async markManagedGroup(groupId: string, displayName: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: stateKeys.managedGroup(groupId) },
        // The first mark is kept; the display name follows renames.
        UpdateExpression: 'SET displayName = :displayName, markedAt = if_not_exists(markedAt, :now)',
        ExpressionAttributeValues: { ':displayName': displayName, ':now': this.clock.now().toISOString() },
      }),
    );
    this.noteManaged(groupId);
  }

  async recordGroupCreationIntent(displayName: string, eventId: string): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: stateKeys.groupCreationIntent(displayName), displayName, eventId, at: this.clock.now().toISOString() },
      }),
    );
  }

  async hasGroupCreationIntent(displayName: string): Promise<boolean> {
    return (await this.get(stateKeys.groupCreationIntent(displayName))) !== undefined;
  }

  async clearGroupCreationIntent(displayName: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: stateKeys.groupCreationIntent(displayName) } }));
  }

  async getUserIdForExternalId(externalId: ExternalId): Promise<string | undefined> {
    const item = await this.get(stateKeys.externalId(externalId));
    return item === undefined ? undefined : String(item.userId);
  }

  async putUserIdForExternalId(externalId: ExternalId, userId: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: stateKeys.externalId(externalId) },
        UpdateExpression: 'SET userId = :userId, issuer = :issuer, externalId = :id, updatedAt = :now',
        ExpressionAttributeValues: {
          ':userId': userId,
          ':issuer': externalId.Issuer,
          ':id': externalId.Id,
          ':now': this.clock.now().toISOString(),
        },
      }),
    );
  }

  async tryReserveDeletion(now: Date, windowSeconds: number, cap: number, token: string): Promise<boolean> {
    if (!Number.isInteger(windowSeconds) || windowSeconds <= 0) {
      throw new Error(`windowSeconds must be a whole number > 0, got ${windowSeconds}`);
    }
    if (cap <= 0) return false;
    const { pk, windowStartSeconds } = deletionWindowKey(now, windowSeconds);
    try {
      // One atomic write: count and token land together or not at all.
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression: 'ADD #count :one, tokens :tokenSet SET expiresAt = :expiresAt',
          ConditionExpression: '(attribute_not_exists(#count) OR #count < :cap) AND NOT contains(tokens, :token)',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: {
            ':one': 1,
            ':tokenSet': new Set([token]),
            ':cap': cap,
            ':token': token,
            ':expiresAt': windowStartSeconds + windowSeconds + DELETION_WINDOW_EXPIRY_SECONDS,
          },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // Either the cap is used up, or this token already holds a slot (a retry): tell them apart.
      const item = await this.get(pk);
      const tokens = item?.tokens;
      return tokens instanceof Set && tokens.has(token);
    }
  }

  async reservedDeletions(now: Date, windowSeconds: number): Promise<string[]> {
    const item = await this.get(deletionWindowKey(now, windowSeconds).pk);
    return item?.tokens instanceof Set ? [...(item.tokens as Set<string>)] : [];
  }

  /**
   * Every watermark that carries applied facts: one paged Scan of the table (drift detection, once
   * a day or on demand; the consumer never scans). Other items are filtered out by DynamoDB.
   */
  async listApplied(): Promise<AppliedMark[]> {
    const items = await this.scanPrefix('WM#', 'occurredAt, eventId, applied', 'attribute_exists(applied)');
    return items.map((item) => ({ occurredAt: String(item.occurredAt), eventId: String(item.eventId), applied: JSON.parse(String(item.applied)) as AppliedFacts }));
  }

  // Drift memory: when each current finding was first seen, as `DRIFT#<key>` items with the key
  // itself in `findingKey` (a long one is stored under its digest). One paged Scan per drift run.

  async recall(): Promise<Map<string, string>> {
    const items = await this.scanPrefix('DRIFT#', 'findingKey, firstSeen');
    return new Map(items.map((item) => [String(item.findingKey), String(item.firstSeen)]));
  }

  async remember(findingKey: string, firstSeen: string): Promise<void> {
    try {
      // Two runs at once (the schedule and an operator) keep the earlier first sighting.
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: stateKeys.driftFinding(findingKey), findingKey, firstSeen },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async forget(findingKeys: string[]): Promise<void> {
    for (const findingKey of new Set(findingKeys)) {
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: stateKeys.driftFinding(findingKey) } }));
    }
  }

  async tryLeaseSubjects(keys: string[], owner: string, now: Date, until: Date): Promise<LeaseResult> {
    // A fixed order, so two events wanting the same pair of subjects cannot each hold one.
    const ordered = [...new Set(keys)].sort();
    const taken: string[] = [];
    for (const key of ordered) {
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              pk: stateKeys.lease(key),
              owner,
              expiresAtMs: until.getTime(),
              // Left-over items of crashed invocations are removed by TTL a day later.
              expiresAt: Math.ceil(until.getTime() / 1000) + DELETION_WINDOW_EXPIRY_SECONDS,
            },
            ConditionExpression: 'attribute_not_exists(pk) OR #owner = :owner OR expiresAtMs < :now',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':owner': owner, ':now': now.getTime() },
          }),
        );
        taken.push(key);
      } catch (error) {
        if (!isConditionalCheckFailed(error)) {
          await this.releaseSubjects(taken, owner);
          throw error;
        }
        await this.releaseSubjects(taken, owner);
        const holder = await this.get(stateKeys.lease(key));
        // Released between our put and our read: a moment from now it is free.
        return { leased: false, heldUntil: new Date(Number(holder?.expiresAtMs ?? now.getTime())) };
      }
    }
    return { leased: true };
  }

  async releaseSubjects(keys: string[], owner: string): Promise<void> {
    await Promise.all(
      [...new Set(keys)].map(async (key) => {
        try {
          await this.client.send(
            new DeleteCommand({
              TableName: this.tableName,
              Key: { pk: stateKeys.lease(key) },
              ConditionExpression: '#owner = :owner',
              ExpressionAttributeNames: { '#owner': 'owner' },
              ExpressionAttributeValues: { ':owner': owner },
            }),
          );
        } catch (error) {
          // Someone took it over after it expired: theirs now.
          if (!isConditionalCheckFailed(error)) throw error;
        }
      }),
    );
  }

  private async advanceWatermark(key: string, mark: Watermark): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: stateKeys.watermark(key) },
          // The applied facts travel with the mark (one update); a mark without them clears the old ones.
          UpdateExpression: `SET occurredAt = :occurredAt, eventId = :eventId, #kind = :kind${mark.applied ? ', applied = :applied' : ' REMOVE applied'}`,
          ConditionExpression: 'attribute_not_exists(pk) OR occurredAt < :occurredAt',
          ExpressionAttributeNames: { '#kind': 'kind' },
          ExpressionAttributeValues: {
            ':occurredAt': mark.occurredAt,
            ':eventId': mark.eventId,
            ':kind': mark.kind,
            ...(mark.applied && { ':applied': JSON.stringify(mark.applied) }),
          },
        }),
      );
    } catch (error) {
      // Already at or past this mark: a newer event got there first, which is what we want.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  /** Every item whose key starts with `prefix` (and meets `condition`), all pages of one Scan. */
  private async scanPrefix(prefix: string, projection: string, condition?: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: `begins_with(pk, :prefix)${condition ? ` AND ${condition}` : ''}`,
          ExpressionAttributeValues: { ':prefix': prefix },
          ProjectionExpression: projection,
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  private noteManaged(groupId: string): void {
    // Bounded: a store has far fewer managed groups than this; past it, start over.
    if (this.knownManaged.size >= KNOWN_MANAGED_LIMIT) this.knownManaged.clear();
    this.knownManaged.add(groupId);
  }

  private async get(pk: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true }),
    );
    return Item;
  }

  private async batchGet(keys: { pk: string }[]): Promise<Record<string, unknown>[]> {
    const found: Record<string, unknown>[] = [];
    let pending: { pk: string }[] = keys;
    for (let round = 0; pending.length > 0; round++) {
      if (round > UNPROCESSED_RETRIES) {
        throw new Error(`BatchGetItem left ${pending.length} keys unprocessed after ${UNPROCESSED_RETRIES} retries`);
      }
      if (round > 0) await sleep(UNPROCESSED_BACKOFF_MS * 2 ** (round - 1));
      const response = await this.client.send(
        new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      found.push(...(response.Responses?.[this.tableName] ?? []));
      pending = (response.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as { pk: string }[];
    }
    return found;
  }
}

function deletionWindowKey(now: Date, windowSeconds: number): { pk: string; windowStartSeconds: number } {
  const windowStartSeconds = Math.floor(now.getTime() / 1000 / windowSeconds) * windowSeconds;
  return { pk: stateKeys.deletionWindow(new Date(windowStartSeconds * 1000)), windowStartSeconds };
}

function toUtcIso(occurredAt: string): string {
  const time = Date.parse(occurredAt);
  if (Number.isNaN(time)) throw new Error(`Watermark occurredAt is not a date: ${occurredAt}`);
  return new Date(time).toISOString();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
