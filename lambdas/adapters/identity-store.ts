/**
 * IdentityStorePort over the AWS Identity Store API, for one identity store and one event.
 *
 * The shared client (identity-store-client.ts) retries and paces; this adapter maps shapes and
 * errors and reports every call (attempts, waits, request ids) through onCall so the caller can
 * total them per event. Error messages it builds never carry user names: any attribute value we
 * sent is redacted from the service's message before it is passed on.
 */
import {
  CreateGroupCommand,
  CreateGroupMembershipCommand,
  CreateUserCommand,
  DeleteGroupCommand,
  DeleteGroupMembershipCommand,
  DeleteUserCommand,
  DescribeGroupCommand,
  DescribeUserCommand,
  GetGroupIdCommand,
  GetGroupMembershipIdCommand,
  GetUserIdCommand,
  ListGroupMembershipsCommand,
  ListGroupMembershipsForMemberCommand,
  ListGroupsCommand,
  UpdateGroupCommand,
  UpdateUserCommand,
  type DescribeUserResponse,
  type GroupMembership,
  type IdentitystoreClient,
} from '@aws-sdk/client-identitystore';
import type { DocumentType, MetadataBearer } from '@smithy/types';
import type { RetryCode } from '../domain/error-codes';
import { RetryableError } from '../domain/errors';
import {
  ENTERPRISE_EXTENSION,
  userAttributesSchema,
  type ExternalId,
  type UserAttributes,
} from '../domain/identity-change';
import {
  AlreadyExistsError,
  InvalidRequestError,
  NotFoundError,
  type AttributeOperation,
  type CallReceipt,
  type IdentityStorePort,
  type Membership,
  type StoredGroup,
  type StoredUser,
} from '../domain/ports';
import { errorNameOf, owedWaitMsOf } from './retry-after-strategy';

/** One Identity Store API call as the caller totals it. */
export interface IdentityStoreCall {
  action: string;
  ok: boolean;
  attempts: number;
  waitedMs: number;
  requestId?: string;
  errorName?: string;
}

export interface IdentityStoreAdapterOptions {
  client: IdentitystoreClient;
  identityStoreId: string;
  onCall?: (call: IdentityStoreCall) => void;
}

/** The attributes a StoredUser carries: exactly the contract's CreateUser fields. */
const USER_ATTRIBUTE_KEYS = Object.keys(userAttributesSchema.shape) as (keyof UserAttributes)[];

/** Values shorter than this are not redacted: they would mangle ordinary words of the message. */
const MIN_REDACTED_LENGTH = 3;

interface ServiceErrorShape {
  message?: string;
  Reason?: string;
  ResourceType?: string;
  $metadata?: { attempts?: number; totalRetryDelay?: number; requestId?: string };
}

const shapeOf = (error: unknown): ServiceErrorShape =>
  typeof error === 'object' && error !== null ? (error as ServiceErrorShape) : {};

export class IdentityStoreAdapter implements IdentityStorePort {
  private readonly client: IdentitystoreClient;
  private readonly identityStoreId: string;
  private readonly onCall: ((call: IdentityStoreCall) => void) | undefined;

  constructor(options: IdentityStoreAdapterOptions) {
    this.client = options.client;
    this.identityStoreId = options.identityStoreId;
    this.onCall = options.onCall;
  }

  // ---- users ----

  async findUserIdByUserName(userName: string): Promise<string | undefined> {
    const output = await this.read('GetUserId', [userName], () =>
      this.client.send(
        new GetUserIdCommand({
          IdentityStoreId: this.identityStoreId,
          AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: userName } },
        }),
      ),
    );
    return output?.UserId;
  }

  async findUserIdByExternalId(externalId: ExternalId): Promise<string | undefined> {
    const output = await this.read('GetUserId', [externalId.Id], () =>
      this.client.send(
        new GetUserIdCommand({
          IdentityStoreId: this.identityStoreId,
          AlternateIdentifier: { ExternalId: { Issuer: externalId.Issuer, Id: externalId.Id } },
        }),
      ),
    );
    return output?.UserId;
  }

  async describeUser(userId: string): Promise<StoredUser | undefined> {
    const output = await this.read('DescribeUser', [], () =>
      this.client.send(
        new DescribeUserCommand({
          IdentityStoreId: this.identityStoreId,
          UserId: userId,
          // Without this the store leaves out the enterprise attributes the contract carries.
          Extensions: [ENTERPRISE_EXTENSION],
        }),
      ),
    );
    return output === undefined ? undefined : toStoredUser(userId, output);
  }

  async createUser(attributes: UserAttributes): Promise<{ userId: string; receipt: CallReceipt }> {
    // CreateUser does not take ExternalIds; an event's user object may still carry them.
    const { ExternalIds: _notAccepted, ...createUserAttributes } = attributes as UserAttributes & {
      ExternalIds?: unknown;
    };
    const { output, receipt } = await this.write('CreateUser', 'USER', stringsIn(createUserAttributes), () =>
      this.client.send(
        new CreateUserCommand({
          IdentityStoreId: this.identityStoreId,
          ...(createUserAttributes as Omit<UserAttributes, 'Extensions'>),
          ...(createUserAttributes.Extensions !== undefined && {
            Extensions: createUserAttributes.Extensions as Record<string, DocumentType>,
          }),
        }),
      ),
    );
    return { userId: requireField(output.UserId, 'CreateUser', 'UserId'), receipt };
  }

  async updateUser(userId: string, operations: AttributeOperation[]): Promise<CallReceipt> {
    const { receipt } = await this.write('UpdateUser', 'USER', stringsIn(operations.map((o) => o.attributeValue)), () =>
      this.client.send(
        new UpdateUserCommand({
          IdentityStoreId: this.identityStoreId,
          UserId: userId,
          Operations: toOperations(operations),
        }),
      ),
    );
    return receipt;
  }

  async deleteUser(userId: string): Promise<CallReceipt> {
    const { receipt } = await this.write('DeleteUser', 'USER', [], () =>
      this.client.send(new DeleteUserCommand({ IdentityStoreId: this.identityStoreId, UserId: userId })),
    );
    return receipt;
  }

  // ---- groups ----

  async findGroupIdByDisplayName(displayName: string): Promise<string | undefined> {
    const output = await this.read('GetGroupId', [], () =>
      this.client.send(
        new GetGroupIdCommand({
          IdentityStoreId: this.identityStoreId,
          AlternateIdentifier: { UniqueAttribute: { AttributePath: 'displayName', AttributeValue: displayName } },
        }),
      ),
    );
    return output?.GroupId;
  }

  async describeGroup(groupId: string): Promise<StoredGroup | undefined> {
    const output = await this.read('DescribeGroup', [], () =>
      this.client.send(new DescribeGroupCommand({ IdentityStoreId: this.identityStoreId, GroupId: groupId })),
    );
    if (output === undefined) return undefined;
    return {
      groupId: output.GroupId ?? groupId,
      displayName: requireField(output.DisplayName, 'DescribeGroup', 'DisplayName'),
      ...(isPresent(output.Description) && { description: output.Description }),
    };
  }

  async createGroup(group: { displayName: string; description?: string }): Promise<{
    groupId: string;
    receipt: CallReceipt;
  }> {
    const { output, receipt } = await this.write('CreateGroup', 'GROUP', [], () =>
      this.client.send(
        new CreateGroupCommand({
          IdentityStoreId: this.identityStoreId,
          DisplayName: group.displayName,
          ...(group.description !== undefined && { Description: group.description }),
        }),
      ),
    );
    return { groupId: requireField(output.GroupId, 'CreateGroup', 'GroupId'), receipt };
  }

  async updateGroup(groupId: string, operations: AttributeOperation[]): Promise<CallReceipt> {
    const { receipt } = await this.write('UpdateGroup', 'GROUP', [], () =>
      this.client.send(
        new UpdateGroupCommand({
          IdentityStoreId: this.identityStoreId,
          GroupId: groupId,
          Operations: toOperations(operations),
        }),
      ),
    );
    return receipt;
  }

  async deleteGroup(groupId: string): Promise<CallReceipt> {
    const { receipt } = await this.write('DeleteGroup', 'GROUP', [], () =>
      this.client.send(new DeleteGroupCommand({ IdentityStoreId: this.identityStoreId, GroupId: groupId })),
    );
    return receipt;
  }

  // ---- memberships ----

  /** All pages. A user the store does not know has no memberships. */
  async listMembershipsForUser(userId: string): Promise<Membership[]> {
    return this.listAllPages('ListGroupMembershipsForMember', (nextToken) =>
      this.client.send(
        new ListGroupMembershipsForMemberCommand({
          IdentityStoreId: this.identityStoreId,
          MemberId: { UserId: userId },
          NextToken: nextToken,
        }),
      ),
    );
  }

  /** Every group, all pages (drift and roster reconcile; the consumer never lists). */
  async listGroups(): Promise<StoredGroup[]> {
    const groups: StoredGroup[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.read('ListGroups', [], () =>
        this.client.send(new ListGroupsCommand({ IdentityStoreId: this.identityStoreId, NextToken: nextToken })),
      );
      if (page === undefined) return groups;
      for (const group of page.Groups ?? []) {
        groups.push({
          groupId: requireField(group.GroupId, 'ListGroups', 'GroupId'),
          displayName: requireField(group.DisplayName, 'ListGroups', 'DisplayName'),
          ...(isPresent(group.Description) && { description: group.Description }),
        });
      }
      nextToken = page.NextToken;
    } while (nextToken !== undefined && nextToken !== '');
    return groups;
  }

  /** All pages. A group the store does not know has no memberships. */
  async listMembershipsInGroup(groupId: string): Promise<Membership[]> {
    return this.listAllPages('ListGroupMemberships', (nextToken) =>
      this.client.send(
        new ListGroupMembershipsCommand({
          IdentityStoreId: this.identityStoreId,
          GroupId: groupId,
          NextToken: nextToken,
        }),
      ),
    );
  }

  async findMembershipId(groupId: string, userId: string): Promise<string | undefined> {
    const output = await this.read('GetGroupMembershipId', [], () =>
      this.client.send(
        new GetGroupMembershipIdCommand({
          IdentityStoreId: this.identityStoreId,
          GroupId: groupId,
          MemberId: { UserId: userId },
        }),
      ),
    );
    return output?.MembershipId;
  }

  async createMembership(groupId: string, userId: string): Promise<{ membershipId: string; receipt: CallReceipt }> {
    const { output, receipt } = await this.write('CreateGroupMembership', 'GROUP_MEMBERSHIP', [], () =>
      this.client.send(
        new CreateGroupMembershipCommand({
          IdentityStoreId: this.identityStoreId,
          GroupId: groupId,
          MemberId: { UserId: userId },
        }),
      ),
    );
    return { membershipId: requireField(output.MembershipId, 'CreateGroupMembership', 'MembershipId'), receipt };
  }

  async deleteMembership(membershipId: string): Promise<CallReceipt> {
    const { receipt } = await this.write('DeleteGroupMembership', 'GROUP_MEMBERSHIP', [], () =>
      this.client.send(
        new DeleteGroupMembershipCommand({ IdentityStoreId: this.identityStoreId, MembershipId: membershipId }),
      ),
    );
    return receipt;
  }

  // ---- plumbing ----

  /** A read: the resource being absent is an answer (undefined), not an error. */
  private async read<Output extends MetadataBearer>(
    action: string,
    sensitiveValues: string[],
    send: () => Promise<Output>,
  ): Promise<Output | undefined> {
    try {
      return await this.call(action, send);
    } catch (error) {
      if (isResourceMissing(error)) return undefined;
      throw toDomainError(error, action, undefined, sensitiveValues);
    }
  }

  private async write<Output extends MetadataBearer>(
    action: string,
    resourceType: string,
    sensitiveValues: string[],
    send: () => Promise<Output>,
  ): Promise<{ output: Output; receipt: CallReceipt }> {
    try {
      const output = await this.call(action, send);
      return { output, receipt: receiptOf(output.$metadata) };
    } catch (error) {
      throw toDomainError(error, action, resourceType, sensitiveValues);
    }
  }

  private async listAllPages(
    action: string,
    sendPage: (nextToken: string | undefined) => Promise<MetadataBearer & {
      GroupMemberships: GroupMembership[] | undefined;
      NextToken?: string;
    }>,
  ): Promise<Membership[]> {
    const memberships: Membership[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.read(action, [], () => sendPage(nextToken));
      // The user or group vanished while we read: so did its memberships.
      if (page === undefined) return [];
      memberships.push(...(page.GroupMemberships ?? []).flatMap(toMembership));
      nextToken = page.NextToken;
    } while (nextToken !== undefined && nextToken !== '');
    return memberships;
  }

  /** Sends one command and reports it, whether it succeeded or not. */
  private async call<Output extends MetadataBearer>(action: string, send: () => Promise<Output>): Promise<Output> {
    try {
      const output = await send();
      this.onCall?.({ action, ok: true, ...receiptOf(output.$metadata) });
      return output;
    } catch (error) {
      this.onCall?.({ action, ok: false, errorName: errorNameOf(error), ...receiptOf(shapeOf(error).$metadata) });
      throw error;
    }
  }
}

function receiptOf(metadata: ServiceErrorShape['$metadata']): CallReceipt {
  return {
    ...(metadata?.requestId !== undefined && { requestId: metadata.requestId }),
    attempts: metadata?.attempts ?? 1,
    waitedMs: metadata?.totalRetryDelay ?? 0,
  };
}

/**
 * ResourceNotFound for the thing asked about. A missing identity store is not "no such user":
 * it is a deployment error and must not read as an empty store.
 */
function isResourceMissing(error: unknown): boolean {
  return errorNameOf(error) === 'ResourceNotFoundException' && shapeOf(error).ResourceType !== 'IDENTITY_STORE';
}

/** Maps an SDK error to the port's errors (see ports.ts and domain/errors.ts). */
export function toDomainError(
  error: unknown,
  action: string,
  resourceType: string | undefined,
  sensitiveValues: string[] = [],
): Error {
  const name = errorNameOf(error);
  const shape = shapeOf(error);
  const serviceMessage = redact(shape.message ?? '', sensitiveValues);
  if (name === 'ConflictException' && shape.Reason === 'UNIQUENESS_CONSTRAINT_VIOLATION') {
    return new AlreadyExistsError(`${action}: ${serviceMessage || 'a resource with the same unique value exists'}`);
  }
  if (isResourceMissing(error)) {
    return new NotFoundError(`${action}: ${serviceMessage || 'resource not found'}`, shape.ResourceType ?? resourceType);
  }
  if (name === 'ValidationException') return new InvalidRequestError(`${action}: ${serviceMessage}`);
  // Throttling, server errors, lost races, network failures the strategy gave up on, and
  // deployment problems (AccessDenied, quota, a missing identity store): not the event's fault,
  // so it goes back to the queue and, if it never clears, to the DLQ with this message.
  return new RetryableError(retryCodeOf(name, shape.ResourceType), `${action} failed: ${name}: ${serviceMessage}`, owedWaitMsOf(error) ?? 0, {
    cause: error,
  });
}

/** The service's (or the network's) error name as one of our codes; the name stays in the message. */
function retryCodeOf(name: string, resourceType: string | undefined): RetryCode {
  switch (name) {
    case 'ThrottlingException':
    case 'ThrottlePauseError':
      return 'IDENTITY_STORE_THROTTLED';
    case 'AccessDeniedException':
      return 'IDENTITY_STORE_ACCESS_DENIED';
    case 'ServiceQuotaExceededException':
      return 'IDENTITY_STORE_QUOTA_EXCEEDED';
    case 'ResourceNotFoundException':
      return resourceType === 'IDENTITY_STORE' ? 'IDENTITY_STORE_NOT_FOUND' : 'IDENTITY_STORE_UNAVAILABLE';
    default:
      return 'IDENTITY_STORE_UNAVAILABLE';
  }
}

function redact(message: string, sensitiveValues: string[]): string {
  return sensitiveValues
    .filter((value) => value.length >= MIN_REDACTED_LENGTH)
    .sort((a, b) => b.length - a.length)
    .reduce((text, value) => text.split(value).join('[redacted]'), message);
}

/** Every string inside a value (attribute values we send), for redaction. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringsIn);
  return [];
}

function toOperations(operations: AttributeOperation[]) {
  return operations.map((operation) => ({
    AttributePath: operation.attributePath,
    // An absent value removes the attribute.
    ...(operation.attributeValue !== undefined && { AttributeValue: operation.attributeValue as DocumentType }),
  }));
}

function toMembership(membership: GroupMembership): Membership[] {
  const userId = membership.MemberId?.UserId;
  if (membership.MembershipId === undefined || membership.GroupId === undefined || userId === undefined) return [];
  return [{ membershipId: membership.MembershipId, groupId: membership.GroupId, userId }];
}

function toStoredUser(userId: string, output: DescribeUserResponse): StoredUser {
  const attributes: Record<string, unknown> = {};
  for (const key of USER_ATTRIBUTE_KEYS) {
    const value = pruneEmpty((output as unknown as Record<string, unknown>)[key]);
    if (value !== undefined) attributes[key] = value;
  }
  return {
    userId: output.UserId ?? userId,
    attributes: attributes as UserAttributes,
    externalIds: (output.ExternalIds ?? []).flatMap(({ Issuer, Id }) =>
      Issuer !== undefined && Id !== undefined ? [{ Issuer, Id }] : [],
    ),
  };
}

/** Drops empty strings, nulls, empty arrays and empty objects, at any depth. */
function pruneEmpty(value: unknown): unknown {
  if (value === null || value === undefined || value === '') return undefined;
  if (Array.isArray(value)) {
    const items = value.map(pruneEmpty).filter((item) => item !== undefined);
    return items.length > 0 ? items : undefined;
  }
  if (typeof value === 'object' && !(value instanceof Date)) {
    const entries = Object.entries(value)
      .map(([key, inner]) => [key, pruneEmpty(inner)] as const)
      .filter(([, inner]) => inner !== undefined);
    return entries.length > 0 ? Object.fromEntries(entries) : undefined;
  }
  return value;
}

function isPresent(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

/** The service always returns these; a response without one is a protocol fault worth retrying. */
function requireField(value: string | undefined, action: string, field: string): string {
  if (value === undefined || value === '') {
    throw new RetryableError('IDENTITY_STORE_UNAVAILABLE', `${action} response has no ${field} (malformed response)`);
  }
  return value;
}
