/**
 * The managed scope as the Identity Store holds it now: the groups this service manages, their
 * members, and (on request) the users concerned. Read-only, and reading as little as it can:
 * one ListGroups walk, one ListGroupMemberships per managed group, and DescribeUser only for the
 * users the caller names. Drift detection and roster reconcile read it; neither writes through it.
 */
import { isInManagedScope, type ManagedGroupScope } from './managed-scope';
import type { IdentityStorePort, ProcessingStatePort, StoredUser } from './ports';

export interface ManagedMember {
  userId: string;
  membershipId: string;
}

export interface ManagedGroup {
  groupId: string;
  displayName: string;
  description?: string;
  members: ManagedMember[];
}

export interface ManagedView {
  /** The managed groups, in display-name order (stable output for people and tests). */
  groups: ManagedGroup[];
  /** Users described so far, by id; `undefined` means the store has no such user. */
  users: Map<string, StoredUser | undefined>;
  /** Every group id the store listed, managed or not: whether a group the service made still exists. */
  storeGroupIds: Set<string>;
}

export interface ReadManagedViewOptions {
  /** Describe these users too (by id); more can be added later with describeUsers. */
  describe?: Iterable<string>;
  /** `members`: describe every member of every managed group (a roster needs their names). */
  describeMembers?: boolean;
  /**
   * Awaited before each group's memberships are read and between user descriptions, so a
   * scheduled reader can give way to event processing (the handler waits while queues have work).
   */
  pause?: () => Promise<void>;
}

/** Users described between two pauses: a pause per user would make a long read needlessly slow. */
export const USERS_PER_PAUSE = 20;

export async function readManagedView(
  identityStore: IdentityStorePort,
  state: ProcessingStatePort,
  scope: ManagedGroupScope,
  options: ReadManagedViewOptions = {},
): Promise<ManagedView> {
  const pause = options.pause ?? (async () => undefined);
  const groups: ManagedGroup[] = [];
  const listed = await identityStore.listGroups();
  for (const group of listed) {
    if (!(await isManaged(scope, group, state))) continue;
    await pause();
    const members = (await identityStore.listMembershipsInGroup(group.groupId)).map(({ userId, membershipId }) => ({ userId, membershipId }));
    groups.push({
      groupId: group.groupId,
      displayName: group.displayName,
      ...(group.description !== undefined && { description: group.description }),
      members,
    });
  }
  groups.sort((a, b) => (a.displayName < b.displayName ? -1 : a.displayName > b.displayName ? 1 : 0));
  const view: ManagedView = { groups, users: new Map(), storeGroupIds: new Set(listed.map((group) => group.groupId)) };
  const wanted = new Set(options.describe ?? []);
  if (options.describeMembers) for (const group of groups) for (const member of group.members) wanted.add(member.userId);
  await describeUsers(identityStore, view, wanted, pause);
  return view;
}

/** Describes the users not described yet, into `view.users` (each at most once). */
export async function describeUsers(
  identityStore: IdentityStorePort,
  view: ManagedView,
  userIds: Iterable<string>,
  pause: () => Promise<void> = async () => undefined,
): Promise<void> {
  let sincePause = 0;
  for (const userId of new Set(userIds)) {
    if (view.users.has(userId)) continue;
    if (sincePause === USERS_PER_PAUSE) {
      await pause();
      sincePause = 0;
    }
    view.users.set(userId, await identityStore.describeUser(userId));
    sincePause++;
  }
}

/**
 * In scope as the engine decides it, read-only: with the default scope, a group whose creation
 * this service recorded setting out to do is ours even when its managed mark was lost (the engine
 * would mark it on its next change; a reader does not write).
 */
async function isManaged(scope: ManagedGroupScope, group: { groupId: string; displayName: string }, state: ProcessingStatePort): Promise<boolean> {
  if (await isInManagedScope(scope, group, state)) return true;
  return scope.kind === 'created' && (await state.hasGroupCreationIntent(group.displayName));
}

/** The managed group with this id, if the view has it. */
export function groupById(view: ManagedView, groupId: string): ManagedGroup | undefined {
  return view.groups.find((group) => group.groupId === groupId);
}
