/**
 * Per-subject ordering. Each applied change leaves a watermark (the source's occurredAt) on
 * the subjects it touched; a change older than a watermark on its subject arrives too late
 * and is SUPERSEDED instead of undoing newer state.
 *
 * Subject keys are built from names as events carry them (lower-cased where the Identity Store
 * treats names case-insensitively), so a late event is caught even when the subject no longer
 * exists (a tombstone left by a deletion).
 */
import type { ExternalId, IdentityChange } from './identity-change';
import type { Watermark } from './ports';

export const subjectKey = {
  userName: (userName: string) => `user:name:${userName.toLowerCase()}`,
  userExternalId: (externalId: ExternalId) =>
    `user:ext:${encodeURIComponent(externalId.Issuer)}:${encodeURIComponent(externalId.Id)}`,
  /** The user's complete membership set, as last reconciled (user.upserted with groups, user.deleted). */
  membershipsOf: (userName: string) => membershipSetKey(subjectKey.userName(userName)),
  group: (displayName: string) => `group:${displayName.toLowerCase()}`,
  membership: (userName: string, groupDisplayName: string) =>
    `membership:${userName.toLowerCase()}|${groupDisplayName.toLowerCase()}`,
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
