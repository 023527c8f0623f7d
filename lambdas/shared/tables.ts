/**
 * The DynamoDB table layouts, shared by the CDK constructs (lib/) that create the tables,
 * the adapters that read and write them, and local/ which creates them in dynalite.
 * Constants only: no SDK, no CDK.
 *
 * AUDIT TABLE (append-only; every put is `attribute_not_exists(pk)`):
 *   pk = EVENT#<eventId>                     sk = <at ISO>#OUTCOME#<attempt 4 digits>   (outcome records)
 *   pk = EVENT#<eventId>                     sk = <at ISO>#WRITE#<attempt 4>#<seq 4>    (write records)
 *   -> Query pk = EVENT#<id>: one event, all attempts and writes, in time order.
 *   pk = EVENT#<eventId>                     sk = <at ISO>#INTENT#<attempt 4>#<seq 4>   (before each write)
 *   pk = EVENT#<eventId>                     sk = <at ISO>#LINK#<attempt 4>#<n 4>       (ExternalId -> UserId,
 *                                            written before the OUTCOME of a user event that named ExternalIds)
 *   pk = DRIFT#<finding key>                 sk = <at ISO>#DRIFT   (one per drift run that saw the finding;
 *                                            in byUser, byGroup and byDay like the records of events)
 *   Every item carries `contentHash`: SHA-256 of its content (all but the hash and expiresAt), which
 *   the digests keep (lambdas/domain/audit-digest.ts) so a later change or removal shows.
 *   GSIs (all project ALL; sort key `sk` keeps time order and uniqueness):
 *   byUser    userKey  = USER#<nameKey(userName)>     (outcomes and writes that concern the user)
 *   byGroup   groupKey = GROUP#<nameKey(displayName)> (outcomes and writes that concern the group)
 *   byDay     day      = <YYYY-MM-DD>               (every item: time-window queries, one Query per day; digests)
 *   byActor   actorDay = <actor>#<YYYY-MM-DD>       (every record of an actor, per day)
 *   byProblem problemDay = <FAILED|REJECTED>#<YYYY-MM-DD>  (sparse: only final failures)
 *   byPerson  personKey = USERID#<userId>          (every record naming the UserId, across renames)
 *             personKey = EXTID#<issuer>:<id>      (LINK items: which UserIds an ExternalId named)
 *   Optional TTL attribute `expiresAt` (epoch seconds), off unless retention is configured.
 *
 * STATE TABLE (processing state; small, overwritten in place):
 *   pk = WM#<subject key>           watermark: occurredAt, eventId, kind
 *   pk = MANAGED#<groupId>          groups this service created/updated (default managed scope)
 *   pk = EXT#<issuer>#<id>          our ExternalId -> UserId mapping
 *   pk = DELCAP#<window start ISO>  deletions taken in that window (count, tokens, expiresAt)
 *   pk = LEASE#<subject key>        which event is applying a change to that subject (owner, expiresAtMs)
 *   pk = INTENT#group:<nameKey(name)>  this service set out to create that group (eventId, at)
 *   pk = DRIFT#<finding key>        a drift finding still present: findingKey, firstSeen (ids only)
 *   pk = QUOTA#identitystore        the shared Identity Store budget: the slot cursor, the pause a throttle
 *                                   asked for, the adapted rate (lambdas/adapters/quota-ledger.ts)
 *   TTL attribute `expiresAt` (epoch seconds): deletion-window items expire a day after their window.
 *
 * KEY SIZES: DynamoDB limits a partition key (table or GSI) to 2,048 bytes of UTF-8 and a sort key
 * to 1,024. Every <part> above that comes from an event is kept as it is up to 1,024 bytes, else
 * replaced by `sha256:<hex>` of it (lambdas/adapters/dynamodb-keys.ts); names are case-folded by
 * nameKey (lambdas/domain/names.ts). Sort keys hold only times and counters.
 *
 * IDEMPOTENCY TABLE: Powertools idempotency persistence (partition key `id`, TTL `expiration`).
 * Powertools stores `<function name>#<md5 of the key expression, base64>`: under 100 bytes.
 */
/** The one item every function instance takes its Identity Store call slots from. */
export const QUOTA_LEDGER_KEY = 'QUOTA#identitystore';

export const AUDIT_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  timeToLiveAttribute: 'expiresAt',
  indexes: {
    byUser: { partitionKey: 'userKey', sortKey: 'sk' },
    byGroup: { partitionKey: 'groupKey', sortKey: 'sk' },
    byDay: { partitionKey: 'day', sortKey: 'sk' },
    byActor: { partitionKey: 'actorDay', sortKey: 'sk' },
    byProblem: { partitionKey: 'problemDay', sortKey: 'sk' },
    byPerson: { partitionKey: 'personKey', sortKey: 'sk' },
  },
} as const;

export const STATE_TABLE = {
  partitionKey: 'pk',
  timeToLiveAttribute: 'expiresAt',
} as const;

export const IDEMPOTENCY_TABLE = {
  partitionKey: 'id',
  timeToLiveAttribute: 'expiration',
} as const;

export type AuditIndexName = keyof typeof AUDIT_TABLE.indexes;
