/**
 * The fewest Identity Store calls each kind of change needs, to compare with what the engine
 * makes. How we count (docs/performance.md says the same):
 * - Every write the change requires costs 1 (CreateUser, UpdateUser, CreateGroupMembership...).
 * - Resolving a name to an id costs 1 lookup (GetUserId/GetGroupId) with a cold cache and 0 with
 *   a warm one (this instance looked it up or created it within the id cache's TTL). A lookup
 *   that finds nothing cannot be cached, and an id the service keeps in its own DynamoDB
 *   mapping (ExternalId -> UserId, for people it created) costs 0 either way.
 * - A read counts only when a decision depends on it: an upsert must learn whether the subject
 *   exists (a lookup before creating: an optimistic create would save it for new subjects but
 *   cost an extra call for every existing one) and what it holds now (DescribeUser, so only
 *   what changed is written); a full group list needs the current memberships
 *   (ListGroupMembershipsForMember), except for a user created by this very event.
 * - Answers the service gives for free are used: a Conflict on CreateGroupMembership means "already
 *   a member" (no check first), and DeleteUser/DeleteGroup remove the memberships themselves.
 * - The audit trail's readable names come from the event when it carries them; a deletion by
 *   ExternalId needs one DescribeUser to learn the name it records.
 */

export type CacheState = 'cold' | 'warm';

export type ChangeShape =
  | { kind: 'user.created'; groups: number }
  | { kind: 'user.updated' }
  | { kind: 'user.unchanged' }
  | { kind: 'user.groupsReplaced'; groups: number; added: number; removed: number }
  | { kind: 'user.deletedByExternalId' }
  | { kind: 'group.created' }
  | { kind: 'group.deleted' }
  | { kind: 'membership.added' }
  | { kind: 'membership.removed' };

export interface CallStep {
  action: string;
  count: number;
  why: string;
}

export interface MinimumCalls {
  total: number;
  steps: CallStep[];
}

export function minimumCalls(change: ChangeShape, cache: CacheState): MinimumCalls {
  const lookups = (count: number) => (cache === 'warm' ? 0 : count);
  const steps = stepsFor(change, lookups).filter((step) => step.count > 0);
  return { total: steps.reduce((sum, step) => sum + step.count, 0), steps };
}

function stepsFor(change: ChangeShape, lookups: (count: number) => number): CallStep[] {
  switch (change.kind) {
    case 'user.created':
      return [
        { action: 'GetUserId', count: 1, why: 'is the person there already? (a miss is not cacheable)' },
        { action: 'CreateUser', count: 1, why: 'the write' },
        { action: 'GetGroupId', count: lookups(change.groups), why: 'group ids (cacheable)' },
        { action: 'CreateGroupMembership', count: change.groups, why: 'one per group' },
      ];
    case 'user.updated':
      return [
        { action: 'DescribeUser', count: 1, why: 'what the store holds (id from the ExternalId mapping)' },
        { action: 'UpdateUser', count: 1, why: 'the changed attributes' },
      ];
    case 'user.unchanged':
      return [{ action: 'DescribeUser', count: 1, why: 'to see that nothing differs' }];
    case 'user.groupsReplaced':
      return [
        { action: 'DescribeUser', count: 1, why: 'the upsert carries the user: check its attributes' },
        { action: 'GetGroupId', count: lookups(change.groups), why: 'ids of the desired groups (cacheable)' },
        { action: 'ListGroupMembershipsForMember', count: 1, why: 'current memberships' },
        { action: 'CreateGroupMembership', count: change.added, why: 'groups joined' },
        { action: 'DeleteGroupMembership', count: change.removed, why: 'groups left' },
      ];
    case 'user.deletedByExternalId':
      return [
        { action: 'DescribeUser', count: 1, why: 'the name for the audit trail (id from the ExternalId mapping)' },
        { action: 'DeleteUser', count: 1, why: 'the write; the service removes the memberships' },
      ];
    case 'group.created':
      return [
        { action: 'GetGroupId', count: 1, why: 'is the group there already? (a miss is not cacheable)' },
        { action: 'CreateGroup', count: 1, why: 'the write' },
      ];
    case 'group.deleted':
      return [
        { action: 'GetGroupId', count: lookups(1), why: 'the group id (cacheable)' },
        { action: 'DeleteGroup', count: 1, why: 'the write; the service removes the memberships' },
      ];
    case 'membership.added':
      return [
        { action: 'GetUserId', count: lookups(1), why: 'the user id (cacheable)' },
        { action: 'GetGroupId', count: lookups(1), why: 'the group id (cacheable)' },
        { action: 'CreateGroupMembership', count: 1, why: 'the write; a Conflict means already a member' },
      ];
    case 'membership.removed':
      return [
        { action: 'GetUserId', count: lookups(1), why: 'the user id (cacheable)' },
        { action: 'GetGroupId', count: lookups(1), why: 'the group id (cacheable)' },
        { action: 'GetGroupMembershipId', count: 1, why: 'the membership id DeleteGroupMembership takes' },
        { action: 'DeleteGroupMembership', count: 1, why: 'the write' },
      ];
  }
}
