/**
 * Runtime configuration: read from the environment once, at cold start, validated, with no
 * silent defaults. lib/ sets every one of these variables on the function; local/ sets the
 * same ones for the local pipeline. A missing or invalid variable fails the cold start with
 * a message naming it.
 */
import { z } from 'zod';
import { IDENTITY_STORE_ID_PATTERN } from '../domain/identity-change';
import type { ManagedGroupScope } from '../domain/managed-scope';
import { runtimeProducersSchema } from './producers';

const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);

/** An environment variable holding JSON, then validated by `schema`; `what` names it in the error. */
function jsonVariable<Schema extends z.ZodType>(what: string, schema: Schema) {
  return z
    .string()
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be ${what}` });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

/** `created` (groups this service created/updated), `prefix:<p>`, or `list:<a>,<b>,...` */
export const managedGroupScopeSchema = z.string().transform((raw, ctx): ManagedGroupScope => {
  if (raw === 'created') return { kind: 'created' };
  if (raw.startsWith('prefix:') && raw.length > 'prefix:'.length) {
    return { kind: 'prefix', prefix: raw.slice('prefix:'.length) };
  }
  if (raw.startsWith('list:')) {
    const names = raw.slice('list:'.length).split(',').map((n) => n.trim()).filter(Boolean);
    if (names.length > 0) return { kind: 'list', names };
  }
  ctx.addIssue({ code: 'custom', message: 'must be "created", "prefix:<prefix>" or "list:<name>,<name>,..."' });
  return z.NEVER;
});

export const runtimeConfigSchema = z.object({
  IDENTITY_STORE_ID: z.string().regex(IDENTITY_STORE_ID_PATTERN, 'must be d-<10 hex> or a UUID'),
  IDENTITY_STORE_REGION: z.string().min(1),
  AUDIT_TABLE_NAME: z.string().min(1),
  STATE_TABLE_NAME: z.string().min(1),
  IDEMPOTENCY_TABLE_NAME: z.string().min(1),
  /** Where outcome events (identity.change.*) are published. */
  EVENT_BUS_NAME: z.string().min(1),
  /** Where rejected events are moved, with their reason. */
  DEAD_LETTER_QUEUE_URL: z.string().url(),
  /** The DLQ's MaximumMessageSize: the transport fits each rejected message, body and reason, within it. */
  DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES: z.coerce.number().int().min(1_024).max(1_048_576),
  /**
   * Identity Store calls per second for the whole deployment, shared by every function instance
   * through the state table (lambdas/adapters/shared-quota.ts).
   */
  REQUESTS_PER_SECOND: z.coerce.number().positive(),
  /**
   * The most function instances that may call the Identity Store at once (every source queue's
   * maxConcurrency, plus the drift function). While the state table cannot be reached, each takes
   * REQUESTS_PER_SECOND / QUOTA_INSTANCES, so together they still stay within the budget.
   */
  QUOTA_INSTANCES: z.coerce.number().int().positive(),
  MANAGED_GROUP_SCOPE: managedGroupScopeSchema,
  /** A user.upserted whose groups would remove more memberships than this is rejected. */
  MAX_MEMBERSHIP_REMOVALS_PER_EVENT: nonNegativeInt,
  /** At most DELETION_CAP user/group deletions per DELETION_WINDOW_SECONDS. */
  DELETION_CAP: nonNegativeInt,
  DELETION_WINDOW_SECONDS: positiveInt,
  /** Audit records expire after this many days; 0 keeps them forever. */
  AUDIT_RETENTION_DAYS: nonNegativeInt,
  /** How long a looked-up UserId/GroupId may be reused within a warm process; 0 disables. */
  ID_CACHE_TTL_SECONDS: nonNegativeInt,
  /** Stop retrying this long before the invocation's deadline. */
  RETRY_SAFETY_MARGIN_MS: nonNegativeInt,
  /** standard or fifo: picks the batch processor. */
  QUEUE_KIND: z.enum(['standard', 'fifo']),
  /** The source queue's redrive maxReceiveCount: the delivery that fails last is recorded FAILED. */
  MAX_RECEIVE_COUNT: positiveInt,
  /**
   * A retryable failure the service owed no wait for (a group not created yet, the audit store
   * down) comes back after base * 2^(receives-1) seconds, at most 15 minutes.
   */
  REDELIVERY_BASE_DELAY_SECONDS: positiveInt,
  /**
   * An event's occurredAt may be at most this many seconds after the moment it is received (the
   * sender's clock may run ahead a little). A later one would leave a watermark no real event can
   * pass, freezing the person: it is rejected.
   */
  MAX_CLOCK_SKEW_SECONDS: nonNegativeInt,
  /** No event can have happened before this instant (ISO-8601 with a zone): earlier is rejected. */
  OCCURRED_AT_FLOOR: z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time with a time zone' }),
  /**
   * The declared producers (JSON array, lambdas/shared/producers.ts): how the function tells who
   * sent a record (its queue, or the bus source) and what that producer may ask for. `[]` when
   * none is declared: then every event is refused as PRODUCER_UNKNOWN.
   */
  PRODUCERS: jsonVariable('a JSON array of producers', runtimeProducersSchema),
});

export type RuntimeConfig = z.output<typeof runtimeConfigSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function loadRuntimeConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const parsed = runtimeConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid function configuration: ${problems}`);
  }
  return parsed.data;
}

/** The env var names, for lib/ and local/ to set. */
export const RUNTIME_ENV_KEYS = Object.keys(runtimeConfigSchema.shape) as (keyof typeof runtimeConfigSchema.shape)[];

/**
 * The drift function's configuration (lambdas/handlers/drift-detector.ts): the consumer's variables
 * it shares, defined once above and picked here, plus its own two.
 */
export const driftRuntimeConfigSchema = runtimeConfigSchema
  .pick({
    IDENTITY_STORE_ID: true,
    IDENTITY_STORE_REGION: true,
    AUDIT_TABLE_NAME: true,
    AUDIT_RETENTION_DAYS: true,
    STATE_TABLE_NAME: true,
    EVENT_BUS_NAME: true,
    REQUESTS_PER_SECOND: true,
    QUOTA_INSTANCES: true,
    MANAGED_GROUP_SCOPE: true,
    RETRY_SAFETY_MARGIN_MS: true,
  })
  .extend({
    /** `report`: record, count and announce drift; `repair`: also send the events that put it back. */
    DRIFT_ACTION: z.enum(['report', 'repair']),
    /**
     * The consumer's source queues (JSON array of queue URLs): drift detection waits while they hold
     * events, so it never competes with event processing for the Identity Store quota.
     */
    SOURCE_QUEUE_URLS: jsonVariable('a JSON array of queue URLs', z.array(z.string().url()).min(1)),
  });

export type DriftRuntimeConfig = z.output<typeof driftRuntimeConfigSchema>;

export function loadDriftRuntimeConfig(env: NodeJS.ProcessEnv = process.env): DriftRuntimeConfig {
  const parsed = driftRuntimeConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid drift function configuration: ${problems}`);
  }
  return parsed.data;
}

/** The drift function's env var names, for lib/ and local/ to set. */
export const DRIFT_RUNTIME_ENV_KEYS = Object.keys(driftRuntimeConfigSchema.shape) as (keyof typeof driftRuntimeConfigSchema.shape)[];

/** One instance's static share of the budget: what it may use without the shared ledger. */
export function staticShareOf(config: { REQUESTS_PER_SECOND: number; QUOTA_INSTANCES: number }): number {
  return config.REQUESTS_PER_SECOND / config.QUOTA_INSTANCES;
}

/**
 * The audit digester's configuration (lambdas/handlers/audit-digester.ts, deployed by
 * lib/audit-digests.ts): where the trail is read and where its digests are kept, and the two
 * times that shape the digests.
 */
export const digesterRuntimeConfigSchema = runtimeConfigSchema.pick({ AUDIT_TABLE_NAME: true }).extend({
  /** The Object Lock bucket the digests are written to. */
  AUDIT_DIGEST_BUCKET_NAME: z.string().min(1),
  /**
   * How long after a window ends its digest may be made: a record dated T can reach the table up to
   * the consumer's timeout (at most 15 minutes) after T, so a window is digested only once settled.
   */
  AUDIT_DIGEST_SETTLE_MINUTES: z.coerce.number().int().min(15).max(120),
  /** The span of one digest; windows end on its multiples (whole hours for 60). */
  AUDIT_DIGEST_WINDOW_MINUTES: z.coerce.number().int().min(1).max(1440),
});

export type DigesterRuntimeConfig = z.output<typeof digesterRuntimeConfigSchema>;

export function loadDigesterRuntimeConfig(env: NodeJS.ProcessEnv = process.env): DigesterRuntimeConfig {
  const parsed = digesterRuntimeConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid audit digester configuration: ${problems}`);
  }
  return parsed.data;
}

/** The audit digester's env var names, for lib/ to set. */
export const DIGESTER_RUNTIME_ENV_KEYS = Object.keys(digesterRuntimeConfigSchema.shape) as (keyof typeof digesterRuntimeConfigSchema.shape)[];
