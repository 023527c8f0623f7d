/** CreateGroup, DescribeGroup, UpdateGroup, DeleteGroup, ListGroups, GetGroupId. */
import { applyOperations, resolveGroupPath } from '../attribute-operations';
import { invalidRequest, notFound, validationError } from '../errors';
import { epochSeconds, newResourceId } from '../ids';
import { isReservedName } from '../shapes';
import type { GroupRecord } from '../store';
import type { ActionContext, ActionHandler, Input } from './context';

function checkGroupAttributes(attributes: { DisplayName?: unknown }): void {
  if (attributes.DisplayName === undefined)
    throw validationError([{ path: 'displayName', rule: 'Member must not be null' }]);
  if (typeof attributes.DisplayName === 'string' && isReservedName(attributes.DisplayName))
    throw validationError([
      { path: 'displayName', rule: 'Member must not be a reserved name (Administrator, AWSAdministrators)' },
    ]);
}

const groupView = (identityStoreId: string, group: GroupRecord) => ({ IdentityStoreId: identityStoreId, ...group });

function requireGroup(context: ActionContext, groupId: string): GroupRecord {
  const group = context.store.groups.get(groupId);
  if (!group) throw notFound('GROUP', groupId);
  return group;
}

export const createGroup: ActionHandler = (input, context) => {
  checkGroupAttributes(input);
  const now = epochSeconds();
  const group: GroupRecord = {
    GroupId: newResourceId(context.identityStoreId),
    DisplayName: input.DisplayName,
    ...(input.Description !== undefined ? { Description: input.Description } : {}),
    CreatedAt: now,
    CreatedBy: context.principal,
    UpdatedAt: now,
    UpdatedBy: context.principal,
  };
  context.store.putGroup(group);
  context.wrote({ action: 'CreateGroup', groupId: group.GroupId, displayName: group.DisplayName });
  return { IdentityStoreId: context.identityStoreId, GroupId: group.GroupId };
};

export const describeGroup: ActionHandler = (input, context) =>
  groupView(context.identityStoreId, requireGroup(context, input.GroupId));

export const updateGroup: ActionHandler = (input, context) => {
  const group = requireGroup(context, input.GroupId);
  const current: Record<string, unknown> = { DisplayName: group.DisplayName };
  if (group.Description !== undefined) current.Description = group.Description;
  const updated = applyOperations(current, input.Operations, resolveGroupPath) as { DisplayName?: string; Description?: string };
  checkGroupAttributes(updated);
  const { Description: _previous, ...rest } = group;
  context.store.putGroup({
    ...rest,
    DisplayName: updated.DisplayName as string,
    ...(updated.Description !== undefined ? { Description: updated.Description } : {}),
    UpdatedAt: epochSeconds(),
    UpdatedBy: context.principal,
  });
  context.wrote({ action: 'UpdateGroup', groupId: group.GroupId });
  return {};
};

export const deleteGroup: ActionHandler = (input, context) => {
  requireGroup(context, input.GroupId);
  const removedMembershipIds = context.store.deleteGroup(input.GroupId);
  context.wrote({ action: 'DeleteGroup', groupId: input.GroupId, removedMembershipIds });
  return {};
};

export const listGroups: ActionHandler = (input, context) => {
  let groups = [...context.store.groups.values()];
  const filter = (input.Filters as { AttributePath: string; AttributeValue: string }[] | undefined)?.[0];
  if (filter) {
    if (filter.AttributePath.toLowerCase() !== 'displayname')
      throw invalidRequest(`Filter AttributePath ${filter.AttributePath} is not supported; ListGroups filters on DisplayName`);
    const groupId = context.store.findGroupIdByDisplayName(filter.AttributeValue);
    groups = groups.filter((g) => g.GroupId === groupId);
  }
  const scope = `ListGroups|${context.identityStoreId}|${filter ? filter.AttributeValue : ''}`;
  const page = context.paginator.paginate(groups, scope, input.MaxResults, input.NextToken);
  return {
    Groups: page.items.map((g) => groupView(context.identityStoreId, g)),
    ...(page.nextToken ? { NextToken: page.nextToken } : {}),
  };
};

export const getGroupId: ActionHandler = (input, context) => {
  const groupId = findGroupId(input, context);
  if (groupId === undefined) throw notFound('GROUP');
  return { IdentityStoreId: context.identityStoreId, GroupId: groupId };
};

function findGroupId(input: Input, context: ActionContext): string | undefined {
  const { ExternalId: externalId, UniqueAttribute: unique } = input.AlternateIdentifier;
  if (externalId) return context.store.findGroupIdByExternalId(externalId);
  if (unique.AttributePath !== 'displayName')
    throw validationError([{ path: 'alternateIdentifier.uniqueAttribute.attributePath', rule: 'Member must be one of [displayName]' }]);
  if (typeof unique.AttributeValue !== 'string')
    throw validationError([{ path: 'alternateIdentifier.uniqueAttribute.attributeValue', rule: 'Member must be a string' }]);
  return context.store.findGroupIdByDisplayName(unique.AttributeValue);
}
