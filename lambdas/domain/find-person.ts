/**
 * How a person is found, for the engine and for the roster reconcile alike (one rule, so a
 * reconcile finds whom the apply will find): by ExternalId first (this service's own mapping,
 * then the store's SCIM ExternalIds), so a changed UserName is a rename and not a new person;
 * else by UserName.
 *
 * An id a lookup gives may be out of date: the mapping outlives a leaver, and a warm id cache
 * (id-cache.ts) may hold the id of a user deleted or renamed since. DescribeUser is the judge: an
 * id it finds gone (or, for a name, now under another name) is not the person, and the next way
 * of finding them is tried; a name is looked up once more from the service itself.
 */
import type { ExternalId } from './identity-change';
import { sameName } from './names';
import type { IdentityStorePort, ProcessingStatePort, StoredUser } from './ports';

export interface PersonLookup {
  identityStore: Pick<IdentityStorePort, 'findUserIdByUserName' | 'findUserIdByExternalId'>;
  state: Pick<ProcessingStatePort, 'getUserIdForExternalId'>;
  /** DescribeUser, or a caller's memo of it. */
  describe(userId: string): Promise<StoredUser | undefined>;
}

export interface PersonFound {
  user?: StoredUser;
  byExternalId: boolean;
  /** Ids a lookup gave for this person that DescribeUser found gone, in the order they were tried (the mapping's first). */
  gone: string[];
}

export async function findPerson(lookup: PersonLookup, by: { userName?: string; externalIds: readonly ExternalId[] }): Promise<PersonFound> {
  const gone: string[] = [];
  const described = async (userId: string) => {
    const user = await lookup.describe(userId);
    if (!user && !gone.includes(userId)) gone.push(userId);
    return user;
  };
  for (const externalId of by.externalIds) {
    const mapped = await lookup.state.getUserIdForExternalId(externalId);
    const mappedUser = mapped === undefined ? undefined : await described(mapped);
    if (mappedUser) return { user: mappedUser, byExternalId: true, gone };
    // The mapping names nobody who still exists (a leaver): the store's SCIM ExternalIds may.
    const scim = await lookup.identityStore.findUserIdByExternalId(externalId);
    const scimUser = scim === undefined || scim === mapped ? undefined : await described(scim);
    if (scimUser) return { user: scimUser, byExternalId: true, gone };
  }
  if (by.userName === undefined) return { byExternalId: false, gone };
  const userName = by.userName;
  const first = await lookup.identityStore.findUserIdByUserName(userName);
  if (first === undefined) return { byExternalId: false, gone };
  const user = await described(first);
  if (user && sameName(user.attributes.UserName, userName)) return { user, byExternalId: false, gone };
  // The store contradicts the id (a warm cache's): the user is gone, or holds another name now.
  // The name may belong to a newer user: ask the service once more, past any cache.
  const current = await lookup.identityStore.findUserIdByUserName(userName, { fresh: true });
  if (current === undefined) return { byExternalId: false, gone };
  if (current === first) return { user, byExternalId: false, gone };
  return { user: await described(current), byExternalId: false, gone };
}
