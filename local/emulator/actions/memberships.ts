/**
 * CreateGroupMembership, DeleteGroupMembership, DescribeGroupMembership, GetGroupMembershipId,
 * IsMemberInGroups, ListGroupMemberships, ListGroupMembershipsForMember.
 */
import { notFound } from '../errors';
import { epochSeconds, newResourceId } from '../ids';
import type { MembershipRecord } from '../store';
import type { ActionContext, ActionHandler } from './context';

const membershipView = (identityStoreId: string, m: MembershipRecord) => ({
  IdentityStoreId: identityStoreId,
  MembershipId: m.MembershipId,
  GroupId: m.GroupId,
  MemberId: { UserId: m.UserId },
  CreatedAt: m.CreatedAt,
  CreatedBy: m.CreatedBy,
  UpdatedAt: m.UpdatedAt,
  UpdatedBy: m.UpdatedBy,
});

function requireGroupAndUser(context: ActionContext, groupId: string | undefined, userId: string): void {
  if (groupId !== undefined && !context.store.groups.has(groupId)) throw notFound('GROUP', groupId);
  if (!context.store.users.has(userId)) throw notFound('USER', userId);
}

function requireMembership(context: ActionContext, membershipId: string): MembershipRecord {
  const membership = context.store.memberships.get(membershipId);
  if (!membership) throw notFound('GROUP_MEMBERSHIP', membershipId);
  return membership;
}

export const createGroupMembership: ActionHandler = (input, context) => {
  const userId: string = input.MemberId.UserId;
  requireGroupAndUser(context, input.GroupId, userId);
  const now = epochSeconds();
  const membership: MembershipRecord = {
    MembershipId: newResourceId(context.identityStoreId),
    GroupId: input.GroupId,
    UserId: userId,
    CreatedAt: now,
    CreatedBy: context.principal,
    UpdatedAt: now,
    UpdatedBy: context.principal,
  };
  context.store.addMembership(membership);
  context.wrote({ action: 'CreateGroupMembership', membershipId: membership.MembershipId, groupId: input.GroupId, userId });
  return { IdentityStoreId: context.identityStoreId, MembershipId: membership.MembershipId };
};

export const deleteGroupMembership: ActionHandler = (input, context) => {
  const membership = requireMembership(context, input.MembershipId);
  context.store.deleteMembership(membership.MembershipId);
  context.wrote({
    action: 'DeleteGroupMembership',
    membershipId: membership.MembershipId,
    groupId: membership.GroupId,
    userId: membership.UserId,
  });
  return {};
};

export const describeGroupMembership: ActionHandler = (input, context) =>
  membershipView(context.identityStoreId, requireMembership(context, input.MembershipId));

export const getGroupMembershipId: ActionHandler = (input, context) => {
  const userId: string = input.MemberId.UserId;
  requireGroupAndUser(context, input.GroupId, userId);
  const membershipId = context.store.findMembershipId(input.GroupId, userId);
  if (membershipId === undefined) throw notFound('GROUP_MEMBERSHIP');
  return { IdentityStoreId: context.identityStoreId, MembershipId: membershipId };
};

/** Groups that do not exist answer MembershipExists: false rather than failing the whole call. */
export const isMemberInGroups: ActionHandler = (input, context) => {
  const userId: string = input.MemberId.UserId;
  requireGroupAndUser(context, undefined, userId);
  return {
    Results: (input.GroupIds as string[]).map((groupId) => ({
      GroupId: groupId,
      MemberId: { UserId: userId },
      MembershipExists: context.store.findMembershipId(groupId, userId) !== undefined,
    })),
  };
};

export const listGroupMemberships: ActionHandler = (input, context) => {
  const groupId: string = input.GroupId;
  if (!context.store.groups.has(groupId)) throw notFound('GROUP', groupId);
  const memberships = context.store.membershipsOf((m) => m.GroupId === groupId);
  const scope = `ListGroupMemberships|${context.identityStoreId}|${groupId}`;
  const page = context.paginator.paginate(memberships, scope, input.MaxResults, input.NextToken);
  return {
    GroupMemberships: page.items.map((m) => membershipView(context.identityStoreId, m)),
    ...(page.nextToken ? { NextToken: page.nextToken } : {}),
  };
};

export const listGroupMembershipsForMember: ActionHandler = (input, context) => {
  const userId: string = input.MemberId.UserId;
  requireGroupAndUser(context, undefined, userId);
  const memberships = context.store.membershipsOf((m) => m.UserId === userId);
  const scope = `ListGroupMembershipsForMember|${context.identityStoreId}|${userId}`;
  const page = context.paginator.paginate(memberships, scope, input.MaxResults, input.NextToken);
  return {
    GroupMemberships: page.items.map((m) => membershipView(context.identityStoreId, m)),
    ...(page.nextToken ? { NextToken: page.nextToken } : {}),
  };
};
