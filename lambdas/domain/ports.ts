/**
 * What the engine needs from the outside world. The domain imports no AWS SDK: adapters in
 * lambdas/adapters implement these ports, tests hand in in-memory fakes.
 */
import type { ErrorCode } from './error-codes';
import type { UserAttributes, ExternalId } from './identity-change';

/** What every Identity Store call reports back, for the audit trail. */
export interface CallReceipt {
  /** The service's RequestId (x-amzn-RequestId), when the service sent one. */
  requestId?: string;
  /** HTTP attempts the SDK made, including retries. */
  attempts: number;
  /** Milliseconds spent waiting between attempts (RetryAfterSeconds and backoff). */
  waitedMs: number;
}

export interface StoredUser {
  userId: string;
  /** Attributes as the store holds them, in the event contract's (CreateUser's) shape. */
  attributes: UserAttributes;
  /** ExternalIds the store knows for the user (set by SCIM provisioning, read-only through the API). */
  externalIds: ExternalId[];
}

export interface StoredGroup {
  groupId: string;
  displayName: string;
  description?: string;
}

export interface Membership {
  membershipId: string;
  groupId: string;
  userId: string;
}

/** One UpdateUser/UpdateGroup operation: a missing value removes the attribute. */
export interface AttributeOperation {
  attributePath: string;
  attributeValue?: unknown;
}

/**
 * The Identity Store, one identity store per port instance. Reads that find nothing return
 * undefined; writes that collide or miss throw the typed errors below; throttling and server
 * errors are retried inside the adapter and surface as RetryableError when the budget runs out.
 */
/** `fresh`: answer from the service, not from any cache of earlier answers. */
export interface LookupOptions {
  fresh?: boolean;
}

export interface IdentityStorePort {
  findUserIdByUserName(userName: string, options?: LookupOptions): Promise<string | undefined>;
  findUserIdByExternalId(externalId: ExternalId): Promise<string | undefined>;
  describeUser(userId: string): Promise<StoredUser | undefined>;
  createUser(attributes: UserAttributes): Promise<{ userId: string; receipt: CallReceipt }>;
  updateUser(userId: string, operations: AttributeOperation[]): Promise<CallReceipt>;
  deleteUser(userId: string): Promise<CallReceipt>;

  findGroupIdByDisplayName(displayName: string, options?: LookupOptions): Promise<string | undefined>;
  describeGroup(groupId: string): Promise<StoredGroup | undefined>;
  createGroup(group: { displayName: string; description?: string }): Promise<{ groupId: string; receipt: CallReceipt }>;
  updateGroup(groupId: string, operations: AttributeOperation[]): Promise<CallReceipt>;
  deleteGroup(groupId: string): Promise<CallReceipt>;

  /** Every group of the identity store (all pages): drift and roster reconcile walk the managed scope. */
  listGroups(): Promise<StoredGroup[]>;
  listMembershipsForUser(userId: string): Promise<Membership[]>;
  listMembershipsInGroup(groupId: string): Promise<Membership[]>;
  findMembershipId(groupId: string, userId: string): Promise<string | undefined>;
  createMembership(groupId: string, userId: string): Promise<{ membershipId: string; receipt: CallReceipt }>;
  deleteMembership(membershipId: string): Promise<CallReceipt>;
}

/** The write raced another writer for the same unique value (UNIQUENESS_CONSTRAINT_VIOLATION). */
export class AlreadyExistsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AlreadyExistsError';
  }
}

/** The target of a write is gone (ResourceNotFoundException). */
export class NotFoundError extends Error {
  readonly resourceType: string | undefined;
  constructor(message: string, resourceType?: string) {
    super(message);
    this.name = 'NotFoundError';
    this.resourceType = resourceType;
  }
}

/** The store refused the request as invalid (ValidationException): the event is wrong. */
export class InvalidRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}

/**
 * Who sent an event, as AWS vouches for it (lambdas/domain/producer.ts), on every audit record.
 * `actor` next to it is only what the sender wrote into the event.
 */
export interface ProducerFacts {
  /** The verified producer's name; `unverified` when none could be verified (PRODUCER_UNKNOWN, unreadable bus-queue body). */
  producer: string;
  /** SQS's SenderId of the message, raw: the sending principal's unique id (the bus rule's, for the bus queue). */
  senderId: string;
  /** The door it came in by: the bus queue or a producer queue. */
  via: 'bus' | 'queue';
}

/** The final outcome of one event, or RETRYING for an attempt that will be tried again. */
export type Outcome = 'APPLIED' | 'NOOP' | 'SUPERSEDED' | 'REJECTED' | 'FAILED' | 'RETRYING';

export type WriteAction =
  | 'CreateUser' | 'UpdateUser' | 'DeleteUser'
  | 'CreateGroup' | 'UpdateGroup' | 'DeleteGroup'
  | 'CreateGroupMembership' | 'DeleteGroupMembership';

/**
 * "This attempt is about to make this write": recorded before every Identity Store write, so no
 * write can happen without a record of it. A WRITE record with the same eventId, attempt and
 * sequence follows when the write succeeds and its record can be written; an intent without one
 * is a write that failed, or one that was made but whose response or record was lost (the next
 * attempt converges from whatever state it left).
 */
export interface IntentRecord extends ProducerFacts {
  eventId: string;
  /** Position of this write within the event's attempt (0, 1, ...); its WRITE record has the same. */
  sequence: number;
  attempt: number;
  at: string;
  action: WriteAction;
  actor: string;
  identityStoreId: string;
  /** The call's targets, as far as they are known before it is made. */
  userId?: string;
  userName?: string;
  groupId?: string;
  groupDisplayName?: string;
  membershipId?: string;
}

/** One Identity Store write, as the audit trail keeps it: its intent, completed (same sequence). */
export interface WriteRecord extends IntentRecord {
  /** Attribute paths changed, with the value before and after (absent = not set). */
  changes?: { path: string; before?: unknown; after?: unknown }[];
  requestId?: string;
  attempts: number;
  waitedMs: number;
}

/** What happened to one event (one record per attempt; the last is the final outcome). */
export interface OutcomeRecord extends ProducerFacts {
  eventId: string;
  attempt: number;
  at: string;
  receivedAt: string;
  occurredAt?: string;
  source: string;
  actor?: string;
  type?: string;
  identityStoreId?: string;
  /** Readable subject: userName / group display name as the event named them. */
  userName?: string;
  groupDisplayName?: string;
  userId?: string;
  groupId?: string;
  /** A user event's ExternalIds (the HR system's ids): with userId, what `audit --external-id` finds. */
  externalIds?: ExternalId[];
  outcome: Outcome;
  errorCode?: ErrorCode;
  errorMessage?: string;
  /** Total milliseconds this attempt waited on RetryAfterSeconds/backoff. */
  waitedMs: number;
  /** Writes this attempt made (their details are in WriteRecords). */
  writes: number;
  /** The wait handed back to the queue for a RETRYING outcome. */
  owedWaitMs?: number;
}

/** The append-only audit trail. Every put is conditional on the record not existing. */
export interface AuditLogPort {
  recordIntent(record: IntentRecord): Promise<void>;
  recordWrite(record: WriteRecord): Promise<void>;
  recordOutcome(record: OutcomeRecord): Promise<void>;
}

/** What the engine remembers between events (DynamoDB state table in AWS). */
export interface Watermark {
  occurredAt: string;
  eventId: string;
  /** The change that set it, e.g. 'upserted' or 'deleted'. */
  kind: string;
  /**
   * What the change that set it asked of the store, as applied (or found already so): what drift
   * detection compares the store with. Written with the watermark, in the same update.
   */
  applied?: AppliedFacts;
}

/**
 * The state a change left its subject in, by id (names change, ids do not):
 * - `user`: the attributes a user.upserted set (a patch: only those it carried);
 * - `memberships`: a user.upserted's complete group list, within the groups its producer may touch;
 * - `membership`: one pair, decided by membership.added/removed;
 * - `group`: a group.upserted's display name and description;
 * - `user-deleted` / `group-deleted`: the subject should not exist.
 */
export type AppliedFacts =
  | { kind: 'user'; userId: string; attributes: UserAttributes }
  | { kind: 'user-deleted'; userId: string }
  | { kind: 'memberships'; userId: string; groupIds: string[]; within: string[] }
  | { kind: 'membership'; userId: string; groupId: string; member: boolean }
  | { kind: 'group'; groupId: string; displayName: string; description?: string }
  | { kind: 'group-deleted'; groupId: string };

/** One subject's last applied facts, as drift detection reads them back. */
export interface AppliedMark {
  occurredAt: string;
  eventId: string;
  applied: AppliedFacts;
}

/** Reads back every applied fact the state table holds (drift detection; a scan, paged). */
export interface AppliedViewPort {
  listApplied(): Promise<AppliedMark[]>;
}

export interface ProcessingStatePort {
  /** Watermarks for the given subject keys (missing keys are absent from the map). */
  getWatermarks(keys: string[]): Promise<Map<string, Watermark>>;
  /**
   * Move each key's watermark forward to `mark`, never backward (conditional on the stored
   * occurredAt being older, or absent). Keys already at or past `mark` are left alone.
   */
  advanceWatermarks(keys: string[], mark: Watermark): Promise<void>;

  /** Groups this service created or updated itself: the default managed scope. */
  isManagedGroup(groupId: string): Promise<boolean>;
  markManagedGroup(groupId: string, displayName: string): Promise<void>;

  /**
   * "This service is about to create a group with this name", recorded before CreateGroup. If the
   * create lands but its managed mark does not (a lost response, the state table away), the group
   * found later under that name is still provably ours. Cleared when we delete the group.
   */
  recordGroupCreationIntent(displayName: string, eventId: string): Promise<void>;
  hasGroupCreationIntent(displayName: string): Promise<boolean>;
  clearGroupCreationIntent(displayName: string): Promise<void>;

  /** Our own ExternalId -> UserId mapping (CreateUser cannot set ExternalIds). */
  getUserIdForExternalId(externalId: ExternalId): Promise<string | undefined>;
  putUserIdForExternalId(externalId: ExternalId, userId: string): Promise<void>;

  /**
   * Take one slot of the deletion allowance for the window that contains `now`.
   * Returns false, taking nothing, when the window's cap is already used up.
   * `token` makes the call idempotent: a retry of the same deletion does not take a second slot.
   */
  tryReserveDeletion(now: Date, windowSeconds: number, cap: number, token: string): Promise<boolean>;
  /** The tokens holding a slot of the window that contains `now` (read only: a plan asks what a deletion would find). */
  reservedDeletions(now: Date, windowSeconds: number): Promise<string[]>;

  /**
   * Lease the subjects an event touches until `until`, so that two events about the same person
   * or group never run at once, whichever function instance handles them. All or nothing: when
   * any subject is held by another owner, nothing is taken and the answer says until when it is
   * held. A lease the same owner holds is renewed; an expired one is taken over.
   */
  tryLeaseSubjects(keys: string[], owner: string, now: Date, until: Date): Promise<LeaseResult>;
  /** Give back what `owner` holds; leases it no longer holds are left alone. */
  releaseSubjects(keys: string[], owner: string): Promise<void>;
}

export type LeaseResult = { leased: true } | { leased: false; heldUntil: Date };

export interface Clock {
  now(): Date;
}
