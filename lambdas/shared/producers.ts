/**
 * Producers: who may change identities, through which door, and what each may ask for.
 *
 * A producer is declared in the deployment settings (`producers` in cdk.json context or `-c`),
 * keyed by its name:
 *
 *   "producers": {
 *     "hr":     { "via": "bus",   "principals": ["arn:aws:iam::111122223333:role/hr-feed"],
 *                 "eventTypes": ["user.upserted", "user.deleted", "group.upserted"], "groups": ["Everyone", "dept-*"] },
 *     "portal": { "via": "queue", "principals": ["arn:aws:iam::444455556666:role/access-portal"],
 *                 "eventTypes": ["membership.added", "membership.removed"], "groups": ["app-*"] }
 *   }
 *
 * - `via: bus`: the producer puts events on the bus with its own `source` (default
 *   `identity-provisioner.<name>`); the bus policy lets only its principals use that source.
 * - `via: queue`: the producer sends bare v1 documents to a queue of its own; the queue policy
 *   lets only its principals send.
 *
 * The function learns the producer from what AWS vouches for (which queue a record came from; for
 * the bus queue, the `source` the bus policy tied to the principal), never from the event body.
 *
 * One module for the three users of the declaration: lib/ (policies, rule, queues), the function
 * (PRODUCERS env, checked at cold start) and local/ (the local SQS and EventBridge enforce the
 * same policies). No AWS SDK or CDK import here.
 */
import { z } from 'zod';
import { EVENT_TYPES, type EventType } from '../domain/identity-change';
import { nameKey } from '../domain/names';
import { OUTCOME_EVENT_SOURCE } from './telemetry';

export const PRODUCER_NAME_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;
/** Roles and users only: a declared principal names one identity, never a whole account. */
export const PRINCIPAL_ARN_PATTERN = /^arn:aws(-cn|-us-gov)?:iam::(\d{12}):(role|user)\/([\w+=,.@\/-]{1,512})$/;
/** EventBridge source: printable, no `aws.` (reserved by AWS services). */
const SOURCE_PATTERN = /^[A-Za-z0-9._\/-]{1,256}$/;
/** An exact group name, or a prefix followed by a single trailing `*`, or `*` alone. */
const GROUP_PATTERN_PATTERN = /^[^*]{0,1023}\*?$/;

export type ProducerVia = 'bus' | 'queue';

/** `producer` on the records of a message no declared producer could be verified for; no producer may be named so. */
export const UNVERIFIED_PRODUCER = 'unverified';

/** What a producer may ask for: event types, and the groups its events may touch. */
export interface ProducerGrant {
  /** Event types, or `*` for all six. */
  readonly eventTypes: readonly EventType[];
  /** Exact group names (case-insensitive), prefixes ending in `*`, or `*` for every managed group. */
  readonly groups: readonly string[];
}

/** A producer as the deployment declares it. */
export interface ProducerDeclaration extends ProducerGrant {
  readonly via: ProducerVia;
  /** IAM role or user ARNs allowed to send as this producer (other accounts allowed). */
  readonly principals: readonly string[];
  /** `via: bus` only: the EventBridge `source` this producer sends with. */
  readonly source?: string;
  /**
   * Built-in producers only (`drift-repair`): the account every principal lives in. Their principal
   * is a role of this very deployment, whose ARN is a token at synth, so the account cannot be read
   * from it. A declared producer never carries it: the settings schema refuses the key, and its
   * accounts are read from its principals' ARNs.
   */
  readonly account?: string;
}

export type ProducerDeclarations = Readonly<Record<string, ProducerDeclaration>>;

export function defaultSourceOf(name: string): string {
  return `identity-provisioner.${name}`;
}

/**
 * The built-in producer through which drift detection puts things back (`driftAction: repair`):
 * its repairs are ordinary v1 events and come in through the bus like any bus producer's, held to
 * its grant, recorded and audited the same way. Its one principal is the drift function's role.
 * It exists whenever the drift function is deployed; no declared producer may take its name or source.
 */
export const DRIFT_REPAIR_PRODUCER = 'drift-repair';
export const DRIFT_REPAIR_SOURCE = defaultSourceOf(DRIFT_REPAIR_PRODUCER);
/** What a repair can be: never a deletion (drift puts back what the service applied; it does not remove what others made). */
export const DRIFT_REPAIR_EVENT_TYPES: readonly EventType[] = ['user.upserted', 'membership.added', 'membership.removed', 'group.upserted'];

/** The drift-repair producer, sending as `driftRoleArn`, a role of `account` (both may be tokens at synth). */
export function driftRepairProducer(driftRoleArn: string, account: string): ProducerDeclaration & { source: string } {
  return {
    via: 'bus',
    principals: [driftRoleArn],
    source: DRIFT_REPAIR_SOURCE,
    account,
    eventTypes: [...DRIFT_REPAIR_EVENT_TYPES],
    groups: ['*'],
  };
}

/** The declared producers plus the built-in drift-repair producer (already validated: no name clash). */
export function withDriftRepairProducer(producers: ProducerDeclarations, driftRoleArn: string, account: string): ProducerDeclarations {
  if (DRIFT_REPAIR_PRODUCER in producers) throw new Error(`"${DRIFT_REPAIR_PRODUCER}" is a built-in producer and cannot be declared`);
  return { ...producers, [DRIFT_REPAIR_PRODUCER]: driftRepairProducer(driftRoleArn, account) };
}

/** Names no declared producer may take, with why. */
export const RESERVED_PRODUCER_NAMES: Readonly<Record<string, string>> = {
  [UNVERIFIED_PRODUCER]: 'the audit trail records it for senders no producer could be verified for',
  [DRIFT_REPAIR_PRODUCER]: 'it is the built-in producer of drift repairs (driftAction "repair"), sending as the drift function\'s role',
};

const eventTypesSchema = z
  .union([z.literal('*'), z.array(z.enum(EVENT_TYPES, { error: `must be one of ${EVENT_TYPES.join(', ')}` })).min(1)], {
    error: `must be "*" or a non-empty list of ${EVENT_TYPES.join(', ')}`,
  })
  .transform((types): EventType[] => (types === '*' ? [...EVENT_TYPES] : [...new Set(types)]));

const groupPatternSchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .refine((pattern) => pattern.trim() === pattern && pattern.trim() !== '', {
    error: 'must not start or end with white space',
  })
  .refine((pattern) => GROUP_PATTERN_PATTERN.test(pattern), {
    error: 'must be a group name, a prefix ending in a single "*", or "*"',
  });

const producerSchema = z
  .strictObject({
    via: z.enum(['bus', 'queue'], { error: 'must be "bus" or "queue"' }),
    principals: z
      .array(
        z.string().regex(PRINCIPAL_ARN_PATTERN, {
          error: 'must be an IAM role or user ARN (arn:aws:iam::<account>:role/<name>); a whole account is not accepted',
        }),
      )
      .min(1, { error: 'must name at least one IAM role or user ARN' }),
    source: z
      .string()
      .regex(SOURCE_PATTERN, { error: 'must be 1-256 of A-Z a-z 0-9 . _ / -' })
      .refine((source) => !source.startsWith('aws.'), { error: 'must not start with "aws." (reserved for AWS services)' })
      .refine((source) => source !== OUTCOME_EVENT_SOURCE, {
        error: `must not be "${OUTCOME_EVENT_SOURCE}": that is the source of this service's own outcome events`,
      })
      .refine((source) => source !== DRIFT_REPAIR_SOURCE, {
        error: `must not be "${DRIFT_REPAIR_SOURCE}": that is the source of the built-in drift-repair producer`,
      })
      .optional(),
    eventTypes: eventTypesSchema,
    groups: z.array(groupPatternSchema, { error: 'must be a list of group names or prefixes ("app-*")' }),
  })
  .superRefine((producer, ctx) => {
    if (producer.via === 'queue' && producer.source !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['source'], message: 'is for via "bus" only: a queue producer is known by its queue' });
    }
  });

/** `producers`: an object keyed by producer name; a JSON string from `-c producers='{...}'`. */
export const producerDeclarationsSchema = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  },
  z
    .record(
      z.string().regex(PRODUCER_NAME_PATTERN, { error: 'a producer name must be 1-40 of a-z 0-9 -, starting with a letter' }),
      producerSchema,
      { error: 'must be an object keyed by producer name (JSON)' },
    )
    .transform((producers): Record<string, ProducerDeclaration> => {
      const withSources: Record<string, ProducerDeclaration> = {};
      for (const [name, producer] of Object.entries(producers)) {
        withSources[name] = producer.via === 'bus' ? { ...producer, source: producer.source ?? defaultSourceOf(name) } : producer;
      }
      return withSources;
    })
    .superRefine((producers, ctx) => {
      // One bus producer per principal: a PutEvents call is authorised on the set of its entries'
      // sources and detail-types, so a principal of two producers could pair one producer's source
      // with the other's event types.
      const busProducerOf = new Map<string, string>();
      for (const [name, producer] of Object.entries(producers)) {
        if (producer.via !== 'bus') continue;
        for (const principal of producer.principals) {
          const other = busProducerOf.get(principal);
          if (other !== undefined && other !== name) {
            ctx.addIssue({
              code: 'custom',
              path: [name, 'principals'],
              message: `${principal} already sends as bus producer "${other}": a principal may send through the bus as one producer only`,
            });
          }
          busProducerOf.set(principal, name);
        }
      }
      const bySource = new Map<string, string>();
      for (const [name, producer] of Object.entries(producers)) {
        if (producer.source === undefined) continue;
        const other = bySource.get(producer.source);
        if (other !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [name, 'source'],
            message: `"${producer.source}" is already the source of producer "${other}": each producer needs its own`,
          });
        }
        bySource.set(producer.source, name);
      }
    })
    .superRefine((producers, ctx) => {
      // `unverified` is on the records of senders no producer could be verified for; `drift-repair`
      // is built in: no declared producer may take either name.
      for (const [name, why] of Object.entries(RESERVED_PRODUCER_NAMES)) {
        if (name in producers) ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is reserved: ${why}` });
      }
    }),
);

/** Bus producers, in name order (deterministic templates). */
export function busProducers(producers: ProducerDeclarations): [string, ProducerDeclaration & { source: string }][] {
  return Object.entries(producers)
    .filter((entry): entry is [string, ProducerDeclaration & { source: string }] => entry[1].via === 'bus')
    .sort(([a], [b]) => a.localeCompare(b));
}

/** Queue producers, in name order. */
export function queueProducers(producers: ProducerDeclarations): [string, ProducerDeclaration][] {
  return Object.entries(producers)
    .filter(([, producer]) => producer.via === 'queue')
    .sort(([a], [b]) => a.localeCompare(b));
}

/** The accounts a producer's principals live in, sorted (a built-in producer states its one account). */
export function accountsOfProducer(producer: ProducerDeclaration): string[] {
  if (producer.account !== undefined) return [producer.account];
  return [...new Set(producer.principals.map(accountOfPrincipal))].sort();
}

/** The 12-digit account of a principal ARN. */
export function accountOfPrincipal(principalArn: string): string {
  const match = PRINCIPAL_ARN_PATTERN.exec(principalArn);
  if (!match) throw new Error(`not a principal ARN: ${principalArn}`);
  return match[2];
}

// ---------------------------------------------------------------------------------------------
// The runtime view: what the function needs to tell producers apart and hold them to their grant.
// ---------------------------------------------------------------------------------------------

/** One producer as the function sees it (PRODUCERS env var, JSON array). */
export interface RuntimeProducer extends ProducerGrant {
  readonly name: string;
  readonly via: ProducerVia;
  /** via bus: the `source` the bus policy ties to this producer's principals. */
  readonly source?: string;
  /** via bus: the accounts its principals live in (an envelope's `account` must be one). */
  readonly accounts?: readonly string[];
  /** via queue: the ARN of its own queue (a record's eventSourceARN). */
  readonly queueArn?: string;
}

export const runtimeProducersSchema = z.array(
  z.strictObject({
    name: z.string().regex(PRODUCER_NAME_PATTERN),
    via: z.enum(['bus', 'queue']),
    source: z.string().min(1).optional(),
    accounts: z.array(z.string().regex(/^\d{12}$/)).optional(),
    queueArn: z.string().startsWith('arn:').optional(),
    eventTypes: z.array(z.enum(EVENT_TYPES)),
    groups: z.array(z.string().min(1)),
  }),
);

/** The PRODUCERS value for the function: the declarations plus the queue ARNs the stack created. */
export function runtimeProducersOf(producers: ProducerDeclarations, queueArns: Readonly<Record<string, string>>): RuntimeProducer[] {
  return Object.entries(producers)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, producer]) =>
      producer.via === 'bus'
        ? {
            name,
            via: 'bus' as const,
            source: producer.source ?? defaultSourceOf(name),
            accounts: accountsOfProducer(producer),
            eventTypes: [...producer.eventTypes],
            groups: [...producer.groups],
          }
        : {
            name,
            via: 'queue' as const,
            queueArn: requireQueueArn(queueArns, name),
            eventTypes: [...producer.eventTypes],
            groups: [...producer.groups],
          },
    );
}

function requireQueueArn(queueArns: Readonly<Record<string, string>>, name: string): string {
  const arn = queueArns[name];
  if (arn === undefined) throw new Error(`no queue was created for queue producer "${name}"`);
  return arn;
}

/** Whether a group name falls under one of a grant's patterns (case-insensitive, as IAM Identity Center compares names). */
export function groupInGrant(displayName: string, patterns: readonly string[]): boolean {
  const name = nameKey(displayName);
  return patterns.some((pattern) => {
    const folded = nameKey(pattern);
    return folded.endsWith('*') ? name.startsWith(folded.slice(0, -1)) : name === folded;
  });
}
