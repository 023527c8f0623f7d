import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { LocalSqs } from '../sqs';
import { evaluatePolicy, LocalPrincipals, parsePolicy, type LocalPrincipal, type Policy, type PolicyDocument, type StatementInput } from '../iam';
import { matchesEventPattern, validateEventPattern, type EventPattern } from './pattern';

/**
 * A local EventBridge for `AWSEvents.PutEvents` (awsJson1_1, as
 * @aws-sdk/client-eventbridge sends it). It records every accepted event per
 * bus and delivers matching events to local SQS queues, the whole envelope
 * as the message body, as an EventBridge rule with an SQS target does.
 *
 * Who calls is read from the access key id (local/iam). A bus with a policy (setBusPolicy) has
 * each PutEvents entry evaluated on its own, with events:source and events:detail-type in the
 * request context; a refused entry gets a per-entry error and the rest of the call goes on.
 * The envelope's `account` is the caller's account, as EventBridge sets it. Rule deliveries are
 * sent as events.amazonaws.com with aws:SourceArn = the rule's ARN, so the target queue's policy
 * can let exactly that rule in.
 */
export interface EventEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface RuleTarget {
  queueName: string;
  /** Required for FIFO queues: an EventBridge SQS target carries one fixed group id. */
  messageGroupId?: string;
}

export interface RuleDefinition {
  name?: string;
  /** Bus name (default `default`). */
  bus?: string;
  pattern: EventPattern;
  target: RuleTarget;
}

export interface DeliveryFailure {
  ruleName: string;
  eventId: string;
  queueName: string;
  error: string;
}

export interface LocalEventBridgeOptions {
  port?: number;
  sqs: LocalSqs;
  region?: string;
  accountId?: string;
  /** Who the access key ids stand for (default: nobody known, every caller is the unknown caller). */
  principals?: LocalPrincipals;
}

/**
 * An accepted event that no rule of its bus matched: EventBridge drops it without a word, so the
 * local bus keeps it here, with why each rule passed it by (the pattern's top-level fields that
 * did not match: `source`, `detail-type`, `detail`, ...), or that the bus has no rule at all.
 */
export interface UnmatchedEvent {
  bus: string;
  /** The envelope's id (PutEvents' EventId for the entry). */
  eventId: string;
  source: string;
  detailType: string;
  /** Per rule of the bus, the pattern fields the event failed; empty when the bus has no rule. */
  rules: { ruleName: string; fields: string[] }[];
  /** One line for people, e.g. `source "x" not accepted by rule r`. */
  reason: string;
}

/** What a refused PutEvents entry was, for tests and run summaries. */
export interface RefusedEntry {
  bus: string;
  source: string;
  detailType: string;
  principalArn: string;
  errorCode: string;
}

export interface LocalEventBridge {
  readonly endpoint: string;
  /** Returns the rule's ARN (arn:aws:events:<region>:<account>:rule/<bus>/<name>). */
  addRule(rule: RuleDefinition): string;
  /** The bus's resource policy, evaluated for every PutEvents entry from now on. */
  setBusPolicy(bus: string, policy: PolicyDocument | readonly StatementInput[]): void;
  busArn(bus: string): string;
  ruleArn(name: string, bus?: string): string;
  /** Entries a bus policy refused, in arrival order. */
  refused(): RefusedEntry[];
  /** Every accepted event, in arrival order; one bus or all. */
  events(bus?: string): EventEnvelope[];
  /** Rule targets that could not take an event (real EventBridge would retry, then use the rule's DLQ). */
  deliveryFailures(): DeliveryFailure[];
  /** Accepted events that matched no rule of their bus, in arrival order, with why. */
  unmatched(): UnmatchedEvent[];
  stop(): Promise<void>;
}

interface StoredRule {
  name: string;
  bus: string;
  pattern: EventPattern;
  target: RuleTarget;
}

interface EntryResult {
  EventId?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}

const DEFAULT_BUS = 'default';
const MAX_ENTRIES_PER_CALL = 10;
const MAX_ENTRY_BYTES = 256 * 1024;

export async function startLocalEventBridge(options: LocalEventBridgeOptions): Promise<LocalEventBridge> {
  const region = options.region ?? options.sqs.region;
  const accountId = options.accountId ?? options.sqs.accountId;
  const principals = options.principals ?? new LocalPrincipals();
  const rules: StoredRule[] = [];
  const eventsByBus = new Map<string, EventEnvelope[]>();
  const failures: DeliveryFailure[] = [];
  const unmatchedEvents: UnmatchedEvent[] = [];
  const policies = new Map<string, Policy>();
  const refusedEntries: RefusedEntry[] = [];
  const busArn = (bus: string) => `arn:aws:events:${region}:${accountId}:event-bus/${busName(bus)}`;
  const ruleArn = (name: string, bus?: string) =>
    busName(bus) === DEFAULT_BUS ? `arn:aws:events:${region}:${accountId}:rule/${name}` : `arn:aws:events:${region}:${accountId}:rule/${busName(bus)}/${name}`;

  const deliver = (bus: string, event: EventEnvelope): void => {
    let matched = 0;
    for (const rule of rules) {
      if (rule.bus !== bus || !matchesEventPattern(rule.pattern, event)) continue;
      matched++;
      try {
        options.sqs.sendMessage(
          rule.target.queueName,
          {
            body: JSON.stringify(event),
            messageGroupId: rule.target.messageGroupId,
            // One event, one message: the event id deduplicates retried deliveries on FIFO targets.
            messageDeduplicationId: rule.target.messageGroupId === undefined ? undefined : event.id,
          },
          { service: 'events.amazonaws.com', sourceArn: ruleArn(rule.name, rule.bus), sourceAccount: accountId, senderId: `AIDAEVENTBRIDGE${accountId}` },
        );
      } catch (error) {
        failures.push({ ruleName: rule.name, eventId: event.id, queueName: rule.target.queueName, error: String(error) });
      }
    }
    if (matched === 0) unmatchedEvents.push(unmatchedEvent(bus, event, rules.filter((rule) => rule.bus === bus)));
  };

  /** The bus policy's verdict on one entry, as PutEvents reports it; undefined when allowed. */
  const refusal = (bus: string, entry: Record<string, unknown>, caller: LocalPrincipal): Required<Omit<EntryResult, 'EventId'>> | undefined => {
    const policy = policies.get(bus);
    if (policy === undefined) return undefined;
    const source = String(entry.Source);
    const detailType = String(entry.DetailType);
    const decision = evaluatePolicy(policy, {
      action: 'events:PutEvents',
      resource: busArn(bus),
      resourceAccount: accountId,
      principal: { type: 'aws', arn: caller.arn, account: caller.account },
      context: {
        'aws:PrincipalArn': caller.arn,
        'aws:PrincipalAccount': caller.account,
        // Multivalued keys (one value per entry of a call); evaluated here for this entry alone.
        'events:source': [source],
        'events:detail-type': [detailType],
      },
    });
    if (decision.allowed) return undefined;
    const keys = decision.by === 'explicitDeny' ? decision.statement.conditionKeys : [];
    const why = decision.by === 'explicitDeny' ? `an explicit deny in the bus policy (${decision.statement.sid ?? 'a statement without Sid'})` : 'no bus policy statement allows a principal of another account';
    const result = keys.includes('events:detail-type')
      ? { ErrorCode: 'NotAuthorizedForDetailTypeException', ErrorMessage: `${caller.arn} is not authorized to put events with detail-type "${detailType}" and source "${source}" on ${busArn(bus)}: ${why}` }
      : keys.includes('events:source')
        ? { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: `${caller.arn} is not authorized to put events with source "${source}" on ${busArn(bus)}: ${why}` }
        : { ErrorCode: 'AccessDeniedException', ErrorMessage: `${caller.arn} is not authorized to perform events:PutEvents on ${busArn(bus)}: ${why}` };
    refusedEntries.push({ bus, source, detailType, principalArn: caller.arn, errorCode: result.ErrorCode });
    return result;
  };

  const putEvents = (input: Record<string, unknown>, caller: LocalPrincipal): { status: number; body: Record<string, unknown> } => {
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_ENTRIES_PER_CALL) {
      return validationError(
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES_PER_CALL}`,
      );
    }
    const results: EntryResult[] = entries.map((entry: Record<string, unknown>) => {
      const checked = checkEntry(entry);
      if ('ErrorCode' in checked) return checked;
      const bus = busName(entry.EventBusName);
      const refused = refusal(bus, entry, caller);
      if (refused) return refused;
      const event: EventEnvelope = {
        version: '0',
        id: randomUUID(),
        'detail-type': String(entry.DetailType),
        source: String(entry.Source),
        // EventBridge stamps the sender's account, which is how a bus consumer tells accounts apart.
        account: caller.account,
        time: eventTime(entry.Time),
        region,
        resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
        detail: checked.detail,
      };
      // Like EventBridge, an unknown bus is not an error: the event simply matches no rule.
      const busEvents = eventsByBus.get(bus) ?? [];
      busEvents.push(event);
      eventsByBus.set(bus, busEvents);
      deliver(bus, event);
      return { EventId: event.id };
    });
    const failedEntryCount = results.filter((r) => r.ErrorCode !== undefined).length;
    return { status: 200, body: { FailedEntryCount: failedEntryCount, Entries: results } };
  };

  const server = createServer((request, response) => {
    const caller = principals.callerOf(request.headers.authorization, accountId);
    void handle(request, response, (input) => putEvents(input, caller));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    addRule: (rule) => {
      validateEventPattern(rule.pattern);
      const stored = { name: rule.name ?? `rule-${rules.length + 1}`, bus: busName(rule.bus), pattern: rule.pattern, target: rule.target };
      rules.push(stored);
      return ruleArn(stored.name, stored.bus);
    },
    setBusPolicy: (bus, policy) => {
      policies.set(busName(bus), parsePolicy(policy));
    },
    busArn,
    ruleArn,
    refused: () => [...refusedEntries],
    events: (bus) =>
      bus === undefined ? [...eventsByBus.values()].flat() : [...(eventsByBus.get(busName(bus)) ?? [])],
    deliveryFailures: () => [...failures],
    unmatched: () => [...unmatchedEvents],
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Why an event matched none of its bus's rules: per rule, the top-level pattern fields it failed. */
function unmatchedEvent(bus: string, event: EventEnvelope, busRules: StoredRule[]): UnmatchedEvent {
  const source = event.source;
  const detailType = event['detail-type'];
  const perRule = busRules.map((rule) => ({
    ruleName: rule.name,
    fields: Object.keys(rule.pattern).filter((field) => !matchesEventPattern({ [field]: rule.pattern[field] }, event)),
  }));
  const describe = (field: string) =>
    field === 'source' ? `source "${source}" not accepted` : field === 'detail-type' ? `detail-type "${detailType}" not accepted` : `${field} not accepted`;
  const reason =
    perRule.length === 0
      ? `bus "${bus}" has no rule`
      : perRule.map(({ ruleName, fields }) => `${fields.map(describe).join(', ') || 'pattern not matched'} by rule ${ruleName}`).join('; ');
  return { bus, eventId: event.id, source, detailType, rules: perRule, reason };
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  putEvents: (input: Record<string, unknown>) => { status: number; body: Record<string, unknown> },
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const target = String(request.headers['x-amz-target'] ?? '');
  let result: { status: number; body: Record<string, unknown> };
  if (target !== 'AWSEvents.PutEvents') {
    result = { status: 400, body: { __type: 'UnknownOperationException', message: `The local EventBridge does not implement ${target || '(no target)'}` } };
  } else {
    try {
      result = putEvents(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>);
    } catch (error) {
      result = validationError(`Malformed request: ${String(error)}`);
    }
  }
  const payload = JSON.stringify(result.body);
  response.writeHead(result.status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
  });
  response.end(payload);
}

function validationError(message: string): { status: number; body: Record<string, unknown> } {
  return { status: 400, body: { __type: 'ValidationException', message } };
}

/** Per-entry checks with the error codes PutEvents reports in `Entries`. */
function checkEntry(entry: Record<string, unknown>): { detail: unknown } | Required<Omit<EntryResult, 'EventId'>> {
  for (const field of ['Source', 'DetailType', 'Detail'] as const) {
    if (typeof entry[field] !== 'string' || entry[field] === '') {
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
      };
    }
  }
  if (Buffer.byteLength(JSON.stringify(entry), 'utf8') > MAX_ENTRY_BYTES) {
    return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Total size of the entries in the request is over the limit.' };
  }
  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail as string);
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  return { detail };
}

/** EventBusName may be a name or an ARN; absent means the default bus. */
function busName(raw: unknown): string {
  if (typeof raw !== 'string' || raw === '') return DEFAULT_BUS;
  return raw.startsWith('arn:') ? (raw.split('/').pop() ?? DEFAULT_BUS) : raw;
}

/** Envelope time is ISO 8601 to the second, UTC (`2024-05-01T12:00:00Z`). Time arrives as epoch seconds. */
function eventTime(raw: unknown): string {
  const date = typeof raw === 'number' ? new Date(raw * 1000) : new Date();
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
