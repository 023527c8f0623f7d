/**
 * Deployment settings of the identity provisioner: read from CDK context (`-c key=value`,
 * cdk.json) or passed as construct props, and validated at synth with zod. A bad value fails
 * the synth with a message naming the key and the rule, before anything is deployed.
 *
 * Context values from `-c` arrive as strings: numbers are coerced, lists are JSON arrays or
 * comma-separated.
 */
import { z } from 'zod';
import { IDENTITY_STORE_ID_PATTERN } from '../lambdas/domain/identity-change';
import { managedGroupScopeSchema } from '../lambdas/shared/config';
import { OUTCOME_EVENT_SOURCE } from '../lambdas/shared/telemetry';
import { DEFAULT_ACCEPTED_SOURCES } from '../lambdas/shared/ingestion';

export type QueueKind = 'standard' | 'fifo';
export type RemovalPolicyName = 'retain' | 'destroy';

/** The settings as a CDK app or another construct passes them (all but identityStoreId optional). */
export interface ProvisionerSettings {
  /** The identity store to drive: `d-` and 10 hex digits, or a UUID. */
  readonly identityStoreId: string;
  /** Region of IAM Identity Center. Default: the stack's region (us-east-1 when the stack is environment-agnostic). */
  readonly identityStoreRegion?: string;
  /** Name of the event bus this construct creates. Default `identity-provisioner`. */
  readonly eventBusName?: string;
  /** Use this existing bus instead of creating one (refused together with eventBusName). */
  readonly existingEventBusName?: string;
  /** Event `source` values the rule accepts. Default `["identity-provisioner.hr", "identity-provisioner.manual"]`. */
  readonly acceptedSources?: readonly string[];
  /** `standard` (default) or `fifo`. */
  readonly queueKind?: QueueKind;
  /** Lambda event source MaximumConcurrency, 2..1000. Default 2. */
  readonly maxConcurrency?: number;
  /** Identity Store calls per second for the whole deployment. Default 20 (the published account quota). */
  readonly requestsPerSecond?: number;
  /** `created` (default), `prefix:<p>` or `list:<a>,<b>`. */
  readonly managedGroupScope?: string;
  /** A user.upserted removing more memberships than this is rejected. Default 10. */
  readonly maxMembershipRemovalsPerEvent?: number;
  /** At most this many user/group deletions per deletionWindowSeconds. Default 25. */
  readonly deletionCap?: number;
  /** Default 3600. */
  readonly deletionWindowSeconds?: number;
  /** Audit records expire after this many days; 0 (default) keeps them forever. */
  readonly auditRetentionDays?: number;
  /** Reuse of looked-up UserId/GroupId within a warm function. Default 60; 0 disables. */
  readonly idCacheTtlSeconds?: number;
  /**
   * A retryable failure with no wait owed by the service comes back after
   * base * 2^(receives-1) seconds (at most 15 minutes). Default 30.
   */
  readonly redeliveryBaseDelaySeconds?: number;
  /** The function stops retrying this long before its deadline. Default 5000. */
  readonly retrySafetyMarginMs?: number;
  /** Existing SNS topic for alarm actions (refused together with alarmEmail). */
  readonly alarmTopicArn?: string;
  /** E-mail subscribed to the topic this construct creates (refused together with alarmTopicArn). */
  readonly alarmEmail?: string;
  /** What happens to the key and tables when the stack is deleted. Default `retain`. */
  readonly removalPolicy?: RemovalPolicyName;
  /** SQS records per invocation, 1..10. Default 10. */
  readonly batchSize?: number;
  /** Function timeout, 1..900 s. Default 60. The queue's visibility timeout is 6x this. */
  readonly functionTimeoutSeconds?: number;
}

export const DEFAULT_EVENT_BUS_NAME = 'identity-provisioner';
/** Re-exported: the construct's default is the one the local pipeline's rule uses. */
export { DEFAULT_ACCEPTED_SOURCES };

/** Numbers from `-c` are strings: coerce, but refuse an empty string instead of reading it as 0. */
const wholeNumber = (rule: string) =>
  z.preprocess(
    (value) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value),
    z.number({ error: `must be a whole number ${rule}` }).int({ error: `must be a whole number ${rule}` }),
  );
const positiveNumber = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value),
  z.number({ error: 'must be a number > 0' }).positive({ error: 'must be a number > 0' }),
);
const inRange = (min: number, max: number) =>
  wholeNumber(`from ${min} to ${max}`).refine((n) => n >= min && n <= max, {
    error: `must be a whole number from ${min} to ${max}`,
  });
const atLeast = (min: number) =>
  wholeNumber(`>= ${min}`).refine((n) => n >= min, { error: `must be a whole number >= ${min}` });

/** `["a","b"]` or `a,b` from the command line; an array from cdk.json or props. */
const stringList = z.preprocess((value) => {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  if (trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed) as unknown;
    } catch {
      return value;
    }
  }
  return trimmed.split(',').map((item) => item.trim()).filter(Boolean);
}, z.array(z.string().min(1), { error: 'must be a list of strings (JSON array or comma-separated)' }));

const SNS_TOPIC_ARN_PATTERN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const EVENT_BUS_NAME_PATTERN = /^[A-Za-z0-9._-]{1,256}$/;
const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d$/;

const settingFields = {
  identityStoreId: z
    .string({ error: 'is required (pass -c identityStoreId=d-1234567890)' })
    .regex(IDENTITY_STORE_ID_PATTERN, { error: 'must be "d-" followed by 10 hex digits, or a UUID' }),
  identityStoreRegion: z.string().regex(REGION_PATTERN, { error: 'must be a region name such as eu-west-1' }).optional(),
  eventBusName: z.string().regex(EVENT_BUS_NAME_PATTERN, { error: 'must be 1-256 of A-Z a-z 0-9 . _ -' }).optional(),
  existingEventBusName: z
    .string()
    .regex(EVENT_BUS_NAME_PATTERN, { error: 'must be 1-256 of A-Z a-z 0-9 . _ -' })
    .optional(),
  acceptedSources: stringList
    .refine((sources) => sources.length > 0, { error: 'must name at least one source' })
    .refine((sources) => !sources.includes(OUTCOME_EVENT_SOURCE), {
      error:
        `must not include "${OUTCOME_EVENT_SOURCE}": that is the source of the outcome events this service ` +
        'publishes to the same bus, so accepting it would feed its own outcomes back in a loop',
    })
    .default([...DEFAULT_ACCEPTED_SOURCES]),
  queueKind: z.enum(['standard', 'fifo'], { error: 'must be "standard" or "fifo"' }).default('standard'),
  maxConcurrency: inRange(2, 1000).default(2),
  requestsPerSecond: positiveNumber.default(20),
  managedGroupScope: z
    .string()
    .refine((raw) => managedGroupScopeSchema.safeParse(raw).success, {
      error: 'must be "created", "prefix:<prefix>" or "list:<name>,<name>,..."',
    })
    .default('created'),
  maxMembershipRemovalsPerEvent: atLeast(0).default(10),
  deletionCap: atLeast(0).default(25),
  deletionWindowSeconds: atLeast(1).default(3600),
  auditRetentionDays: atLeast(0).default(0),
  idCacheTtlSeconds: atLeast(0).default(60),
  redeliveryBaseDelaySeconds: inRange(1, 900).default(30),
  retrySafetyMarginMs: atLeast(0).default(5000),
  alarmTopicArn: z.string().regex(SNS_TOPIC_ARN_PATTERN, { error: 'must be an SNS topic ARN' }).optional(),
  alarmEmail: z.email({ error: 'must be an e-mail address' }).optional(),
  removalPolicy: z.enum(['retain', 'destroy'], { error: 'must be "retain" or "destroy"' }).default('retain'),
  batchSize: inRange(1, 10).default(10),
  functionTimeoutSeconds: inRange(1, 900).default(60),
};

const settingsSchema = z
  .strictObject(settingFields)
  .superRefine((settings, ctx) => {
    if (settings.alarmTopicArn !== undefined && settings.alarmEmail !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['alarmEmail'],
        message: 'give alarmTopicArn or alarmEmail, not both (the e-mail is subscribed to the topic this app creates)',
      });
    }
    if (settings.eventBusName !== undefined && settings.existingEventBusName !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['existingEventBusName'],
        message: 'give eventBusName (a bus to create) or existingEventBusName (a bus to use), not both',
      });
    }
    if (settings.retrySafetyMarginMs >= settings.functionTimeoutSeconds * 1000) {
      ctx.addIssue({
        code: 'custom',
        path: ['retrySafetyMarginMs'],
        message: `must be shorter than the function timeout (${settings.functionTimeoutSeconds * 1000} ms)`,
      });
    }
  })
  // The bus to create gets its default name only when no existing bus is named, so a parsed
  // config parses again to itself (stacks re-validate what bin/ already validated).
  .transform((settings) =>
    settings.existingEventBusName === undefined
      ? { ...settings, eventBusName: settings.eventBusName ?? DEFAULT_EVENT_BUS_NAME }
      : settings,
  );

/** Validated settings with every default applied. */
export type ProvisionerConfig = z.output<typeof settingsSchema>;

/** The keys read from CDK context: exactly the settings. */
export const CONTEXT_KEYS = Object.keys(settingsSchema.in.shape) as (keyof ProvisionerSettings)[];

export class ProvisionerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProvisionerConfigError';
  }
}

/** Validate settings (typed props or raw context values); throws ProvisionerConfigError naming every bad key. */
export function parseProvisionerSettings(raw: unknown): ProvisionerConfig {
  return parseOrThrow(settingsSchema, raw);
}

/** The two settings the stateful half uses. */
const stateSettingsSchema = z.strictObject({
  removalPolicy: settingFields.removalPolicy,
  auditRetentionDays: settingFields.auditRetentionDays,
});
export type StateSettings = Pick<ProvisionerSettings, 'removalPolicy' | 'auditRetentionDays'>;
export type StateConfig = z.output<typeof stateSettingsSchema>;

export function parseStateSettings(raw: unknown): StateConfig {
  return parseOrThrow(stateSettingsSchema, raw);
}

function parseOrThrow<Schema extends z.ZodType>(schema: Schema, raw: unknown): z.output<Schema> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) =>
    issue.code === 'unrecognized_keys'
      ? `unknown setting(s): ${issue.keys.join(', ')}`
      : `${issue.path.join('.') || '(settings)'}: ${issue.message}`,
  );
  throw new ProvisionerConfigError(`Invalid identity-provisioner configuration:\n  - ${problems.join('\n  - ')}`);
}

/** Minimal view of a construct node, so this module needs no CDK import. */
interface ContextSource {
  tryGetContext(key: string): unknown;
}

/** Read every setting from CDK context (cdk.json or `-c key=value`) and validate it. */
export function configFromContext(node: ContextSource): ProvisionerConfig {
  const raw: Record<string, unknown> = {};
  for (const key of CONTEXT_KEYS) {
    const value = node.tryGetContext(key);
    if (value !== undefined) raw[key] = value;
  }
  return parseProvisionerSettings(raw);
}
