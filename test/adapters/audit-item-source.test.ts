/**
 * DynamoDbAuditItemSource on dynalite with the real audit-log adapter's items: every item of a
 * window, whole (contentHash and expiresAt included), over day boundaries and pages; and the
 * digests written and verified over it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbAuditItemSource } from '../../lambdas/adapters/audit-item-source';
import { auditContentHash, DynamoDbAuditLog, toAuditItem } from '../../lambdas/adapters/dynamodb-audit-log';
import { LocalDigestStore } from '../../lambdas/adapters/local-digest-store';
import { skTime, verifyTrail, writeDueDigests } from '../../lambdas/domain/audit-digest';
import { auditTrail } from '../audit/fixtures';
import { useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const RETENTION_DAYS = 400;
const expected = auditTrail().map((record) => toAuditItem(record, { retentionDays: RETENTION_DAYS }));
const bySk = (a: Record<string, unknown>, b: Record<string, unknown>) => String(a.sk).localeCompare(String(b.sk)) || String(a.pk).localeCompare(String(b.pk));

function source(pageSize?: number) {
  return new DynamoDbAuditItemSource({ client: dynamo.current.client, tableName: dynamo.current.tables.audit, pageSize });
}

beforeAll(async () => {
  const log = new DynamoDbAuditLog({ client: dynamo.current.client, tableName: dynamo.current.tables.audit, retentionDays: RETENTION_DAYS });
  for (const record of auditTrail()) await log.append(record);
});

it('reads every item of a window spanning days, whole: its contentHash still matches its content, its expiresAt is there', async () => {
  const items = await source().itemsBetween(new Date('2024-04-30T00:00:00.000Z'), new Date('2024-05-06T00:00:00.000Z'));
  expect([...items].sort(bySk)).toEqual([...expected].sort(bySk));
  for (const item of items) {
    expect(item.contentHash).toBe(auditContentHash(item));
    expect(typeof item.expiresAt).toBe('number');
  }
});

it('reads [from, to): a record at exactly `from` is in, one at exactly `to` is out', async () => {
  const from = new Date('2024-05-01T09:00:02.000Z');
  const to = new Date('2024-05-02T10:00:03.000Z');
  const items = await source().itemsBetween(from, to);
  const times = items.map((item) => skTime(String(item.sk)));
  expect(times).toContain(from.toISOString());
  expect(times).not.toContain(to.toISOString());
  expect(items.map((i) => i.sk).sort()).toEqual(
    expected.filter((i) => skTime(String(i.sk)) >= from.toISOString() && skTime(String(i.sk)) < to.toISOString()).map((i) => i.sk).sort(),
  );
  // Oldest day first, each day in sort-key order.
  expect(times).toEqual([...times].sort());
});

it('reads every page', async () => {
  const window = [new Date('2024-05-04T00:00:00.000Z'), new Date('2024-05-05T00:00:00.000Z')] as const;
  const paged = await source(3).itemsBetween(...window);
  expect(paged.length).toBe(50);
  expect(paged).toEqual(await source().itemsBetween(...window));
});

it('reads nothing for an empty window', async () => {
  expect(await source().itemsBetween(new Date('2024-05-02T00:00:00.000Z'), new Date('2024-05-02T00:00:00.000Z'))).toEqual([]);
});

it('digests the table into a directory, verifies it untouched, then names a record updated and one deleted in DynamoDB', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-digests-'));
  try {
    const ports = { source: source(), store: new LocalDigestStore(dir) };
    const now = new Date('2024-05-06T00:00:00.000Z');
    const { written } = await writeDueDigests(ports, { genesis: new Date('2024-05-01T00:00:00.000Z'), until: now, maxWindowMs: 86_400_000, now });
    expect(written.map((d) => d.entries.length)).toEqual([5, 7, 5, 50, 0]);
    expect(await verifyTrail(ports, { now })).toMatchObject({ ok: true, findings: [], checked: { digests: 5, records: expected.length, entries: expected.length } });

    const [updated, deleted] = [expected[0]!, expected[1]!];
    const table = dynamo.current.tables.audit;
    await dynamo.current.documentClient.send(new UpdateCommand({ TableName: table, Key: { pk: updated.pk, sk: updated.sk }, UpdateExpression: 'SET actor = :a', ExpressionAttributeValues: { ':a': 'nobody' } }));
    await dynamo.current.documentClient.send(new DeleteCommand({ TableName: table, Key: { pk: deleted.pk, sk: deleted.sk } }));
    const report = await verifyTrail(ports, { now });
    expect(report.ok).toBe(false);
    expect(report.findings.map((f) => [f.type, f.pk, f.sk])).toEqual(
      [['changed', updated.pk, updated.sk], ['removed', deleted.pk, deleted.sk]].sort((a, b) => a[2]!.toString().localeCompare(b[2]!.toString())),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
