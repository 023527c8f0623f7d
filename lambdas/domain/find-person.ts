/**
 * How a person is found, for the engine and for the roster reconcile alike (one rule, so a
 * reconcile finds whom the apply will find): by ExternalId first (this service's own mapping,
 * then the store's SCIM ExternalIds), so a changed UserName is a rename and not a new person;
 * else by UserName.
 */
import type { ExternalId } from './identity-change';
import type { IdentityStorePort, ProcessingStatePort, StoredUser } from './ports';

export interface PersonLookup {
  identityStore: Pick<IdentityStorePort, 'findUserIdByUserName' | 'findUserIdByExternalId'>;
  state: Pick<ProcessingStatePort, 'getUserIdForExternalId'>;
  /** DescribeUser, or a caller's memo of it. */
  describe(userId: string): Promise<StoredUser | undefined>;
}

export async function findPerson(
  lookup: PersonLookup,
  by: { userName?: string; externalIds: readonly ExternalId[] },
): Promise<{ user?: StoredUser; byExternalId: boolean }> {
  for (const externalId of by.externalIds) {
    const userId = (await lookup.state.getUserIdForExternalId(externalId)) ?? (await lookup.identityStore.findUserIdByExternalId(externalId));
    if (!userId) continue;
    const user = await lookup.describe(userId);
    if (user) return { user, byExternalId: true };
  }
  if (by.userName === undefined) return { byExternalId: false };
  const userId = await lookup.identityStore.findUserIdByUserName(by.userName);
  return { user: userId ? await lookup.describe(userId) : undefined, byExternalId: false };
}
