/**
 * The drift adapters against dynalite and the local EventBridge, over the real SDK clients: DRIFT
 * records in the audit trail (found by user, group and day), the first-seen memory in the state
 * table, and identity.drift.detected on the bus.
 */
import { DynamoDbAuditLog, fromAuditItem, toAuditItem } from '../../lambdas/adapters/dynamodb-audit-log';
import { DynamoDbAuditQuery } from '../../lambdas/adapters/dynamodb-audit-query';
import { DynamoDbProcessingState, stateKeys } from '../../lambdas/adapters/dynamodb-processing-state';
import { DRIFT_KEYS_PUBLISHED, EventBridgeOutcomePublisher } from '../../lambdas/adapters/eventbridge-outcome-publisher';
import { countByKind, type DriftRecord, type DriftSummary } from '../../lambdas/domain/drift';
import { DRIFT_DETAIL_TYPE, OUTCOME_EVENT_SOURCE } from '../../lambdas/shared/telemetry';
import { formatRecords } from '../../cli/format';
import { startLocalEventBridge, type LocalEventBridge } from '../../local/eventbridge';
import { startLocalSqs, type LocalSqs } from '../../local/sqs';
import { useDynalite } from '../support/dynalite';
import { eventBridgeClientFor } from '../local/support';

const dynamo = useDynalite();

const drift = (overrides: Partial<DriftRecord> = {}): DriftRecord => ({
  at: '2026-11-22T10:00:00.000Z',
  identityStoreId: 'd-1234567890',
  findingKey: 'attribute:u-1:title',
  drift: 'attribute-differs',
  summary: 'title of Ada differs from what this service set',
  firstSeen: '2026-11-21T10:00:00.000Z',
  userId: 'u-1',
  userName: 'Ada',
  path: 'title',
  expected: 'Engineer',
  actual: '',
  eventId: 'hr-0001',
  occurredAt: '2026-11-20T09:00:00.000Z',
  driftAction: 'report',
  ...overrides,
});

describe('DRIFT records in the audit trail', () => {
  const log = () => new DynamoDbAuditLog({ client: dynamo.current.client, tableName: dynamo.current.tables.audit, retentionDays: 0 });
  const query = () => new DynamoDbAuditQuery({ client: dynamo.current.client, tableName: dynamo.current.tables.audit });

  it('are appended, found by user name in any case, by group and by day, and come back exactly', async () => {
    const attribute = drift();
    const member = drift({
      findingKey: 'extra-member:g-1:u-2',
      drift: 'unexpected-member',
      summary: 'bob is in app-wiki',
      userId: 'u-2',
      userName: 'bob',
      groupId: 'g-1',
      groupDisplayName: 'App-Wiki',
      membershipId: 'm-1',
      path: undefined,
      expected: false,
      actual: true,
      driftAction: 'repair',
      repairEventId: 'drift-abc',
    });
    await log().recordDrift(attribute);
    await log().recordDrift(member);
    // A retried put of the very same record is no conflict.
    await log().recordDrift(attribute);

    const byUser = await query().userTimeline('ADA');
    expect(byUser.records).toEqual([{ kind: 'DRIFT', ...attribute }]);
    expect(byUser.records[0]).toMatchObject({ actual: '', expected: 'Engineer' });
    const byGroup = await query().groupHistory('app-wiki');
    expect(byGroup.records).toEqual([{ kind: 'DRIFT', ...member }]);
    const changes = await query().changes({ since: new Date('2026-11-22T00:00:00Z'), until: new Date('2026-11-23T00:00:00Z') });
    expect(changes.records.map((r) => r.kind)).toEqual(['DRIFT', 'DRIFT']);
  });

  it('a different record under the same finding and instant is refused', async () => {
    await log().recordDrift(drift({ findingKey: 'description:g-9', at: '2026-11-22T11:00:00.000Z' }));
    await expect(log().recordDrift(drift({ findingKey: 'description:g-9', at: '2026-11-22T11:00:00.000Z', actual: 'other' }))).rejects.toThrow(/already exists/);
  });

  it('item and record convert both ways, with the name keys folded', () => {
    const item = toAuditItem({ kind: 'DRIFT', ...drift() });
    expect(item).toMatchObject({ pk: 'DRIFT#attribute:u-1:title', sk: '2026-11-22T10:00:00.000Z#DRIFT', day: '2026-11-22', userKey: 'USER#ada', expectedJson: '"Engineer"', actualJson: '""' });
    expect(item.problemDay).toBeUndefined();
    expect(fromAuditItem(item)).toEqual({ kind: 'DRIFT', ...drift() });
  });

  it('render as readable table rows: what differs, since when, and the repair', () => {
    const table = formatRecords(
      [
        { kind: 'DRIFT', ...drift() },
        { kind: 'DRIFT', ...drift({ findingKey: 'extra-member:g-1:u-2', drift: 'unexplained-member', userName: 'bob', groupDisplayName: 'app-wiki', eventId: undefined, notRepaired: 'no change of this service decided it' }) },
      ],
      'table',
      200,
    );
    expect(table).toContain('hr-0001');
    expect(table).toContain('DRIFT title: "Engineer" applied, "" found (first seen 2026-11-21T10:00:00Z)');
    expect(table).toContain('DRIFT member of app-wiki: not put there by this service (first seen 2026-11-21T10:00:00Z); not repaired: no change of this service decided it');
    const csv = formatRecords([{ kind: 'DRIFT', ...drift() }], 'csv');
    expect(csv.split('\n')[0]).toContain('drift,findingKey,summary,path,expected,actual,firstSeen,driftAction,repairEventId,notRepaired');
  });
});

describe('drift memory in the state table', () => {
  const state = () => new DynamoDbProcessingState({ client: dynamo.current.client, tableName: dynamo.current.tables.state });

  it('remembers the first sighting, keeps it on a second, recalls every finding (long keys too) and forgets', async () => {
    const long = `attribute:${'u'.repeat(1500)}:title`;
    await state().remember('extra-member:g-1:u-2', '2026-11-20T00:00:00.000Z');
    await state().remember('extra-member:g-1:u-2', '2026-11-22T00:00:00.000Z');
    await state().remember(long, '2026-11-21T00:00:00.000Z');
    expect(stateKeys.driftFinding(long)).toMatch(/^DRIFT#sha256:/);
    expect(await state().recall()).toEqual(
      new Map([
        ['extra-member:g-1:u-2', '2026-11-20T00:00:00.000Z'],
        [long, '2026-11-21T00:00:00.000Z'],
      ]),
    );
    // Watermarks and other items of the table are not findings.
    await state().advanceWatermarks(['user:name:ada'], { occurredAt: '2026-11-22T09:00:00Z', eventId: 'e1', kind: 'upserted' });
    await state().forget([long, 'never-seen']);
    expect([...(await state().recall()).keys()]).toEqual(['extra-member:g-1:u-2']);
  });
});

describe('identity.drift.detected', () => {
  let sqs: LocalSqs;
  let bus: LocalEventBridge;
  beforeAll(async () => {
    sqs = await startLocalSqs({ secondMs: 100 });
    bus = await startLocalEventBridge({ sqs });
  });
  afterAll(async () => {
    await bus.stop();
    await sqs.stop();
  });

  it('is published with the outcome source: counts, kinds and finding keys, no names', async () => {
    const client = eventBridgeClientFor(bus.endpoint);
    const summary: DriftSummary = {
      identityStoreId: 'd-1234567890',
      at: '2026-11-22T10:00:00.000Z',
      action: 'report',
      findings: DRIFT_KEYS_PUBLISHED + 1,
      newFindings: 1,
      byKind: { ...countByKind([]), 'unexplained-member': DRIFT_KEYS_PUBLISHED + 1 },
      oldestFirstSeen: '2026-11-20T00:00:00.000Z',
      findingKeys: Array.from({ length: DRIFT_KEYS_PUBLISHED + 1 }, (_, i) => `extra-member:g-1:u-${i}`),
      repairsSent: 0,
    };
    try {
      await new EventBridgeOutcomePublisher(client, 'identity').publishDrift(summary);
    } finally {
      client.destroy();
    }
    const [event] = bus.events('identity');
    expect(event).toMatchObject({ source: OUTCOME_EVENT_SOURCE, 'detail-type': DRIFT_DETAIL_TYPE });
    const detail = event!.detail as Record<string, unknown>;
    expect(detail).toMatchObject({ findings: DRIFT_KEYS_PUBLISHED + 1, findingKeysOmitted: 1, oldestFirstSeen: '2026-11-20T00:00:00.000Z' });
    expect(detail.findingKeys).toHaveLength(DRIFT_KEYS_PUBLISHED);
  });
});
