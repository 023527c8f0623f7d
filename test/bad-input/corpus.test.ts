/**
 * The bad-input corpus through the whole local pipeline in one go: every malformed, mistyped,
 * oversize, reserved or mis-enveloped message must be REJECTED naming its field and rule, land
 * in the DLQ with that reason, and never hold back the valid events sent behind it.
 *
 * Each message goes in by the door its shape belongs to, signed as a principal that door admits:
 * bare documents (and unreadable bodies) to the queue of the local `manual` producer, EventBridge
 * envelopes to the bus queue as an operator would redrive them (the bus itself would refuse
 * most of these envelopes before they reached the queue).
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbAuditQuery } from '../../lambdas/adapters/dynamodb-audit-query';
import { badInputBody, loadBadInputCorpus, reasonNames } from '../../bench/soak/bad-input';
import { localDynamoDbClient } from '../../local/dynalite';
import { localCredentialsFor } from '../../local/iam';
import { LOCAL_DEFAULT_PRODUCER, LOCAL_DEFAULTS, LOCAL_OPERATORS, LOCAL_PRODUCERS } from '../../local/pipeline/defaults';
import { LOCAL_NAMES, startLocalPipeline, type LocalPipeline } from '../../local/pipeline/pipeline';
import { looksLikeEnvelope } from '../../lambdas/domain/producer';
import type { AuditRecord } from '../../lambdas/adapters/dynamodb-audit-log';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A backstop only: the drain fails on a stall, not on a slow machine.
jest.setTimeout(10 * 60_000);

const corpus = loadBadInputCorpus();
const occurredAt = (n: number) => new Date(Date.UTC(2026, 2, 1, 10, 0, n)).toISOString();
/** Valid events sent after all the bad ones: a group, then users in it. */
const validEvents = [
  { id: 'good-group', type: 'group.upserted', occurredAt: occurredAt(0), actor: 'hr', data: { group: { DisplayName: 'corpus-Everyone' } } },
  ...Array.from({ length: 8 }, (_, i) => ({
    id: `good-user-${i}`,
    type: 'user.upserted',
    occurredAt: occurredAt(i + 1),
    actor: 'hr',
    data: {
      user: { UserName: `corpus.user${i}`, DisplayName: `Corpus User ${i}`, Name: { GivenName: 'Corpus', FamilyName: `User${i}` } },
      groups: ['corpus-Everyone'],
    },
  })),
];

describe('bad-input corpus through the local pipeline', () => {
  let pipeline: LocalPipeline;
  const messageIdOf = new Map<string, string>();
  const deadLetters = new Map<string, Record<string, string | undefined>>();
  const history = new Map<string, AuditRecord[]>();

  beforeAll(async () => {
    pipeline = await startLocalPipeline({
      ...LOCAL_DEFAULTS,
      emulatorTps: 0,
      requestsPerSecond: 50,
      logFile: join(mkdtempSync(join(tmpdir(), 'bad-input-')), 'consumer.log'),
    });
    const manual = pipeline.doors[LOCAL_DEFAULT_PRODUCER];
    if (manual?.via !== 'queue') throw new Error(`the local defaults must declare "${LOCAL_DEFAULT_PRODUCER}" as a queue producer`);
    const client = (principal: string) =>
      new SQSClient({ endpoint: pipeline.sqsEndpoint, region: 'us-east-1', credentials: localCredentialsFor(principal), maxAttempts: 1 });
    const toManualQueue = { client: client(LOCAL_PRODUCERS[LOCAL_DEFAULT_PRODUCER].principals[0]), queueUrl: manual.queueUrl };
    const toBusQueue = { client: client(LOCAL_OPERATORS[0]!), queueUrl: pipeline.sqs.queue(LOCAL_NAMES.busQueue).url };
    const send = async (body: string) => {
      const door = looksLikeEnvelope(parsedOrUndefined(body)) ? toBusQueue : toManualQueue;
      const { MessageId } = await door.client.send(new SendMessageCommand({ QueueUrl: door.queueUrl, MessageBody: body }));
      return MessageId!;
    };
    for (const badCase of corpus) messageIdOf.set(badCase.name, await send(badInputBody(badCase)));
    for (const event of validEvents) await send(JSON.stringify(event));
    toManualQueue.client.destroy();
    toBusQueue.client.destroy();
    await pipeline.drained(60_000);

    for (const m of pipeline.sqs.queue(LOCAL_NAMES.deadLetterQueue).messages) {
      const attributes = Object.fromEntries(Object.entries(m.messageAttributes).map(([k, v]) => [k, v.StringValue]));
      deadLetters.set(attributes.sourceMessageId ?? '', attributes);
    }
    const dynamodb = localDynamoDbClient(pipeline.dynamodbEndpoint);
    const query = new DynamoDbAuditQuery({ client: dynamodb, tableName: LOCAL_NAMES.tables.audit });
    const ids = [...[...deadLetters.values()].map((a) => a.eventId ?? ''), ...validEvents.map((e) => e.id)];
    for (const id of ids) history.set(id, (await query.eventHistory(id)).records);
    dynamodb.destroy();
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  it('covers every kind of bad input the brief names', () => {
    const codes = new Set(corpus.map((c) => c.expect.code));
    expect(codes).toEqual(
      new Set(['MALFORMED_JSON', 'INVALID_EVENT', 'INVALID_ENVELOPE', 'DETAIL_TYPE_MISMATCH', 'WRONG_IDENTITY_STORE', 'PRODUCER_UNKNOWN', 'OCCURRED_AT_OUT_OF_RANGE']),
    );
    expect(corpus.length).toBeGreaterThanOrEqual(30);
  });

  it.each(corpus.map((c) => [c.name, c] as const))('%s: REJECTED and in the DLQ naming its field and rule', (name, badCase) => {
    const letter = deadLetters.get(messageIdOf.get(name)!);
    expect(letter).toBeDefined();
    expect(letter!.rejectionCode).toBe(badCase.expect.code);
    expect(reasonNames(letter!.rejectionReason ?? '', badCase.expect)).toBe(true);

    const outcomes = (history.get(letter!.eventId ?? '') ?? []).filter((r) => r.kind === 'OUTCOME');
    expect(outcomes.length).toBeGreaterThan(0);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ outcome: 'REJECTED', errorCode: badCase.expect.code });
      expect(reasonNames(outcome.kind === 'OUTCOME' ? (outcome.errorMessage ?? '') : '', badCase.expect)).toBe(true);
    }
  });

  it('puts nothing else in the DLQ and loses nothing', () => {
    expect(deadLetters.size).toBe(corpus.length);
    expect(pipeline.pendingMessages()).toBe(0);
  });

  it('records who sent each bad message: the manual queue, or nobody verifiable for an envelope without a source', () => {
    for (const badCase of corpus) {
      const letter = deadLetters.get(messageIdOf.get(badCase.name)!);
      const outcomes = (history.get(letter?.eventId ?? '') ?? []).filter((r) => r.kind === 'OUTCOME');
      const enveloped = badCase.raw === undefined && looksLikeEnvelope(badCase.body);
      const expected = !enveloped ? [LOCAL_DEFAULT_PRODUCER, 'queue'] : badCase.expect.code === 'PRODUCER_UNKNOWN' ? ['unverified', 'bus'] : ['hr', 'bus'];
      for (const outcome of outcomes) expect([badCase.name, outcome.producer, outcome.via]).toEqual([badCase.name, ...expected]);
    }
  });

  it('never crashes a batch: the valid events behind the bad ones are all APPLIED', () => {
    for (const event of validEvents) {
      const outcomes = (history.get(event.id) ?? []).filter((r) => r.kind === 'OUTCOME');
      const kinds = outcomes.map((o) => (o.kind === 'OUTCOME' ? o.outcome : ''));
      // A user may arrive before its group and be retried once the group exists.
      expect(kinds.at(-1)).toBe('APPLIED');
      expect(kinds.filter((k) => k !== 'RETRYING')).toEqual(['APPLIED']);
    }
    for (const mapping of pipeline.mappings) expect(mapping.stats().failedInvocations).toBe(0);
  });
});

function parsedOrUndefined(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}
