/**
 * Request shapes of the 19 actions, with the constraints of the Identity Store API Reference
 * (its request syntax and constraints, with the patterns corrected where the reference's regexes
 * contradict the service's CloudFormation schemas; docs/emulator.md lists the deviations).
 */
import type { Shape } from './validation';

/** Letters, marks, symbols, numbers, punctuation, tab/CR/LF, space, NBSP, ideographic space (SensitiveStringType). */
export const TEXT_PATTERN = /^[\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r \u00A0\u3000]+$/u;
/**
 * A group's DisplayName (GroupDisplayName): the same without the ideographic space. The
 * reference lists what it may hold: "letters, accented characters, symbols, numbers,
 * punctuation, tab, new line, carriage return, space, and nonbreaking space".
 */
export const GROUP_DISPLAY_NAME_PATTERN = /^[\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r \u00A0]+$/u;
/** UserName and ExternalId parts: the same without any whitespace. */
export const NAME_PATTERN = /^[\p{L}\p{M}\p{S}\p{N}\p{P}]+$/u;
export const IDENTITY_STORE_ID_PATTERN =
  /^d-[0-9a-f]{10}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const RESOURCE_ID_PATTERN =
  /^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$/;
/** Plain paths (`name.givenName`) or an extension namespace path (`aws:identitystore:enterprise.costCenter`). */
export const ATTRIBUTE_PATH_PATTERN = /^(?:\p{L}+(?::\p{L}+){1,2}(?:\.\p{L}+){0,3}|\p{L}+(?:\.\p{L}+){0,2})$/u;
export const EXTENSION_NAME_PATTERN = /^aws:identitystore:[a-z]{1,20}$/;
export const NEXT_TOKEN_PATTERN = /^[-a-zA-Z0-9+=/:_]*$/;

export const ENTERPRISE_EXTENSION = 'aws:identitystore:enterprise';
export const SUPPORTED_EXTENSIONS: readonly string[] = [ENTERPRISE_EXTENSION];
export const RESERVED_NAMES: readonly string[] = ['administrator', 'awsadministrators'];

const text = (max = 1024): Shape => ({ type: 'string', min: 1, max, pattern: TEXT_PATTERN });
const structure = (members: Record<string, Shape>, required: string[] = []): Shape => ({
  type: 'structure',
  members,
  required,
});
const identityStoreId: Shape = { type: 'string', min: 1, max: 36, pattern: IDENTITY_STORE_ID_PATTERN };
const resourceId: Shape = { type: 'string', min: 1, max: 47, pattern: RESOURCE_ID_PATTERN };
const maxResults: Shape = { type: 'integer', min: 1, max: 100 };
const nextToken: Shape = { type: 'string', min: 1, max: 65535, pattern: NEXT_TOKEN_PATTERN };
export const userNameShape: Shape = { type: 'string', min: 1, max: 128, pattern: NAME_PATTERN };
const extensionName: Shape = { type: 'string', min: 1, max: 50, pattern: EXTENSION_NAME_PATTERN };
const extensionNames: Shape = { type: 'list', member: extensionName, min: 1, max: 10 };
const memberId: Shape = { type: 'structure', members: { UserId: resourceId }, union: true };

const typedValue = structure({ Value: text(), Type: text(), Primary: { type: 'boolean' } });
export const nameShape = structure({
  Formatted: text(),
  FamilyName: text(),
  GivenName: text(),
  MiddleName: text(),
  HonorificPrefix: text(),
  HonorificSuffix: text(),
});
const addressShape = structure({
  StreetAddress: text(),
  Locality: text(),
  Region: text(),
  PostalCode: text(),
  Country: text(),
  Formatted: text(),
  Type: text(),
  Primary: { type: 'boolean' },
});
const photoShape = structure({ Value: text(), Type: text(), Display: text(), Primary: { type: 'boolean' } }, ['Value']);
const exactlyOne = (member: Shape): Shape => ({ type: 'list', member, min: 1, max: 1 });
export const externalIdShape = structure(
  { Issuer: { type: 'string', min: 1, max: 256, pattern: NAME_PATTERN }, Id: { type: 'string', min: 1, max: 256, pattern: NAME_PATTERN } },
  ['Issuer', 'Id'],
);

/** User attributes that CreateUser takes and UpdateUser can set (by camelCase path). */
export const userAttributeShapes: Record<string, Shape> = {
  UserName: userNameShape,
  Name: nameShape,
  DisplayName: text(),
  NickName: text(),
  ProfileUrl: text(),
  Emails: exactlyOne(typedValue),
  Addresses: exactlyOne(addressShape),
  PhoneNumbers: exactlyOne(typedValue),
  UserType: text(),
  Title: text(),
  PreferredLanguage: text(),
  Locale: text(),
  Timezone: text(),
  Photos: { type: 'list', member: photoShape, min: 1, max: 3 },
  Website: text(),
  Birthdate: text(),
  Roles: exactlyOne(typedValue),
  // A map of 1..10 entries: an empty one is refused like an empty list.
  Extensions: { type: 'map', key: extensionName, value: { type: 'object' }, min: 1, max: 10 },
};

/** Attributes UpdateUser may change that CreateUser does not take. */
export const userUpdateOnlyShapes: Record<string, Shape> = {
  UserStatus: { type: 'string', enum: ['ENABLED', 'DISABLED'] },
};

/** CreateUser requires these: the reference says DisplayName and Name are required in IAM Identity Center. */
export const REQUIRED_USER_ATTRIBUTES: readonly string[] = ['UserName', 'DisplayName', 'Name'];

export const groupAttributeShapes: Record<string, Shape> = {
  DisplayName: { type: 'string', min: 1, max: 1024, pattern: GROUP_DISPLAY_NAME_PATTERN },
  Description: text(),
};
export const REQUIRED_GROUP_ATTRIBUTES: readonly string[] = ['DisplayName'];

const filters: Shape = {
  type: 'list',
  member: structure(
    { AttributePath: { type: 'string', min: 1, max: 255, pattern: ATTRIBUTE_PATH_PATTERN }, AttributeValue: text() },
    ['AttributePath', 'AttributeValue'],
  ),
  min: 0,
  max: 1,
};
const operations: Shape = {
  type: 'list',
  member: structure(
    { AttributePath: { type: 'string', min: 1, max: 255, pattern: ATTRIBUTE_PATH_PATTERN }, AttributeValue: { type: 'document' } },
    ['AttributePath'],
  ),
  min: 1,
  max: 100,
};
const alternateIdentifier: Shape = {
  type: 'structure',
  union: true,
  members: {
    ExternalId: externalIdShape,
    UniqueAttribute: structure(
      { AttributePath: { type: 'string', min: 1, max: 255, pattern: ATTRIBUTE_PATH_PATTERN }, AttributeValue: { type: 'document' } },
      ['AttributePath', 'AttributeValue'],
    ),
  },
};

export const requestShapes = {
  CreateGroup: structure({ IdentityStoreId: identityStoreId, ...groupAttributeShapes }, ['IdentityStoreId', ...REQUIRED_GROUP_ATTRIBUTES]),
  CreateGroupMembership: structure({ IdentityStoreId: identityStoreId, GroupId: resourceId, MemberId: memberId }, [
    'IdentityStoreId',
    'GroupId',
    'MemberId',
  ]),
  CreateUser: structure({ IdentityStoreId: identityStoreId, ...userAttributeShapes }, ['IdentityStoreId', ...REQUIRED_USER_ATTRIBUTES]),
  DeleteGroup: structure({ IdentityStoreId: identityStoreId, GroupId: resourceId }, ['IdentityStoreId', 'GroupId']),
  DeleteGroupMembership: structure({ IdentityStoreId: identityStoreId, MembershipId: resourceId }, ['IdentityStoreId', 'MembershipId']),
  DeleteUser: structure({ IdentityStoreId: identityStoreId, UserId: resourceId }, ['IdentityStoreId', 'UserId']),
  DescribeGroup: structure({ IdentityStoreId: identityStoreId, GroupId: resourceId }, ['IdentityStoreId', 'GroupId']),
  DescribeGroupMembership: structure({ IdentityStoreId: identityStoreId, MembershipId: resourceId }, ['IdentityStoreId', 'MembershipId']),
  DescribeUser: structure({ IdentityStoreId: identityStoreId, UserId: resourceId, Extensions: extensionNames }, ['IdentityStoreId', 'UserId']),
  GetGroupId: structure({ IdentityStoreId: identityStoreId, AlternateIdentifier: alternateIdentifier }, ['IdentityStoreId', 'AlternateIdentifier']),
  GetGroupMembershipId: structure({ IdentityStoreId: identityStoreId, GroupId: resourceId, MemberId: memberId }, [
    'IdentityStoreId',
    'GroupId',
    'MemberId',
  ]),
  GetUserId: structure({ IdentityStoreId: identityStoreId, AlternateIdentifier: alternateIdentifier }, ['IdentityStoreId', 'AlternateIdentifier']),
  IsMemberInGroups: structure(
    { IdentityStoreId: identityStoreId, MemberId: memberId, GroupIds: { type: 'list', member: resourceId, min: 1, max: 100 } },
    ['IdentityStoreId', 'MemberId', 'GroupIds'],
  ),
  ListGroupMemberships: structure(
    { IdentityStoreId: identityStoreId, GroupId: resourceId, MaxResults: maxResults, NextToken: nextToken },
    ['IdentityStoreId', 'GroupId'],
  ),
  ListGroupMembershipsForMember: structure(
    { IdentityStoreId: identityStoreId, MemberId: memberId, MaxResults: maxResults, NextToken: nextToken },
    ['IdentityStoreId', 'MemberId'],
  ),
  ListGroups: structure({ IdentityStoreId: identityStoreId, MaxResults: maxResults, NextToken: nextToken, Filters: filters }, ['IdentityStoreId']),
  ListUsers: structure(
    { IdentityStoreId: identityStoreId, Extensions: extensionNames, MaxResults: maxResults, NextToken: nextToken, Filters: filters },
    ['IdentityStoreId'],
  ),
  UpdateGroup: structure({ IdentityStoreId: identityStoreId, GroupId: resourceId, Operations: operations }, [
    'IdentityStoreId',
    'GroupId',
    'Operations',
  ]),
  UpdateUser: structure({ IdentityStoreId: identityStoreId, UserId: resourceId, Operations: operations }, [
    'IdentityStoreId',
    'UserId',
    'Operations',
  ]),
} satisfies Record<string, Shape>;

export type ActionName = keyof typeof requestShapes;
export const ACTION_NAMES = Object.keys(requestShapes) as ActionName[];

export const WRITE_ACTIONS: ReadonlySet<ActionName> = new Set<ActionName>([
  'CreateGroup',
  'CreateGroupMembership',
  'CreateUser',
  'DeleteGroup',
  'DeleteGroupMembership',
  'DeleteUser',
  'UpdateGroup',
  'UpdateUser',
]);

export const isReservedName = (value: string) => RESERVED_NAMES.includes(value.toLowerCase());
