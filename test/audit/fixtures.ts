/**
 * A realistic audit trail, shaped as the engine records it: a joiner, a mover, a throttled
 * retry, a leaver, failures, and a bulk import big enough to need several pages.
 */
import { DynamoDbAuditLog, type AuditRecord } from '../../lambdas/adapters/dynamodb-audit-log';
import type { AnyDynamoDbClient } from '../../lambdas/adapters/dynamodb-document-client';

export const STORE = 'd-1234567890';
export const BULK_EVENTS = 25;

/** The HR feed, verified through the bus (its events arrive with the bus rule's SenderId). */
const HR = { producer: 'hr', via: 'bus', senderId: 'AIDAEVENTBRIDGERULE' } as const;
/** The SCIM bridge, verified by its own producer queue. */
export const OKTA = { producer: 'okta-bridge', via: 'queue', senderId: 'AROA444455556666OKTA:scim-sync' } as const;
type Sender = 'producer' | 'via' | 'senderId';

const write = (r: Omit<Extract<AuditRecord, { kind: 'WRITE' }>, 'kind' | 'identityStoreId' | 'attempts' | 'waitedMs' | Sender> & { attempts?: number; waitedMs?: number }): AuditRecord => ({
  kind: 'WRITE',
  identityStoreId: STORE,
  ...HR,
  attempts: 1,
  waitedMs: 0,
  ...r,
});

const outcome = (r: Omit<Extract<AuditRecord, { kind: 'OUTCOME' }>, 'kind' | 'identityStoreId' | 'source' | 'waitedMs' | 'receivedAt' | Sender> & { source?: string; waitedMs?: number } & Partial<Pick<AuditRecord, Sender>>): AuditRecord => ({
  kind: 'OUTCOME',
  identityStoreId: STORE,
  ...HR,
  source: 'hr.workday',
  waitedMs: 0,
  receivedAt: new Date(Date.parse(r.at) - 1500).toISOString(),
  ...r,
});

export function auditTrail(): AuditRecord[] {
  return [
    // 2024-05-01: Engineering is created, Ann joins.
    write({ eventId: 'evt-group-eng', sequence: 0, attempt: 1, at: '2024-05-01T08:00:01.000Z', action: 'CreateGroup', actor: 'workday', groupId: 'g-eng', groupDisplayName: 'Engineering', requestId: 'r-1',
      changes: [{ path: 'displayName', after: 'Engineering' }, { path: 'description', after: 'Builds things, "fast", and ships' }] }),
    outcome({ eventId: 'evt-group-eng', attempt: 1, at: '2024-05-01T08:00:02.000Z', occurredAt: '2024-05-01T07:59:00.000Z', actor: 'workday', type: 'group.upserted', groupDisplayName: 'Engineering', groupId: 'g-eng', outcome: 'APPLIED', writes: 1 }),
    write({ eventId: 'evt-join-ann', sequence: 0, attempt: 1, at: '2024-05-01T09:00:01.000Z', action: 'CreateUser', actor: 'workday', userId: 'u-ann', userName: 'ann', requestId: 'r-2',
      changes: [{ path: 'userName', after: 'ann' }, { path: 'displayName', after: 'Ann Lee' }, { path: 'title', after: 'Engineer' }] }),
    write({ eventId: 'evt-join-ann', sequence: 1, attempt: 1, at: '2024-05-01T09:00:02.000Z', action: 'CreateGroupMembership', actor: 'workday', userId: 'u-ann', userName: 'ann', groupId: 'g-eng', groupDisplayName: 'Engineering', membershipId: 'm-1', requestId: 'r-3' }),
    outcome({ eventId: 'evt-join-ann', attempt: 1, at: '2024-05-01T09:00:03.000Z', occurredAt: '2024-05-01T08:58:00.000Z', actor: 'workday', type: 'user.upserted', userName: 'ann', userId: 'u-ann', outcome: 'APPLIED', writes: 2 }),

    // 2024-05-02: Ann moves to Managers; Bob's join is throttled once, then applied.
    write({ eventId: 'evt-move-ann', sequence: 0, attempt: 1, at: '2024-05-02T10:00:01.000Z', action: 'UpdateUser', actor: 'workday', userId: 'u-ann', userName: 'ann', requestId: 'r-4',
      changes: [{ path: 'title', before: 'Engineer', after: 'Engineering Manager' }] }),
    write({ eventId: 'evt-move-ann', sequence: 1, attempt: 1, at: '2024-05-02T10:00:02.000Z', action: 'DeleteGroupMembership', actor: 'workday', userId: 'u-ann', userName: 'ann', groupId: 'g-eng', groupDisplayName: 'Engineering', membershipId: 'm-1', requestId: 'r-5' }),
    write({ eventId: 'evt-move-ann', sequence: 2, attempt: 1, at: '2024-05-02T10:00:03.000Z', action: 'CreateGroupMembership', actor: 'workday', userId: 'u-ann', userName: 'ann', groupId: 'g-mgr', groupDisplayName: 'Managers', membershipId: 'm-2', requestId: 'r-6' }),
    outcome({ eventId: 'evt-move-ann', attempt: 1, at: '2024-05-02T10:00:04.000Z', occurredAt: '2024-05-02T09:55:00.000Z', actor: 'workday', type: 'user.upserted', userName: 'ann', userId: 'u-ann', outcome: 'APPLIED', writes: 3 }),
    outcome({ eventId: 'evt-join-bob', attempt: 1, at: '2024-05-02T11:00:05.000Z', occurredAt: '2024-05-02T11:00:00.000Z', actor: 'workday', type: 'user.upserted', userName: 'bob', outcome: 'RETRYING', errorCode: 'IDENTITY_STORE_THROTTLED', errorMessage: 'Rate exceeded', waitedMs: 4000, writes: 0, owedWaitMs: 2000 }),
    write({ eventId: 'evt-join-bob', sequence: 0, attempt: 2, at: '2024-05-02T11:00:09.000Z', action: 'CreateUser', actor: 'workday', userId: 'u-bob', userName: 'bob', requestId: 'r-7', attempts: 2, waitedMs: 1000,
      changes: [{ path: 'userName', after: 'bob' }, { path: 'nickName', after: '' }] }),
    outcome({ eventId: 'evt-join-bob', attempt: 2, at: '2024-05-02T11:00:10.000Z', occurredAt: '2024-05-02T11:00:00.000Z', actor: 'workday', type: 'user.upserted', userName: 'bob', userId: 'u-bob', outcome: 'APPLIED', waitedMs: 1000, writes: 1 }),

    // 2024-05-03: problems from the SCIM bridge, and Ann leaves.
    outcome({ eventId: 'evt-admins', attempt: 1, at: '2024-05-03T07:00:00.000Z', occurredAt: '2024-05-03T06:59:00.000Z', source: 'sqs', ...OKTA, actor: 'okta-scim', type: 'membership.added', userName: 'ann', groupDisplayName: 'Admins', outcome: 'REJECTED', errorCode: 'GROUP_NOT_MANAGED', errorMessage: 'group Admins is outside the managed scope', writes: 0 }),
    outcome({ eventId: 'evt-leave-carl', attempt: 5, at: '2024-05-03T08:00:00.000Z', occurredAt: '2024-05-03T07:00:00.000Z', source: 'sqs', ...OKTA, actor: 'okta-scim', type: 'user.deleted', userName: 'carl', outcome: 'FAILED', errorCode: 'DELETION_CAP_REACHED', errorMessage: 'deletion cap of 10 per 3600 s reached', writes: 0 }),
    write({ eventId: 'evt-leave-ann', sequence: 0, attempt: 1, at: '2024-05-03T09:00:01.000Z', action: 'DeleteGroupMembership', actor: 'workday', userId: 'u-ann', userName: 'ann', groupId: 'g-mgr', groupDisplayName: 'Managers', membershipId: 'm-2', requestId: 'r-8' }),
    write({ eventId: 'evt-leave-ann', sequence: 1, attempt: 1, at: '2024-05-03T09:00:02.000Z', action: 'DeleteUser', actor: 'workday', userId: 'u-ann', userName: 'ann', requestId: 'r-9' }),
    outcome({ eventId: 'evt-leave-ann', attempt: 1, at: '2024-05-03T09:00:03.000Z', occurredAt: '2024-05-03T08:30:00.000Z', actor: 'workday', type: 'user.deleted', userName: 'ann', userId: 'u-ann', outcome: 'APPLIED', writes: 2 }),

    // 2024-05-04: a bulk import into Support.
    ...Array.from({ length: BULK_EVENTS }, (_, i): AuditRecord[] => {
      const eventId = `evt-bulk-${String(i).padStart(2, '0')}`;
      const second = String(i * 2).padStart(2, '0');
      const userName = `user${String(i).padStart(2, '0')}`;
      return [
        write({ eventId, sequence: 0, attempt: 1, at: `2024-05-04T12:00:${second}.000Z`, action: 'CreateGroupMembership', actor: 'bulk-import', userId: `u-${i}`, userName, groupId: 'g-sup', groupDisplayName: 'Support', membershipId: `m-s${i}` }),
        outcome({ eventId, attempt: 1, at: `2024-05-04T12:00:${second}.500Z`, actor: 'bulk-import', type: 'membership.added', userName, groupDisplayName: 'Support', outcome: 'APPLIED', writes: 1 }),
      ];
    }).flat(),
  ];
}

export async function recordTrail(client: AnyDynamoDbClient, tableName: string, records = auditTrail()): Promise<void> {
  const log = new DynamoDbAuditLog({ client, tableName, retentionDays: 0 });
  // Shuffled order: the trail must come back in time order whatever order it was written in.
  const shuffled = [...records].sort((a, b) => hash(`${a.eventId}${a.at}`) - hash(`${b.eventId}${b.at}`));
  for (const record of shuffled) {
    await log.append(record);
  }
}

/** Picks records out of the trail, in time order. */
export function select(predicate: (record: AuditRecord) => boolean): AuditRecord[] {
  return auditTrail().filter(predicate).sort((a, b) => a.at.localeCompare(b.at));
}

function hash(text: string): number {
  let h = 0;
  for (const char of text) h = (h * 31 + char.charCodeAt(0)) | 0;
  return h;
}
