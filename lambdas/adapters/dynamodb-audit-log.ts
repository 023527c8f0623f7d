/**
 * The append-only audit trail in DynamoDB (layout: lambdas/shared/tables.ts, AUDIT TABLE).
 * Every put is conditional on the key being new; nothing here updates or deletes.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DriftAuditPort, DriftRecord } from '../domain/drift';
import type { AuditLogPort, IntentRecord, OutcomeRecord, WriteRecord } from '../domain/ports';
import { AUDIT_TABLE } from '../shared/tables';
import { auditContentHash, canonical } from '../domain/canonical-hash';
import { nameKey } from '../domain/names';
import { asDocumentClient, isConditionalCheckFailed, type AnyDynamoDbClient } from './dynamodb-document-client';
import { fitsKeyLimit, partitionKey } from './dynamodb-keys';

/** A record as the trail returns it: the domain record tagged with its kind. */
export type AuditRecord =
  | ({ kind: 'OUTCOME' } & OutcomeRecord)
  | ({ kind: 'WRITE' } & WriteRecord)
  | ({ kind: 'INTENT' } & IntentRecord)
  | DriftAuditRecord;

/**
 * A DRIFT record as the trail returns it. It comes from a drift run, not from an event: it has no
 * attempt and no producer (declared absent, so code that reads them off any record finds none).
 */
export type DriftAuditRecord = { kind: 'DRIFT' } & DriftRecord & { attempt?: undefined; producer?: undefined; via?: undefined; senderId?: undefined };
export type AuditItem = Record<string, unknown>;

// The content hash lives in the domain (the digests compute it too); re-exported for the callers of this module.
export { auditContentHash, canonical };

/** Outcomes that end an event badly; only these are indexed in byProblem. */
export const PROBLEM_OUTCOMES = ['FAILED', 'REJECTED'] as const;
export type ProblemOutcome = (typeof PROBLEM_OUTCOMES)[number];

/**
 * Key values of the table and its indexes, shared with the query side (dynamodb-audit-query.ts),
 * which must build exactly these. Every part taken from an event goes through `partitionKey`
 * (dynamodb-keys.ts): kept as it is up to 1,024 bytes of UTF-8, else `sha256:<hex>` of it, so no
 * key exceeds DynamoDB's 2,048 bytes. User names and group display names are folded with
 * `nameKey`, as the Identity Store compares them: `Ada` and `ada` share one history.
 * Sort keys are built from the record's time and counters only (about 40 bytes).
 */
export const auditKeys = {
  event: (eventId: string) => partitionKey('EVENT#', eventId),
  user: (userName: string) => partitionKey('USER#', nameKey(userName)),
  group: (displayName: string) => partitionKey('GROUP#', nameKey(displayName)),
  /** `at` may carry any offset: days and sort keys are always UTC, so they sort as time does. */
  day: (at: string) => toUtcIso(at).slice(0, 10),
  actorDay: (actor: string, day: string) => partitionKey('', actor, `#${day}`),
  problemDay: (outcome: ProblemOutcome, day: string) => `${outcome}#${day}`,
  outcomeSk: (at: string, attempt: number) => `${toUtcIso(at)}#OUTCOME#${pad4(attempt)}`,
  writeSk: (at: string, attempt: number, sequence: number) =>
    `${toUtcIso(at)}#WRITE#${pad4(attempt)}#${pad4(sequence)}`,
  /** Sorts before its WRITE at the same instant ("INTENT" < "WRITE"), as it happened. */
  intentSk: (at: string, attempt: number, sequence: number) =>
    `${toUtcIso(at)}#INTENT#${pad4(attempt)}#${pad4(sequence)}`,
  /** A drift finding's records, one per run that saw it (the key is ids only: drift.ts). */
  drift: (findingKey: string) => partitionKey('DRIFT#', findingKey),
  driftSk: (at: string) => `${toUtcIso(at)}#DRIFT`,
  /** byPerson: every record that names the user's UserId, whatever their name was then. */
  person: (userId: string) => partitionKey('USERID#', userId),
  /** byPerson: the links from an ExternalId (the HR system's id) to the UserIds it named. */
  externalId: (issuer: string, id: string) => partitionKey('EXTID#', `${encodeURIComponent(issuer)}:${encodeURIComponent(id)}`),
  /** Sorts before the OUTCOME it belongs to ("LINK" < "OUTCOME"): links are written first. */
  linkSk: (at: string, attempt: number, n: number) => `${toUtcIso(at)}#LINK#${pad4(attempt)}#${pad4(n)}`,
};

/**
 * "This ExternalId named this UserId": written with the outcome of a user event that named
 * ExternalIds and resolved the person, one per ExternalId, under the event (before its OUTCOME),
 * in byPerson under the ExternalId and in byDay. Only the query side reads these: they are how
 * `--external-id` finds the person (or the persons, after a re-hire) an HR id stood for.
 */
export interface PersonLink {
  kind: 'LINK';
  eventId: string;
  attempt: number;
  at: string;
  issuer: string;
  externalId: string;
  userId: string;
  userName?: string;
}

/**
 * The keys records about a user or group were written under before names were folded and long
 * names digested (`USER#<userName as sent>`): the query side reads these partitions too, so
 * history written earlier is still found when asked for by its original spelling. Undefined when
 * it is the current key, or could never have been written (over DynamoDB's limit).
 */
export const legacyAuditKeys = {
  user: (userName: string) => legacy(`USER#${userName}`, auditKeys.user(userName)),
  group: (displayName: string) => legacy(`GROUP#${displayName}`, auditKeys.group(displayName)),
};

function legacy(key: string, current: string): string | undefined {
  return key !== current && fitsKeyLimit(key, 'partition') ? key : undefined;
}

/** Attributes the table adds around the record; everything else on an item is a record field. */
const TABLE_ATTRIBUTES = new Set<string>([
  AUDIT_TABLE.partitionKey,
  AUDIT_TABLE.sortKey,
  AUDIT_TABLE.timeToLiveAttribute,
  ...Object.values(AUDIT_TABLE.indexes).map((index) => index.partitionKey),
  'kind',
  'contentHash',
  'changesJson',
  'expectedJson',
  'actualJson',
]);

const SECONDS_PER_DAY = 86_400;

/**
 * The item for a record. `changes` is kept as a JSON string: before/after values are arbitrary
 * (empty strings, nested objects, null) and must come back exactly as they went in.
 * `expiresAt` counts from the record's own time, so a retried put builds the identical item.
 */
export function toAuditItem(record: AuditRecord, options: { retentionDays?: number } = {}): AuditItem {
  if (record.kind === 'DRIFT') return toDriftItem(record, options.retentionDays ?? 0);
  const sk =
    record.kind === 'OUTCOME'
      ? auditKeys.outcomeSk(record.at, record.attempt)
      : record.kind === 'WRITE'
        ? auditKeys.writeSk(record.at, record.attempt, record.sequence)
        : auditKeys.intentSk(record.at, record.attempt, record.sequence);
  const day = auditKeys.day(record.at);
  const item: AuditItem = { pk: auditKeys.event(record.eventId), sk, kind: record.kind, day };
  for (const [name, value] of Object.entries(record)) {
    if (value === undefined || name === 'kind' || name === 'changes') continue;
    item[name] = value;
  }
  if (record.kind === 'WRITE' && record.changes !== undefined) item.changesJson = JSON.stringify(record.changes);
  // An intent is found through its event only: the indexes answer what happened, and a confirmed
  // intent says nothing its WRITE does not. An unconfirmed one is reached from its attempt's
  // outcome (RETRYING or FAILED, with AUDIT_UNAVAILABLE or the write's failure).
  // It is in byDay (the digests cover every record) and byPerson, not in the other indexes.
  if (record.userId !== undefined) item.personKey = auditKeys.person(record.userId);
  if (record.kind === 'INTENT') return sealed(item, record.at, options.retentionDays ?? 0);
  if (record.userName !== undefined) item.userKey = auditKeys.user(record.userName);
  if (record.groupDisplayName !== undefined) item.groupKey = auditKeys.group(record.groupDisplayName);
  if (record.actor !== undefined) item.actorDay = auditKeys.actorDay(record.actor, day);
  if (record.kind === 'OUTCOME' && isProblem(record.outcome)) {
    item.problemDay = auditKeys.problemDay(record.outcome, day);
  }
  return sealed(item, record.at, options.retentionDays ?? 0);
}

/** The LINK items an outcome brings: one per ExternalId it named, once the person is known. */
export function toLinkItems(record: OutcomeRecord, options: { retentionDays?: number } = {}): AuditItem[] {
  if (record.userId === undefined || record.externalIds === undefined) return [];
  return record.externalIds.map((externalId, n) => {
    const link: PersonLink = {
      kind: 'LINK',
      eventId: record.eventId,
      attempt: record.attempt,
      at: record.at,
      issuer: externalId.Issuer,
      externalId: externalId.Id,
      userId: record.userId!,
      ...(record.userName !== undefined && { userName: record.userName }),
    };
    const item: AuditItem = {
      pk: auditKeys.event(record.eventId),
      sk: auditKeys.linkSk(record.at, record.attempt, n),
      day: auditKeys.day(record.at),
      personKey: auditKeys.externalId(externalId.Issuer, externalId.Id),
      ...link,
    };
    return sealed(item, record.at, options.retentionDays ?? 0);
  });
}

/** The link an item holds (the query side's reading of a LINK item). */
export function fromLinkItem(item: AuditItem): PersonLink {
  const fields = Object.fromEntries(Object.entries(item).filter(([name]) => !TABLE_ATTRIBUTES.has(name)));
  return { kind: 'LINK', ...(fields as Omit<PersonLink, 'kind'>) };
}

/** The item with its expiry (when retention is on) and its content hash, ready to put. */
function sealed(item: AuditItem, at: string, retentionDays: number): AuditItem {
  const withExpiry = withRetention(item, at, retentionDays);
  withExpiry.contentHash = auditContentHash(withExpiry);
  return withExpiry;
}

/**
 * A DRIFT record: under its finding (each run that saw it adds one), found by the user's and the
 * group's name keys and by day like the records of events. Expected and actual values are kept as
 * JSON, as a write's changes are, so they come back exactly.
 */
function toDriftItem(record: DriftAuditRecord, retentionDays: number): AuditItem {
  const day = auditKeys.day(record.at);
  const item: AuditItem = { pk: auditKeys.drift(record.findingKey), sk: auditKeys.driftSk(record.at), kind: 'DRIFT', day };
  for (const [name, value] of Object.entries(record)) {
    if (value === undefined || name === 'kind' || name === 'expected' || name === 'actual') continue;
    item[name] = value;
  }
  if (record.expected !== undefined) item.expectedJson = JSON.stringify(record.expected);
  if (record.actual !== undefined) item.actualJson = JSON.stringify(record.actual);
  if (record.userName !== undefined) item.userKey = auditKeys.user(record.userName);
  if (record.groupDisplayName !== undefined) item.groupKey = auditKeys.group(record.groupDisplayName);
  if (record.userId !== undefined) item.personKey = auditKeys.person(record.userId);
  return sealed(item, record.at, retentionDays);
}

function withRetention(item: AuditItem, at: string, retentionDays: number): AuditItem {
  if (retentionDays > 0) item.expiresAt = Math.floor(Date.parse(at) / 1000) + retentionDays * SECONDS_PER_DAY;
  return item;
}

/** The record an item holds, in the shape it was recorded in. */
export function fromAuditItem(item: AuditItem): AuditRecord {
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    if (!TABLE_ATTRIBUTES.has(name)) fields[name] = value;
  }
  if (item.kind === 'OUTCOME') return { kind: 'OUTCOME', ...(fields as unknown as OutcomeRecord) };
  if (item.kind === 'WRITE') {
    const changes = typeof item.changesJson === 'string' ? { changes: JSON.parse(item.changesJson) } : {};
    return { kind: 'WRITE', ...(fields as unknown as WriteRecord), ...changes };
  }
  if (item.kind === 'INTENT') return { kind: 'INTENT', ...(fields as unknown as IntentRecord) };
  if (item.kind === 'DRIFT') {
    return {
      kind: 'DRIFT',
      ...(fields as unknown as DriftRecord),
      ...(typeof item.expectedJson === 'string' && { expected: JSON.parse(item.expectedJson) as unknown }),
      ...(typeof item.actualJson === 'string' && { actual: JSON.parse(item.actualJson) as unknown }),
    };
  }
  throw new Error(`Audit item ${String(item.pk)} / ${String(item.sk)} has unknown kind ${String(item.kind)}`);
}

/** A different record already holds this record's key: the trail refuses to overwrite it. */
export class AuditRecordConflictError extends Error {
  constructor(pk: string, sk: string) {
    super(`A different audit record already exists at ${pk} / ${sk}`);
    this.name = 'AuditRecordConflictError';
  }
}

export interface DynamoDbAuditLogOptions {
  client: AnyDynamoDbClient;
  tableName: string;
  /** Records expire this many days after their `at`; 0 keeps them forever (no expiresAt). */
  retentionDays: number;
}

export class DynamoDbAuditLog implements AuditLogPort, DriftAuditPort {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly retentionDays: number;

  constructor(options: DynamoDbAuditLogOptions) {
    if (!Number.isInteger(options.retentionDays) || options.retentionDays < 0) {
      throw new Error(`retentionDays must be a whole number >= 0, got ${options.retentionDays}`);
    }
    this.client = asDocumentClient(options.client);
    this.tableName = options.tableName;
    this.retentionDays = options.retentionDays;
  }

  recordIntent(record: IntentRecord): Promise<void> {
    return this.append({ kind: 'INTENT', ...record });
  }

  recordWrite(record: WriteRecord): Promise<void> {
    return this.append({ kind: 'WRITE', ...record });
  }

  /** Its LINK items first: the OUTCOME marks the event's records complete (a retry puts the same items). */
  async recordOutcome(record: OutcomeRecord): Promise<void> {
    await Promise.all(toLinkItems(record, { retentionDays: this.retentionDays }).map((link) => this.put(link)));
    await this.append({ kind: 'OUTCOME', ...record });
  }

  recordDrift(record: DriftRecord): Promise<void> {
    return this.append({ kind: 'DRIFT', ...record });
  }

  /** Any record, by its kind (tools and tests that replay a trail). */
  append(record: AuditRecord): Promise<void> {
    return this.put(toAuditItem(record, { retentionDays: this.retentionDays }));
  }

  private async put(item: AuditItem): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // An earlier try of this very put may have landed and only its response was lost.
      if (!(await this.holdsSameRecord(item))) throw new AuditRecordConflictError(String(item.pk), String(item.sk));
    }
  }

  private async holdsSameRecord(item: AuditItem): Promise<boolean> {
    const { Item: stored } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: item.pk, sk: item.sk }, ConsistentRead: true }),
    );
    // expiresAt is left out: a changed retention setting does not make it another record.
    return stored !== undefined && canonical(withoutExpiry(stored)) === canonical(withoutExpiry(item));
  }
}

function isProblem(outcome: string): outcome is ProblemOutcome {
  return (PROBLEM_OUTCOMES as readonly string[]).includes(outcome);
}

function withoutExpiry(item: AuditItem): AuditItem {
  const copy = { ...item };
  delete copy[AUDIT_TABLE.timeToLiveAttribute];
  return copy;
}

function toUtcIso(at: string): string {
  const time = Date.parse(at);
  if (Number.isNaN(time)) throw new Error(`Audit record time is not a date: ${at}`);
  return new Date(time).toISOString();
}

function pad4(n: number): string {
  return String(n).padStart(4, '0');
}
