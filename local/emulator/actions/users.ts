/** CreateUser, DescribeUser, UpdateUser, DeleteUser, ListUsers, GetUserId. */
import { invalidRequest, notFound, validationError } from '../errors';
import { applyOperations, resolveUserPath } from '../attribute-operations';
import { epochSeconds, newResourceId } from '../ids';
import { REQUIRED_USER_ATTRIBUTES, SUPPORTED_EXTENSIONS, isReservedName, userAttributeShapes } from '../shapes';
import type { ExternalId, UserRecord } from '../store';
import { memberPath } from '../validation';
import type { ActionContext, ActionHandler, Input } from './context';

const CREATE_USER_MEMBERS = Object.keys(userAttributeShapes);

/**
 * Rules beyond the shape: reserved names, supported extensions, one primary photo at most (the API
 * reference: "only one photo can be designated as primary per user"), required attributes after an
 * update.
 */
export function checkUserAttributes(attributes: Record<string, unknown>): void {
  const violations = REQUIRED_USER_ATTRIBUTES.filter((name) => attributes[name] === undefined).map((name) => ({
    path: memberPath('', name),
    rule: 'Member must not be null',
  }));
  const userName = attributes.UserName;
  if (typeof userName === 'string' && isReservedName(userName))
    violations.push({ path: 'userName', rule: 'Member must not be a reserved name (Administrator, AWSAdministrators)' });
  const photos = Array.isArray(attributes.Photos) ? (attributes.Photos as { Primary?: unknown }[]) : [];
  if (photos.filter((photo) => photo?.Primary === true).length > 1)
    violations.push({ path: 'photos', rule: 'Member must have at most one element with primary set to true' });
  for (const extension of Object.keys((attributes.Extensions as object | undefined) ?? {})) {
    if (!SUPPORTED_EXTENSIONS.includes(extension))
      violations.push({ path: `extensions.${extension}.key`, rule: `Member must be a supported extension name [${SUPPORTED_EXTENSIONS.join(', ')}]` });
  }
  if (violations.length > 0) throw validationError(violations);
}

export function checkRequestedExtensions(extensions: string[] | undefined): void {
  const unsupported = (extensions ?? []).flatMap((name, index) =>
    SUPPORTED_EXTENSIONS.includes(name)
      ? []
      : [{ path: `extensions.${index + 1}.member`, rule: `Member must be a supported extension name [${SUPPORTED_EXTENSIONS.join(', ')}]` }],
  );
  if (unsupported.length > 0) throw validationError(unsupported);
}

/** The user as Describe/List return it: Extensions only when the request asked for them. */
export function userView(identityStoreId: string, user: UserRecord, requestedExtensions: string[] | undefined) {
  const { Extensions, ...attributes } = user.attributes as { Extensions?: Record<string, unknown>; UserStatus?: string };
  const view: Record<string, unknown> = {
    IdentityStoreId: identityStoreId,
    UserId: user.UserId,
    ...attributes,
    UserStatus: attributes.UserStatus ?? 'ENABLED',
    CreatedAt: user.CreatedAt,
    CreatedBy: user.CreatedBy,
    UpdatedAt: user.UpdatedAt,
    UpdatedBy: user.UpdatedBy,
  };
  if (user.ExternalIds?.length) view.ExternalIds = user.ExternalIds;
  const returned = Object.fromEntries(
    Object.entries(Extensions ?? {}).filter(([name]) => requestedExtensions?.includes(name)),
  );
  if (Object.keys(returned).length > 0) view.Extensions = returned;
  return view;
}

function requireUser(context: ActionContext, userId: string): UserRecord {
  const user = context.store.users.get(userId);
  if (!user) throw notFound('USER', userId);
  return user;
}

/** Build and store a new user; shared by CreateUser and the admin seed (which may carry ExternalIds). */
export function insertUser(
  context: Pick<ActionContext, 'identityStoreId' | 'store' | 'principal'>,
  attributes: Record<string, unknown>,
  externalIds?: ExternalId[],
): UserRecord {
  checkUserAttributes(attributes);
  const now = epochSeconds();
  const user: UserRecord = {
    UserId: newResourceId(context.identityStoreId),
    attributes: { ...attributes, UserStatus: 'ENABLED' },
    ...(externalIds?.length ? { ExternalIds: externalIds } : {}),
    CreatedAt: now,
    CreatedBy: context.principal,
    UpdatedAt: now,
    UpdatedBy: context.principal,
  };
  context.store.putUser(user);
  return user;
}

export const createUser: ActionHandler = (input, context) => {
  if (input.ExternalIds !== undefined)
    throw invalidRequest('ExternalIds cannot be set through CreateUser; they are set by SCIM provisioning');
  const attributes = Object.fromEntries(
    CREATE_USER_MEMBERS.filter((name) => input[name] !== undefined).map((name) => [name, input[name]]),
  );
  const user = insertUser(context, attributes);
  context.wrote({ action: 'CreateUser', userId: user.UserId, userName: String(user.attributes.UserName) });
  return { IdentityStoreId: context.identityStoreId, UserId: user.UserId };
};

export const describeUser: ActionHandler = (input, context) => {
  checkRequestedExtensions(input.Extensions);
  return userView(context.identityStoreId, requireUser(context, input.UserId), input.Extensions);
};

export const updateUser: ActionHandler = (input, context) => {
  const user = requireUser(context, input.UserId);
  const attributes = applyOperations(user.attributes, input.Operations, resolveUserPath);
  checkUserAttributes(attributes);
  context.store.putUser({ ...user, attributes, UpdatedAt: epochSeconds(), UpdatedBy: context.principal });
  context.wrote({ action: 'UpdateUser', userId: user.UserId });
  return {};
};

export const deleteUser: ActionHandler = (input, context) => {
  requireUser(context, input.UserId);
  const removedMembershipIds = context.store.deleteUser(input.UserId);
  context.wrote({ action: 'DeleteUser', userId: input.UserId, removedMembershipIds });
  return {};
};

export const listUsers: ActionHandler = (input, context) => {
  checkRequestedExtensions(input.Extensions);
  let users = [...context.store.users.values()];
  const filter = (input.Filters as { AttributePath: string; AttributeValue: string }[] | undefined)?.[0];
  if (filter) {
    if (filter.AttributePath.toLowerCase() !== 'username')
      throw invalidRequest(`Filter AttributePath ${filter.AttributePath} is not supported; ListUsers filters on UserName`);
    const userId = context.store.findUserIdByUserName(filter.AttributeValue);
    users = users.filter((u) => u.UserId === userId);
  }
  const scope = `ListUsers|${context.identityStoreId}|${filter ? filter.AttributeValue : ''}`;
  const page = context.paginator.paginate(users, scope, input.MaxResults, input.NextToken);
  return {
    Users: page.items.map((u) => userView(context.identityStoreId, u, input.Extensions)),
    ...(page.nextToken ? { NextToken: page.nextToken } : {}),
  };
};

export const getUserId: ActionHandler = (input, context) => {
  const userId = findUserId(input, context);
  if (userId === undefined) throw notFound('USER');
  return { IdentityStoreId: context.identityStoreId, UserId: userId };
};

function findUserId(input: Input, context: ActionContext): string | undefined {
  const { ExternalId: externalId, UniqueAttribute: unique } = input.AlternateIdentifier;
  if (externalId) return context.store.findUserIdByExternalId(externalId);
  const path = unique.AttributePath as string;
  const value = unique.AttributeValue as unknown;
  if (typeof value !== 'string')
    throw validationError([{ path: 'alternateIdentifier.uniqueAttribute.attributeValue', rule: 'Member must be a string' }]);
  if (path === 'userName') return context.store.findUserIdByUserName(value);
  if (path === 'emails.value') return context.store.findUserIdByEmail(value);
  throw validationError([
    { path: 'alternateIdentifier.uniqueAttribute.attributePath', rule: "Member must be one of [userName, emails.value]" },
  ]);
}
