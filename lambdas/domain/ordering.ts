/**
 * Per-subject ordering. Each applied change leaves a watermark (the source's occurredAt) on
 * the subjects it touched; a change older than a watermark on its subject arrives too late
 * and is SUPERSEDED instead of undoing newer state.
 *
 * Subject keys are built from names as events carry them (folded by nameKey, as the Identity Store
 * compares names), so a late event is caught even when the subject no longer
 * exists (a tombstone left by a deletion).
 */
import type { ExternalId, IdentityChange } from './identity-change';
import { nameKey } from './names';
import type { Watermark } from './ports';

export const subjectKey = {
  userName: (userName: string) => `user:name:${nameKey(userName)}`,
  userExternalId: (externalId: ExternalId) =>
    `user:ext:${encodeURIComponent(externalId.Issuer)}:${encodeURIComponent(externalId.Id)}`,
  /** The user's complete membership set, as last reconciled (user.upserted with groups, user.deleted). */
  membershipsOf: (userName: string) => membershipSetKey(subjectKey.userName(userName)),
  group: (displayName: string) => `group:${nameKey(displayName)}`,
  membership: (userName: string, groupDisplayName: string) =>
    `membership:${nameKey(userName)}|${nameKey(groupDisplayName)}`,
};

/** Every key a person is known by in an event: the user name and each ExternalId it carries. */
export function personKeys(userName: string | undefined, externalIds: ExternalId[]): string[] {
  return [...(userName === undefined ? [] : [subjectKey.userName(userName)]), ...externalIds.map(subjectKey.userExternalId)];
}

/**
 * The person's membership set under each of those keys, so that a late group list is recognised
 * as stale whichever name it still uses (a rename changes the user name, not the person).
 */
export function membershipSetKeys(keysOfPerson: string[]): string[] {
  return keysOfPerson.map(membershipSetKey);
}

function membershipSetKey(personKey: string): string {
  return `memberships-of|${personKey}`;
}

/** The watermark that makes an event at `occurredAt` too late, if any. */
export function newerWatermark(
  watermarks: Map<string, Watermark>,
  keys: string[],
  occurredAt: string,
  onlyKinds?: Set<string>,
): { key: string; mark: Watermark } | undefined {
  for (const key of keys) {
    const mark = watermarks.get(key);
    if (!mark || mark.occurredAt <= occurredAt) continue;
    if (onlyKinds && !onlyKinds.has(mark.kind)) continue;
    return { key, mark };
  }
  return undefined;
}

/** The instants an event's occurredAt must lie between, as the deployment configures them. */
export interface OccurredAtBounds {
  /** No event can have happened before this. */
  floor: Date;
  /** How far ahead of the receiving clock a sender's clock may run. */
  maxSkewMs: number;
}

/**
 * Why occurredAt is out of bounds, compared as instants (never as text: a date such as
 * 9999-12-31T23:59:59-23:59 is in the year 10000 and sorts before 2026 as a string). An event
 * from the future would leave a watermark that every real change about the person is older than.
 */
export function occurredAtRefusal(occurredAt: string, receivedAt: Date, bounds: OccurredAtBounds): string | undefined {
  const instant = Date.parse(occurredAt);
  if (Number.isNaN(instant)) return `occurredAt: "${occurredAt}" is not a date-time`;
  const latest = receivedAt.getTime() + bounds.maxSkewMs;
  if (instant > latest) {
    return (
      `occurredAt: must not be later than ${bounds.maxSkewMs / 1000} s after the event is received ` +
      `(${new Date(latest).toISOString()}); got ${occurredAt}`
    );
  }
  if (instant < bounds.floor.getTime()) return `occurredAt: must not be earlier than ${bounds.floor.toISOString()}; got ${occurredAt}`;
  return undefined;
}

/** occurredAt as UTC ISO, so watermarks compare as strings whatever offset the source used. */
export function normalizeOccurredAt(occurredAt: string): string {
  return new Date(occurredAt).toISOString();
}

/**
 * The subjects an event changes, leased while it is applied: the person (by every name the event
 * knows them by) or the group. A membership change leases the person: their memberships are
 * what user.upserted reconciles.
 */
export function leaseKeysOf(change: IdentityChange): string[] {
  switch (change.type) {
    case 'user.upserted':
      return [subjectKey.userName(change.data.user.UserName), ...(change.data.user.ExternalIds ?? []).map(subjectKey.userExternalId)];
    case 'user.deleted':
      return [
        ...(change.data.userName ? [subjectKey.userName(change.data.userName)] : []),
        ...(change.data.externalId ? [subjectKey.userExternalId(change.data.externalId)] : []),
      ];
    case 'group.upserted':
      return [subjectKey.group(change.data.group.DisplayName)];
    case 'group.deleted':
      return [subjectKey.group(change.data.displayName)];
    case 'membership.added':
    case 'membership.removed':
      return [subjectKey.userName(change.data.userName)];
  }
}
