/**
 * How an audit record is said, the same in the table (cli/format.ts) and on the html page
 * (cli/format-html.ts): which records are shown, what happened in words, times to the second.
 */
import type { AuditRecord, DriftAuditRecord } from '../lambdas/adapters/dynamodb-audit-log';
import type { OutcomeRecord, WriteRecord } from '../lambdas/domain/ports';

/** The records to show: an intent its WRITE confirms says nothing the WRITE does not. */
export function withoutConfirmedIntents(all: AuditRecord[]): AuditRecord[] {
  const key = (record: { eventId: string; attempt: number; sequence: number }) => `${record.eventId}|${record.attempt}|${record.sequence}`;
  const confirmed = new Set(all.flatMap((record) => (record.kind === 'WRITE' ? [key(record)] : [])));
  return all.filter((record) => record.kind !== 'INTENT' || !confirmed.has(key(record)));
}

/** For a record about both a user and a group (a membership): the group, named next to the action. */
export function membershipGroup(record: OutcomeRecord | WriteRecord): string | undefined {
  const user = record.userName ?? record.userId;
  return user === undefined ? undefined : (record.groupDisplayName ?? record.groupId);
}

/** The event type, its membership's group, the outcome, the attempt and the writes made. */
export function outcomeHeadline(record: OutcomeRecord): string {
  const parts: string[] = [record.type ?? 'event', membershipGroup(record) ?? '', record.outcome].filter(Boolean);
  if (record.attempt > 1) parts.push(`(attempt ${record.attempt})`);
  if (record.outcome === 'APPLIED') parts.push(`(${record.writes} write${record.writes === 1 ? '' : 's'})`);
  return parts.join(' ');
}

/** What a drift finding found, in words; an attribute that differs is said by the caller, with or without its values. */
export function driftHeadline(record: DriftAuditRecord, attributeDiffers: string): string {
  const group = record.groupDisplayName ?? record.groupId;
  switch (record.drift) {
    case 'attribute-differs':
    case 'description-differs':
      return attributeDiffers;
    case 'user-missing':
      return 'DRIFT user missing: deleted outside this service';
    case 'unexpected-member':
      return `DRIFT member of ${group}: this service's last change left them out`;
    case 'unexplained-member':
      return `DRIFT member of ${group}: not put there by this service`;
    case 'member-missing':
      return `DRIFT not a member of ${group}: this service put them there`;
    case 'group-missing':
      return 'DRIFT group missing: deleted outside this service';
    default:
      return `DRIFT ${String(record.drift)}`;
  }
}

/** A time as the table and the page print it: UTC, to the second. */
export function shortUtc(time: string): string {
  const parsed = Date.parse(time);
  return Number.isNaN(parsed) ? time : new Date(parsed).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
