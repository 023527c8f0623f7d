/**
 * The bad-input corpus through the whole local pipeline in one go: every malformed, mistyped,
 * oversize, reserved or mis-enveloped message must be REJECTED naming its field and rule, land
 * in the DLQ with that reason, and never hold back the valid events sent behind it.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbAuditQuery } from '../../lambdas/adapters/dynamodb-audit-query';
import { badInputBody, loadBadInputCorpus, reasonNames } from '../../bench/soak/bad-input';
import { localDynamoDbClient } from '../../local/dynalite';
import { LOCAL_DEFAULTS } from '../../local/pipeline/defaults';
import { LOCAL_NAMES, startLocalPipeline, type LocalPipeline } from '../../local/pipeline/pipeline';
import { sendEntries } from '../../local/producer';
import type { AuditRecord } from '../../lambdas/adapters/dynamodb-audit-log';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

jest.setTimeout(180_000);

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
    const bodies = [...corpus.map((c) => badInputBody(c)), ...validEvents.map((e) => JSON.stringify(e))];
    const sqs = new SQSClient({ endpoint: pipeline.sqsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const sent = await sendEntries(bodies, { sqs: { client: sqs, queueUrl: pipeline.sqs.queue(LOCAL_NAMES.queue).url } });
    sqs.destroy();
    expect(sent.failed).toEqual([]);
    corpus.forEach((c, index) => messageIdOf.set(c.name, sent.messageIds[index]));
    await pipeline.settled(120_000);

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
    expect(codes).toEqual(new Set(['MALFORMED_JSON', 'INVALID_EVENT', 'INVALID_ENVELOPE', 'DETAIL_TYPE_MISMATCH', 'WRONG_IDENTITY_STORE']));
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

  it('never crashes a batch: the valid events behind the bad ones are all APPLIED', () => {
    for (const event of validEvents) {
      const outcomes = (history.get(event.id) ?? []).filter((r) => r.kind === 'OUTCOME');
      const kinds = outcomes.map((o) => (o.kind === 'OUTCOME' ? o.outcome : ''));
      // A user may arrive before its group and be retried once the group exists.
      expect(kinds.at(-1)).toBe('APPLIED');
      expect(kinds.filter((k) => k !== 'RETRYING')).toEqual(['APPLIED']);
    }
    expect(pipeline.mapping.stats().failedInvocations).toBe(0);
  });
});
