/** The handler of each of the 19 actions. */
import type { ActionName } from '../shapes';
import type { ActionHandler } from './context';
import { createGroup, deleteGroup, describeGroup, getGroupId, listGroups, updateGroup } from './groups';
import {
  createGroupMembership,
  deleteGroupMembership,
  describeGroupMembership,
  getGroupMembershipId,
  isMemberInGroups,
  listGroupMemberships,
  listGroupMembershipsForMember,
} from './memberships';
import { createUser, deleteUser, describeUser, getUserId, listUsers, updateUser } from './users';

export const actionHandlers: Record<ActionName, ActionHandler> = {
  CreateGroup: createGroup,
  CreateGroupMembership: createGroupMembership,
  CreateUser: createUser,
  DeleteGroup: deleteGroup,
  DeleteGroupMembership: deleteGroupMembership,
  DeleteUser: deleteUser,
  DescribeGroup: describeGroup,
  DescribeGroupMembership: describeGroupMembership,
  DescribeUser: describeUser,
  GetGroupId: getGroupId,
  GetGroupMembershipId: getGroupMembershipId,
  GetUserId: getUserId,
  IsMemberInGroups: isMemberInGroups,
  ListGroupMemberships: listGroupMemberships,
  ListGroupMembershipsForMember: listGroupMembershipsForMember,
  ListGroups: listGroups,
  ListUsers: listUsers,
  UpdateGroup: updateGroup,
  UpdateUser: updateUser,
};

export type { ActionContext, WriteNote } from './context';
export { insertUser } from './users';
