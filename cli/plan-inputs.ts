/**
 * Events-file entries as the function would receive them, for a plan: each entry is routed to its
 * producer as npm start routes it (the line's own producer, else --producer, else an EventBridge
 * entry's bus producer by its source, else the default producer), then given the body its door
 * delivers: on a producer queue the bare v1 document (origin: that producer's queue ARN, from the
 * runtime PRODUCERS); through the bus the EventBridge envelope the rule delivers, with the
 * source and the sender's account (origin: the bus queue). The body is then read by readDelivery,
 * the function's own parse.
 *
 * What the doors keep out never reaches the function, so it is not planned but reported: a line
 * no producer is declared for, a principal the door's policy does not let in (when the target knows
 * the principals: local settings), a source or detail-type the bus policy ties to another producer
 * or keeps from this one, an event the rule does not match.
 *
 * The same event id twice at the same door (the function's idempotency key, idempotencyInputOf):
 * identical content is a duplicate, answered by the idempotency layer and not planned again; other
 * content is refused as ID_REUSED, as the function refuses it. The deployment's idempotency table
 * is asked too (Powertools' DynamoDBPersistenceLayer.getRecord, keyed as the function keys it):
 * an event it already completed is reported as a duplicate.
 *
 * runPlan runs the record path over what-if ports (lambdas/domain/plan.ts) and reports each entry.
 */
import { IdempotencyConfig, IdempotencyItemNotFoundError, IdempotencyRecordStatus, IdempotencyValidationError } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { consumerSettingsOf, IDEMPOTENCY_PATHS, IDEMPOTENCY_TTL_SECONDS, idempotencyInputOf, refusedReading, reusedIdMessage } from '../lambdas/handlers/consume-record';
import { factsOfReading, readDelivery, type Reading } from '../lambdas/domain/parse-event';
import { planDeliveries, type PlanEntry, type PlanInput } from '../lambdas/domain/plan';
import type { RecordOrigin } from '../lambdas/domain/producer';
import type { WriteRecord } from '../lambdas/domain/ports';
import { leaseKeysOf } from '../lambdas/domain/ordering';
import { whatIf } from '../lambdas/domain/what-if';
import type { RuntimeConfig } from '../lambdas/shared/config';
import { ingestionEventPattern } from '../lambdas/shared/ingestion';
import { DRIFT_REPAIR_PRODUCER, type RuntimeProducer } from '../lambdas/shared/producers';
import { matchesEventPattern } from '../local/eventbridge';
import { localUniqueIdFor } from '../local/iam';
import { fallbackProducer } from '../local/pipeline/defaults';
import { forQueue, isEventBridgeEntry, routeEntries, type DeclaredDoors, type ProducerEntry } from '../local/producer';
import type { LiveTarget } from './live-target';

/** An entry's planned fate: the record path's outcome, or what kept it from the function. */
export type PlanOutcome =
  | PlanEntry['outcome']
  /** The same event, already answered: by an earlier entry of the input, or by the idempotency table. */
  | 'DUPLICATE'
  /** Kept out at the door: not routable, not let in by the queue or bus policy, not sendable. */
  | 'REFUSED'
  /** Accepted by the bus, but no rule matches it: it never reaches the queue. */
  | 'NOT_MATCHED';

export interface PlanReportEntry {
  /** 1-based position in the input. */
  position: number;
  eventId?: string;
  type?: string;
  /** Who it is sent as. */
  producer?: string;
  outcome: PlanOutcome;
  errorCode?: string;
  reason?: string;
  /**
   * Set when an earlier entry about the same person or group comes through another door: the apply
   * runs the doors' queues side by side, so it may take the two in the other order than the plan.
   */
  orderNote?: string;
  /** Deliveries the apply would take (0 when it never reaches the function). */
  deliveries: number;
  /** The writes the apply would make, in order, each with its attribute changes before and after. */
  writes: WriteRecord[];
}

export interface PlanReport {
  /** Where the plan read. */
  target: string;
  entries: PlanReportEntry[];
  /** Entries by outcome (every outcome listed, zeros included). */
  totals: Record<PlanOutcome, number>;
  /** Planned writes by action. */
  writesByAction: Record<string, number>;
  writeCount: number;
  /** Identity Store calls the plan made (reads), and how long it took. */
  identityStoreCalls: number;
  elapsedMs: number;
}

export const PLAN_OUTCOMES: readonly PlanOutcome[] = ['APPLIED', 'NOOP', 'SUPERSEDED', 'REJECTED', 'FAILED', 'RETRYING', 'HELD', 'DUPLICATE', 'REFUSED', 'NOT_MATCHED'];

/** Outcomes after which the function keeps no idempotency record (the record was not acknowledged as done). */
const FORGOTTEN: readonly PlanEntry['outcome'][] = ['REJECTED', 'FAILED', 'HELD'];

export interface PlanInputs {
  /** What reaches the function, in input order. */
  inputs: PlanInput[];
  /** What does not (or is answered without the record path), by input index. */
  settled: Map<number, Omit<PlanReportEntry, 'position' | 'writes'>>;
  /** Producer each entry is sent as, by input index. */
  producerOf: Map<number, string>;
  /** Entries the apply may take in another order than the plan (see PlanReportEntry.orderNote), by input index. */
  orderNotes: Map<number, string>;
  /** An entry answered as a duplicate of an earlier one of the input, or refused as ID_REUSED because of one: the earlier one's index, by index. */
  answeredBy: Map<number, number>;
}

/** The declared doors as routing needs them: principals from the local settings, else from the producers' accounts. */
function doorsOf(target: LiveTarget): DeclaredDoors {
  const doors: Record<string, { via: 'bus' | 'queue'; source?: string; principals: readonly string[] }> = {};
  for (const producer of target.config.PRODUCERS) {
    const principals = target.producerPrincipals?.[producer.name] ?? (producer.accounts ?? ['000000000000']).map((account) => `arn:aws:iam::${account}:role/${producer.name}`);
    doors[producer.name] = { via: producer.via, ...(producer.source !== undefined && { source: producer.source }), principals };
  }
  return doors;
}

/** npm start's rule for lines that name no producer, over the declared producers (never a built-in one). */
function fallbackOf(config: RuntimeConfig): string | undefined {
  return fallbackProducer(config.PRODUCERS.map((producer) => producer.name).filter((name) => name !== DRIFT_REPAIR_PRODUCER));
}

const accountOf = (principal: string) => principal.split(':')[4] ?? '';

/**
 * Turns entries into the messages the function would receive, as it would receive them.
 * `notRemembered`: entries the function would not remember after processing them (rejected, failed
 * or held: the idempotency record is dropped when the record is not acknowledged as done), so the
 * same id later is read again rather than answered as a duplicate or refused as ID_REUSED.
 */
export async function buildPlanInputs(
  target: LiveTarget,
  entries: ProducerEntry[],
  options: { producer?: string } = {},
  notRemembered: ReadonlySet<number> = new Set(),
): Promise<PlanInputs> {
  const { config } = target;
  const doors = doorsOf(target);
  if (options.producer !== undefined && doors[options.producer] === undefined) {
    throw new PlanInputError(`--producer: "${options.producer}" is not a declared producer (declared: ${Object.keys(doors).sort().join(', ') || 'none'})`);
  }
  const settled: PlanInputs['settled'] = new Map();
  const producerOf: PlanInputs['producerOf'] = new Map();
  const inputs: PlanInput[] = [];
  const { routed, unroutable } = routeEntries(entries, doors, { producer: options.producer, fallback: fallbackOf(config) });
  for (const { index, reason } of unroutable) settled.set(index, { outcome: 'REFUSED', errorCode: 'NOT_SENT', reason: `not sent: ${reason}`, deliveries: 0, ...factsOfEntry(entries[index]) });

  const busSources = config.PRODUCERS.flatMap((producer) => (producer.via === 'bus' && producer.source !== undefined ? [producer.source] : []));
  const rulePattern = busSources.length > 0 ? ingestionEventPattern(busSources) : undefined;
  // What the idempotency layer remembers by key: the entry, its content, and whether the table already did.
  const seen = new Map<string, { index: number; contentHash: string; inTable: boolean }>();
  const answeredBy = new Map<number, number>();
  const idempotency = idempotencyStore(target);
  const now = new Date();

  for (const { index, producer: producerName, principal, entry } of routed) {
    producerOf.set(index, producerName);
    const producer = config.PRODUCERS.find((candidate) => candidate.name === producerName)!;
    const facts = factsOfEntry(entry);
    const door = doors[producerName]!;
    const known = target.producerPrincipals !== undefined;
    if (known && !door.principals.includes(principal)) {
      const where = producer.via === 'queue' ? `producer "${producerName}"'s queue policy` : 'the bus policy';
      settled.set(index, { ...facts, producer: producerName, outcome: 'REFUSED', errorCode: 'AccessDenied', reason: `refused at the door: ${where} does not let ${principal} send as "${producerName}"`, deliveries: 0 });
      continue;
    }
    if (!known && !(producer.accounts ?? [accountOf(principal)]).includes(accountOf(principal))) {
      settled.set(index, { ...facts, producer: producerName, outcome: 'REFUSED', errorCode: 'AccessDenied', reason: `refused at the door: ${principal} is not in an account of producer "${producerName}"`, deliveries: 0 });
      continue;
    }
    const delivered = producer.via === 'queue' ? queueDelivery(producer, principal, entry) : busDelivery(producer, principal, entry, { target, rulePattern, now, index });
    if ('outcome' in delivered) {
      settled.set(index, { ...facts, producer: producerName, ...delivered, deliveries: 0 });
      continue;
    }
    let reading = readDelivery(delivered.body, delivered.origin, config.PRODUCERS);
    const messageId = `plan-${index + 1}`;
    const record = { messageId, body: delivered.body, eventSourceARN: delivered.origin.queueArn, attributes: { SenderId: delivered.origin.senderId, ApproximateReceiveCount: '1' } } as unknown as SQSRecord;
    const { idempotencyKey, contentHash } = idempotencyInputOf(record, reading);
    const first = seen.get(idempotencyKey);
    if (first !== undefined) answeredBy.set(index, first.index);
    if (first !== undefined && first.contentHash === contentHash) {
      settled.set(index, { ...factsOfReadingSafe(reading), producer: producerName, outcome: 'DUPLICATE', reason: `the same event as entry ${first.index + 1}: answered by the idempotency layer, not applied again`, deliveries: 1 });
      continue;
    }
    if (first !== undefined) {
      // The function's own words when the table already held it; else which entry of the input used the id.
      reading = refusedReading(reading, { code: 'ID_REUSED', message: reusedMessage(reading, first.inTable ? undefined : first.index), owedWaitMs: 0 }, true);
    } else if (reading.kind === 'change') {
      const stored = await idempotency.lookup(idempotencyKey, contentHash);
      if (!notRemembered.has(index)) seen.set(idempotencyKey, { index, contentHash, inTable: stored.kind === 'completed' || stored.kind === 'inProgress' });
      if (stored.kind === 'completed' || stored.kind === 'inProgress') {
        const how = stored.kind === 'completed' ? `already processed${stored.outcome ? ` (${stored.outcome})` : ''}` : 'being processed now';
        settled.set(index, { ...factsOfReadingSafe(reading), producer: producerName, outcome: 'DUPLICATE', reason: `${how}: the idempotency table remembers this event, so the function answers it without applying it again`, deliveries: 1 });
        continue;
      }
      if (stored.kind === 'reused') {
        reading = refusedReading(reading, { code: 'ID_REUSED', message: reusedMessage(reading, undefined), owedWaitMs: 0 }, true);
      }
    }
    inputs.push({ index, reading, messageId, origin: delivered.origin });
  }
  return { inputs, settled, producerOf, orderNotes: orderNotesOf(inputs, producerOf), answeredBy };
}

/**
 * Entries about a subject (leaseKeysOf: the person by each name, or the group) that an earlier
 * entry through another door is also about. Through one door the queue keeps the file's order
 * closely enough (a change that needs an earlier one waits for it); across doors the apply takes
 * the queues side by side, and a change to a person the other door also changes may be applied
 * first. The newer change still wins, but the writes can differ (a leaver applied before its
 * joiner makes none, and the joiner is superseded).
 */
function orderNotesOf(inputs: PlanInput[], producerOf: Map<number, string>): Map<number, string> {
  const changes = inputs.flatMap((input) => (input.reading.kind === 'change' ? [{ input, keys: leaseKeysOf(input.reading.change) }] : []));
  // One subject per person, whatever the entries call them: a joiner ties its name to its external ids.
  const parent = new Map<string, string>();
  const root = (key: string): string => {
    let current = key;
    while (parent.has(current) && parent.get(current) !== current) current = parent.get(current)!;
    return current;
  };
  for (const { keys } of changes) for (const key of keys.slice(1)) parent.set(root(key), root(keys[0]!));
  const notes = new Map<number, string>();
  const lastBy = new Map<string, { index: number; door: string }>();
  for (const { input, keys } of changes) {
    const door = input.origin.queueArn;
    for (const subject of new Set(keys.map(root))) {
      const earlier = lastBy.get(subject);
      if (earlier !== undefined && earlier.door !== door && !notes.has(input.index)) {
        notes.set(
          input.index,
          `entry ${earlier.index + 1} is about the same ${subject.startsWith('group') ? 'group' : 'person'} and comes through another door ` +
            `(${producerOf.get(earlier.index)} vs ${producerOf.get(input.index)}): the apply runs the doors' queues side by side and may take ` +
            'the two in the other order; the newer change still wins, but the writes can differ from this plan',
        );
      }
      lastBy.set(subject, { index: input.index, door });
    }
  }
  return notes;
}

function reusedMessage(reading: Reading, earlier: number | undefined): string {
  const eventId = factsOfReading(reading).id;
  // The function's own words, unless the earlier use is an entry of this input: then it says which.
  if (earlier === undefined) return reusedIdMessage(eventId);
  return `id: "${eventId}" was already used by this producer, by entry ${earlier + 1}, for a different change; that change stands and this one is not applied: send it with a new id`;
}

/** A bad --producer (or a similar call mistake): a usage error for the command. */
export class PlanInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanInputError';
  }
}

type Delivered = { body: string; origin: RecordOrigin } | { outcome: 'REFUSED' | 'NOT_MATCHED'; errorCode: string; reason: string };

/** A producer queue receives the bare document (an EventBridge entry's detail), as npm start sends it. */
function queueDelivery(producer: RuntimeProducer, principal: string, entry: ProducerEntry): Delivered {
  const payload = forQueue(entry);
  return {
    body: typeof payload === 'string' ? payload : JSON.stringify(payload),
    origin: { queueArn: producer.queueArn ?? '', senderId: localUniqueIdFor(principal) },
  };
}

/** The bus: what PutEvents takes from the entry, the bus policy's verdict, the rule, the envelope it delivers. */
function busDelivery(
  producer: RuntimeProducer,
  principal: string,
  entry: ProducerEntry,
  context: { target: LiveTarget; rulePattern: ReturnType<typeof ingestionEventPattern> | undefined; now: Date; index: number },
): Delivered {
  if (typeof entry === 'string') return { outcome: 'REFUSED', errorCode: 'NOT_SENT', reason: 'not sent: a raw (non-JSON) body can only be sent to a queue' };
  const enveloped = isEventBridgeEntry(entry);
  const source = String(enveloped ? (entry.source ?? entry.Source ?? producer.source) : producer.source);
  const detailType = String(enveloped ? (entry['detail-type'] ?? entry.DetailType) : entry.type);
  let detail: unknown = enveloped ? (entry.detail ?? entry.Detail) : entry;
  if (typeof detail === 'string') {
    try {
      detail = JSON.parse(detail);
    } catch {
      return { outcome: 'REFUSED', errorCode: 'MalformedDetail', reason: 'not sent: EventBridge refuses a detail that is not a JSON object' };
    }
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    return { outcome: 'REFUSED', errorCode: 'MalformedDetail', reason: 'not sent: EventBridge refuses a detail that is not a JSON object' };
  }
  // The bus policy ties each source to its producer's principals and keeps a producer to its event types.
  const owner = context.target.config.PRODUCERS.find((candidate) => candidate.via === 'bus' && candidate.source === source);
  if (owner === undefined && context.target.producerPrincipals !== undefined) {
    // The local pipeline's bus is its own: the bus policy takes no source but the declared ones.
    return { outcome: 'REFUSED', errorCode: 'NotAuthorizedForSourceException', reason: `refused at the door: source "${source}" is no declared producer's` };
  }
  if (owner !== undefined && owner.name !== producer.name) {
    return { outcome: 'REFUSED', errorCode: 'NotAuthorizedForSourceException', reason: `refused at the door: source "${source}" belongs to producer "${owner.name}"` };
  }
  if (!(producer.eventTypes as readonly string[]).includes(detailType)) {
    return {
      outcome: 'REFUSED',
      errorCode: 'NotAuthorizedForDetailTypeException',
      reason: `refused at the door: producer "${producer.name}" may send ${producer.eventTypes.join(', ')}, not detail-type "${detailType}"`,
    };
  }
  const account = principal.split(':')[4] ?? '';
  const envelope = {
    version: '0',
    id: `plan-${context.index + 1}`,
    'detail-type': detailType,
    source,
    account,
    time: context.now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: context.target.region,
    resources: [],
    detail,
  };
  if (context.rulePattern === undefined || !matchesEventPattern(context.rulePattern, envelope)) {
    return { outcome: 'NOT_MATCHED', errorCode: 'NOT_MATCHED', reason: `accepted by the bus, but the rule does not match source "${source}" and detail-type "${detailType}": it never reaches the queue` };
  }
  return { body: JSON.stringify(envelope), origin: { queueArn: context.target.busQueueArn, senderId: `AIDAEVENTBRIDGE${accountOf(principal)}` } };
}

function factsOfEntry(entry: ProducerEntry | undefined): { eventId?: string; type?: string } {
  if (entry === undefined || typeof entry !== 'object') return {};
  const inner = (entry as { event?: unknown }).event ?? entry;
  const document = isEventBridgeEntry(inner as ProducerEntry) ? ((inner as Record<string, unknown>).detail ?? (inner as Record<string, unknown>).Detail) : inner;
  const parsed = typeof document === 'string' ? safeJson(document) : document;
  const { id, type } = (parsed ?? {}) as { id?: unknown; type?: unknown };
  return { ...(typeof id === 'string' && { eventId: id }), ...(typeof type === 'string' && { type }) };
}

function factsOfReadingSafe(reading: Reading): { eventId?: string; type?: string } {
  const facts = factsOfReading(reading);
  return { ...(facts.id !== undefined && { eventId: facts.id }), ...(facts.type !== undefined && { type: facts.type }) };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

type StoredIdempotency = { kind: 'none' } | { kind: 'completed'; outcome?: string } | { kind: 'inProgress' } | { kind: 'reused' };

/**
 * The deployment's idempotency table, asked as the function's idempotency layer asks it:
 * Powertools' DynamoDBPersistenceLayer, its key prefixed with the function's name
 * (AWS_LAMBDA_FUNCTION_NAME, read when the layer is built), the key and the payload hash at the
 * function's own paths (IDEMPOTENCY_PATHS).
 */
function idempotencyStore(target: LiveTarget): { lookup(idempotencyKey: string, contentHash: string): Promise<StoredIdempotency> } {
  const previous = process.env.AWS_LAMBDA_FUNCTION_NAME;
  process.env.AWS_LAMBDA_FUNCTION_NAME = target.functionName;
  let layer: DynamoDBPersistenceLayer;
  try {
    layer = new DynamoDBPersistenceLayer({ tableName: target.config.IDEMPOTENCY_TABLE_NAME, awsSdkV3Client: target.dynamodb as never });
  } finally {
    if (previous === undefined) delete process.env.AWS_LAMBDA_FUNCTION_NAME;
    else process.env.AWS_LAMBDA_FUNCTION_NAME = previous;
  }
  layer.configure({ config: new IdempotencyConfig({ ...IDEMPOTENCY_PATHS, expiresAfterSeconds: IDEMPOTENCY_TTL_SECONDS }) });
  return {
    async lookup(idempotencyKey, contentHash) {
      try {
        const record = await layer.getRecord({ idempotencyKey, contentHash });
        const status = record.getStatus();
        if (status === IdempotencyRecordStatus.COMPLETED) {
          const outcome = (record.getResponse() as { outcome?: unknown } | undefined)?.outcome;
          return { kind: 'completed', ...(typeof outcome === 'string' && { outcome }) };
        }
        if (status === IdempotencyRecordStatus.INPROGRESS) return { kind: 'inProgress' };
        return { kind: 'none' };
      } catch (error) {
        if (error instanceof IdempotencyItemNotFoundError) return { kind: 'none' };
        if (error instanceof IdempotencyValidationError) return { kind: 'reused' };
        // No idempotency table where we read (a fresh endpoint): nothing is remembered there.
        if ((error as { name?: string }).name === 'ResourceNotFoundException') return { kind: 'none' };
        throw error;
      }
    },
  };
}

/**
 * A plan of `entries` against the target: every entry's outcome with its reason and the writes the
 * apply would make, in input order. Nothing is written: the record path runs over what-if ports.
 */
export async function runPlan(target: LiveTarget, entries: ProducerEntry[], options: { producer?: string } = {}): Promise<PlanReport> {
  const started = Date.now();
  const callsBefore = target.calls().length;
  // The function forgets what it did not finish (rejected, failed, held): when the input repeats
  // such an id, plan again with that entry forgotten, until nothing changes (bounded).
  let notRemembered = new Set<number>();
  let built: PlanInputs;
  let planned: PlanEntry[];
  for (let round = 1; ; round++) {
    built = await buildPlanInputs(target, entries, options, notRemembered);
    const ports = whatIf({ identityStore: target.identityStore, state: target.state });
    planned = await planDeliveries(built.inputs, { ...ports, publisher: { publish: async () => {} }, clock: { now: () => new Date() } }, consumerSettingsOf(target.config));
    const forgotten = new Set(planned.filter((entry) => FORGOTTEN.includes(entry.outcome)).map((entry) => entry.index));
    const stale = [...built.answeredBy.values()].some((first) => forgotten.has(first) && !notRemembered.has(first));
    if (!stale || round === 4) break;
    notRemembered = new Set([...notRemembered, ...forgotten]);
  }
  const { settled, producerOf, orderNotes } = built;
  const byIndex = new Map(planned.map((entry) => [entry.index, entry]));
  const report: PlanReportEntry[] = entries.map((_, index) => {
    const position = index + 1;
    const plan = byIndex.get(index);
    if (plan !== undefined) {
      return {
        position,
        eventId: plan.eventId,
        ...(plan.type !== undefined && { type: plan.type }),
        ...(producerOf.has(index) && { producer: producerOf.get(index) }),
        outcome: plan.outcome,
        ...(plan.errorCode !== undefined && { errorCode: plan.errorCode }),
        ...(plan.reason !== undefined && { reason: plan.reason }),
        ...(orderNotes.has(index) && { orderNote: orderNotes.get(index) }),
        deliveries: plan.deliveries,
        writes: plan.writes,
      };
    }
    const other = settled.get(index)!;
    return { position, ...other, writes: [] };
  });
  const totals = Object.fromEntries(PLAN_OUTCOMES.map((outcome) => [outcome, report.filter((entry) => entry.outcome === outcome).length])) as Record<PlanOutcome, number>;
  const writesByAction: Record<string, number> = {};
  for (const write of report.flatMap((entry) => entry.writes)) writesByAction[write.action] = (writesByAction[write.action] ?? 0) + 1;
  return {
    target: target.description,
    entries: report,
    totals,
    writesByAction,
    writeCount: report.reduce((sum, entry) => sum + entry.writes.length, 0),
    identityStoreCalls: target.calls().length - callsBefore,
    elapsedMs: Date.now() - started,
  };
}
