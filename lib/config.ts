/**
 * Deployment settings of the identity provisioner: read from CDK context (`-c key=value`,
 * cdk.json) or passed as construct props, and validated at synth with zod. A bad value fails
 * the synth with a message naming the key and the rule, before anything is deployed.
 *
 * Context values from `-c` arrive as strings: numbers are coerced, lists are JSON arrays or
 * comma-separated, `producers` is a JSON object.
 *
 * Every context key that is not CDK's own must be a setting: a typo (`-c maxConcurency=4`) stops
 * the synth with "did you mean maxConcurrency" instead of being ignored.
 */
import { z } from 'zod';
import { IDENTITY_STORE_ID_PATTERN } from '../lambdas/domain/identity-change';
import { managedGroupScopeSchema } from '../lambdas/shared/config';
import type { EventType } from '../lambdas/domain/identity-change';
import { PRINCIPAL_ARN_PATTERN, producerDeclarationsSchema, type ProducerDeclaration } from '../lambdas/shared/producers';

export type QueueKind = 'standard' | 'fifo';
export type DriftAction = 'report' | 'repair';
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
  /**
   * Who may change identities, keyed by producer name (lambdas/shared/producers.ts): through which
   * door (`bus` or `queue`), as which IAM principals, and for which event types and groups.
   * Default none: then nothing outside the stack can send events, and synth warns.
   */
  readonly producers?: ProducerSettings;
  /**
   * IAM role or user ARNs allowed to redrive the dead-letter queues into the source queues (a
   * message move task sends as its caller, so the queue policies must let them). Default none.
   */
  readonly operators?: readonly string[];
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
  /**
   * Every audit digest (lib/audit-digests.ts) is locked this many days (S3 Object Lock, COMPLIANCE
   * mode: nobody can delete or shorten it, not even the root user), 1..36500. At least
   * auditRetentionDays when that is set, so a digest outlives the records it lists. Default 3650.
   */
  readonly auditDigestRetentionDays?: number;
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
  /**
   * How far ahead of the function's clock an event's occurredAt may be, 0..3600 s. Default 300.
   * Later events are rejected: their watermark would freeze the person.
   */
  readonly maxClockSkewSeconds?: number;
  /** Events dated before this instant (ISO-8601 with a zone) are rejected. Default 2000-01-01T00:00:00Z. */
  readonly occurredAtFloor?: string;
  /**
   * When drift detection runs: an EventBridge Scheduler `rate(...)` (at least every
   * DRIFT_MIN_RATE_MINUTES) or `cron(...)` expression (UTC), or `off` to deploy no drift function.
   * Default `rate(1 day)`.
   */
  readonly driftSchedule?: string;
  /** `report` (default): record, count and announce drift; `repair`: also put it back, through ordinary events. */
  readonly driftAction?: DriftAction;
}

/** A producer as written in the settings: `eventTypes` may be `"*"` for all six. */
export type ProducerSetting = Omit<ProducerDeclaration, 'eventTypes'> & { readonly eventTypes: readonly EventType[] | '*' };
export type ProducerSettings = Readonly<Record<string, ProducerSetting>>;

export const DEFAULT_EVENT_BUS_NAME = 'identity-provisioner';
export const DEFAULT_DRIFT_SCHEDULE = 'rate(1 day)';
/** `driftSchedule` value that deploys no drift function (no schedule, no drift-repair producer). */
export const DRIFT_OFF = 'off';
/**
 * The shortest drift rate: the drift function's timeout (15 minutes), so that one run has ended
 * before the next is due (runs never overlap: the function's reserved concurrency is 1).
 */
export const DRIFT_MIN_RATE_MINUTES = 15;

/** Settings that existed once, with what replaced them: passing one is refused with this hint. */
export const REMOVED_SETTINGS: Readonly<Record<string, string>> = {
  acceptedSources: 'replaced by producers (declare each producer with its source; see docs/deploy.md)',
};

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

/** S3 Object Lock's longest retention: 100 years. */
export const MAX_DIGEST_RETENTION_DAYS = 36_500;
export const DEFAULT_DIGEST_RETENTION_DAYS = 3_650;

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
  producers: producerDeclarationsSchema.default({}),
  operators: stringList
    .pipe(
      z.array(
        z.string().regex(PRINCIPAL_ARN_PATTERN, {
          error: 'must be IAM role or user ARNs (arn:aws:iam::<account>:role/<name>); a whole account is not accepted',
        }),
      ),
    )
    .default([]),
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
  auditDigestRetentionDays: inRange(1, MAX_DIGEST_RETENTION_DAYS).default(DEFAULT_DIGEST_RETENTION_DAYS),
  idCacheTtlSeconds: atLeast(0).default(60),
  redeliveryBaseDelaySeconds: inRange(1, 900).default(30),
  retrySafetyMarginMs: atLeast(0).default(5000),
  alarmTopicArn: z.string().regex(SNS_TOPIC_ARN_PATTERN, { error: 'must be an SNS topic ARN' }).optional(),
  alarmEmail: z.email({ error: 'must be an e-mail address' }).optional(),
  removalPolicy: z.enum(['retain', 'destroy'], { error: 'must be "retain" or "destroy"' }).default('retain'),
  batchSize: inRange(1, 10).default(10),
  functionTimeoutSeconds: inRange(1, 900).default(60),
  maxClockSkewSeconds: inRange(0, 3600).default(300),
  occurredAtFloor: z.iso
    .datetime({ offset: true, error: 'must be an ISO-8601 date-time with a time zone, e.g. 2000-01-01T00:00:00Z' })
    .default('2000-01-01T00:00:00Z'),
  driftSchedule: z
    .string({ error: 'must be a string: "rate(1 day)", "cron(0 3 * * ? *)" or "off"' })
    .superRefine((expression, ctx) => {
      const problem = driftScheduleProblem(expression);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default(DEFAULT_DRIFT_SCHEDULE),
  driftAction: z.enum(['report', 'repair'], { error: 'must be "report" or "repair" (lower case)' }).default('report'),
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
    if (settings.driftSchedule === DRIFT_OFF && settings.driftAction === 'repair') {
      ctx.addIssue({
        code: 'custom',
        path: ['driftAction'],
        message: `"repair" needs drift detection, but driftSchedule is "${DRIFT_OFF}": give a schedule or leave driftAction at "report"`,
      });
    }
    addDigestRetentionIssue(settings, ctx);
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

// ---------------------------------------------------------------------------------------------
// driftSchedule: EventBridge Scheduler's recurring expressions, checked here so a bad one fails the
// synth (Scheduler would only refuse it at deploy). One-time `at(...)` schedules are refused: drift
// detection is a recurring check.
// ---------------------------------------------------------------------------------------------

const RATE_PATTERN = /^rate\(([1-9][0-9]{0,5}) (minute|minutes|hour|hours|day|days)\)$/;
const CRON_PATTERN = /^cron\(([^()]*)\)$/;
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** One cron field: its name, numeric range, the names it accepts for numbers, and its special forms. */
interface CronField {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Field-specific forms accepted whole (L, W, #, ?). */
  special?: RegExp;
}
const CRON_FIELDS: readonly CronField[] = [
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31, special: /^(\?|L|LW|L-([1-9]|[12][0-9]|30)|([1-9]|[12][0-9]|3[01])W)$/ },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 1, max: 7, names: DAYS, special: /^(\?|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)L|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)#[1-5])$/ },
  { name: 'year', min: 1970, max: 2199 },
];

/** Why `expression` is not a driftSchedule, or undefined when it is one. */
export function driftScheduleProblem(expression: string): string | undefined {
  const accepted = `must be "${DRIFT_OFF}", "rate(<n> minutes|hours|days)" or "cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)", as EventBridge Scheduler writes them`;
  if (expression === DRIFT_OFF) return undefined;
  if (expression.trim() !== expression) return `must not start or end with white space (${accepted})`;
  if (expression.startsWith('rate(')) {
    const match = RATE_PATTERN.exec(expression);
    if (!match) return `${accepted}: a rate is a whole number > 0 and one of minute(s), hour(s), day(s), separated by one space`;
    const value = Number(match[1]);
    const unit = match[2];
    if ((value === 1) !== !unit.endsWith('s')) return `"${expression}": use "${unit.replace(/s$/, '')}" with 1 and "${unit.replace(/s?$/, 's')}" with more`;
    const minutes = value * (unit.startsWith('minute') ? 1 : unit.startsWith('hour') ? 60 : 1440);
    if (minutes < DRIFT_MIN_RATE_MINUTES) {
      return `"${expression}" is more often than every ${DRIFT_MIN_RATE_MINUTES} minutes, the drift function's timeout: a run must end before the next is due`;
    }
    return undefined;
  }
  if (expression.startsWith('cron(')) {
    const match = CRON_PATTERN.exec(expression);
    if (!match) return accepted;
    const fields = match[1].split(' ');
    if (fields.length !== CRON_FIELDS.length || fields.some((field) => field === '')) {
      return `"${expression}": a cron expression has 6 fields separated by single spaces (minutes hours day-of-month month day-of-week year)`;
    }
    for (const [index, field] of CRON_FIELDS.entries()) {
      if (!cronFieldIsValid(fields[index], field)) return `"${expression}": ${field.name} "${fields[index]}" is not a valid cron field`;
    }
    const [, , dayOfMonth, , dayOfWeek] = fields;
    if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
      return `"${expression}": exactly one of day-of-month and day-of-week must be "?" (EventBridge Scheduler does not take both)`;
    }
    return undefined;
  }
  if (expression.startsWith('at(')) return `"${expression}": a one-time schedule is not accepted; drift detection recurs (${accepted})`;
  return accepted;
}

function cronFieldIsValid(value: string, field: CronField): boolean {
  if (field.special?.test(value)) return true;
  return value.split(',').every((part) => {
    const [range, step, ...rest] = part.split('/');
    if (rest.length > 0) return false;
    if (step !== undefined && !/^[1-9][0-9]{0,3}$/.test(step)) return false;
    if (range === '*') return true;
    const bounds = range.split('-');
    if (bounds.length > 2) return false;
    const numbers = bounds.map((bound) => cronNumber(bound, field));
    if (numbers.some((n) => n === undefined)) return false;
    return numbers.length === 1 || (numbers[0] as number) <= (numbers[1] as number);
  });
}

function cronNumber(value: string, field: CronField): number | undefined {
  const named = field.names?.indexOf(value) ?? -1;
  if (named >= 0) return named + field.min;
  if (!/^[0-9]{1,4}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= field.min && n <= field.max ? n : undefined;
}

/** Whether the settings deploy the drift function (and with it the drift-repair producer). */
export function driftEnabled(config: Pick<ProvisionerConfig, 'driftSchedule'>): boolean {
  return config.driftSchedule !== DRIFT_OFF;
}

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

/** The settings the stateful half uses. */
const stateSettingsSchema = z
  .strictObject({
    removalPolicy: settingFields.removalPolicy,
    auditRetentionDays: settingFields.auditRetentionDays,
    auditDigestRetentionDays: settingFields.auditDigestRetentionDays,
  })
  .superRefine(addDigestRetentionIssue);
export type StateSettings = Pick<ProvisionerSettings, 'removalPolicy' | 'auditRetentionDays' | 'auditDigestRetentionDays'>;

/** A digest locked for less time than the records it lists are kept could go before them. */
function addDigestRetentionIssue(
  settings: { auditRetentionDays: number; auditDigestRetentionDays: number },
  ctx: z.RefinementCtx,
): void {
  if (settings.auditRetentionDays > 0 && settings.auditDigestRetentionDays < settings.auditRetentionDays) {
    ctx.addIssue({
      code: 'custom',
      path: ['auditDigestRetentionDays'],
      message:
        `must be at least auditRetentionDays (${settings.auditRetentionDays}): a digest must be kept as long as the ` +
        'records it lists, or their removal could no longer be told from expiry',
    });
  }
}
export type StateConfig = z.output<typeof stateSettingsSchema>;

export function parseStateSettings(raw: unknown): StateConfig {
  return parseOrThrow(stateSettingsSchema, raw);
}

function parseOrThrow<Schema extends z.ZodType>(schema: Schema, raw: unknown): z.output<Schema> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.flatMap((issue): string[] => {
    const path = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') {
      return path === '' ? issue.keys.map(unknownSettingProblem) : issue.keys.map((key) => unknownFieldProblem(path, key));
    }
    // A bad record key (a producer name): the key's own rule, not the record's.
    if (issue.code === 'invalid_key') return [`${path}: ${issue.issues.map((inner) => inner.message).join('; ')}`];
    return [`${path || '(settings)'}: ${issue.message}`];
  });
  throw new ProvisionerConfigError(configErrorMessage(problems));
}

/** The fields of one producer declaration, for "did you mean" inside `producers`. */
const PRODUCER_FIELDS = ['via', 'principals', 'source', 'eventTypes', 'groups'];

function unknownFieldProblem(path: string, key: string): string {
  const closest = path.startsWith('producers.') ? closestOf(key, PRODUCER_FIELDS) : undefined;
  return `${path}.${key}: unknown key${closest === undefined ? '' : `, did you mean ${closest}?`}`;
}

/** The message every configuration error carries: one line per problem, each naming its key. */
export function configErrorMessage(problems: readonly string[]): string {
  return `Invalid identity-provisioner configuration:\n  - ${problems.join('\n  - ')}`;
}

/** A removed setting says what replaced it; any other unknown key, which setting it is closest to. */
function unknownSettingProblem(key: string): string {
  const removed = REMOVED_SETTINGS[key];
  if (removed !== undefined) return `${key}: ${removed}`;
  const closest = closestSetting(key);
  return closest === undefined
    ? `${key}: unknown setting (the settings are listed in docs/deploy.md)`
    : `${key}: unknown setting, did you mean ${closest}?`;
}

/** The setting nearest to a misspelt key (case-insensitive edit distance), if one is near enough. */
export function closestSetting(key: string): string | undefined {
  return closestOf(key, CONTEXT_KEYS);
}

function closestOf(key: string, names: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  // Near enough: a few slips, never more than a third of the key (so "foo" suggests nothing).
  const allowed = Math.min(3, Math.max(1, Math.floor(key.length / 3)));
  return best !== undefined && best.distance <= allowed ? best.name : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
    }
  }
  return rows[a.length][b.length];
}

/** Minimal view of a construct node, so this module needs no CDK import. */
interface ContextSource {
  getAllContext(): Record<string, unknown>;
}

/**
 * Context keys that belong to CDK itself, not to this app: feature flags (`@aws-cdk/...`), what
 * the CLI passes (`aws:cdk:bundling-stacks`, `aws:cdk:enable-path-metadata`, ...), cached lookups
 * from cdk.context.json (`availability-zones:account=...`), and the CLI's own cdk.json keys.
 */
export function isCdkContextKey(key: string): boolean {
  return (
    key.startsWith('@') ||
    key.startsWith('aws:') ||
    key.startsWith('aws-cdk:') ||
    key.includes(':') ||
    CDK_CLI_CONTEXT_KEYS.includes(key)
  );
}
/** Plain keys the CDK CLI itself reads from cdk.json context. */
export const CDK_CLI_CONTEXT_KEYS: readonly string[] = ['cli-telemetry', 'acknowledged-issue-numbers'];

/**
 * Read the settings from CDK context (cdk.json or `-c key=value`) and validate them. Every key
 * that is not CDK's own is taken as a setting, so an unknown one is refused, not ignored.
 */
export function configFromContext(node: ContextSource): ProvisionerConfig {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node.getAllContext())) {
    if (!isCdkContextKey(key) && value !== undefined) raw[key] = value;
  }
  return parseProvisionerSettings(raw);
}

/** `arn:aws:sns:eu-west-1:...` -> { partition: 'aws', region: 'eu-west-1' } (the pattern was checked at parse). */
export function topicPlacement(topicArn: string): { partition: string; region: string } {
  const [, partition, , region] = topicArn.split(':');
  return { partition, region };
}

/** The partition a Region belongs to, from its name. */
export function partitionOfRegion(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  return 'aws';
}

/**
 * Alarm actions must name a topic in the alarm's own Region (and so partition): a topic elsewhere
 * passes synth and fails the deploy. Returns the problem, or undefined when the topic fits.
 * `region` is the stack's Region, or identityStoreRegion when the stack has none at synth.
 */
export function alarmTopicProblem(topicArn: string, region: string, regionIs: string): string | undefined {
  const topic = topicPlacement(topicArn);
  const partition = partitionOfRegion(region);
  if (topic.partition !== partition) {
    return `alarmTopicArn: the topic is in partition ${topic.partition}, the alarms in ${partition} (${regionIs} ${region}): alarm actions must name a topic in the alarms' own Region`;
  }
  if (topic.region !== region) {
    return `alarmTopicArn: the topic is in ${topic.region}, the alarms in ${region} (${regionIs}): alarm actions must name a topic in the alarms' own Region`;
  }
  return undefined;
}
