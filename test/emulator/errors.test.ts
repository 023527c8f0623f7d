/** Validation, uniqueness and not-found errors as the real SDK sees them. */
import {
  ConflictException,
  CreateGroupCommand,
  CreateGroupMembershipCommand,
  CreateUserCommand,
  DeleteGroupMembershipCommand,
  DescribeGroupCommand,
  DescribeUserCommand,
  GetGroupIdCommand,
  GetGroupMembershipIdCommand,
  GetUserIdCommand,
  IdentitystoreClient,
  ListGroupsCommand,
  ListUsersCommand,
  UpdateGroupCommand,
  UpdateUserCommand,
  ValidationException,
} from '@aws-sdk/client-identitystore';
import type { RunningEmulator } from '../../local/emulator';
import { STORE_ID, clientFor, failureOf, startQuiet, validUser } from './helpers';

let emulator: RunningEmulator;
let client: IdentitystoreClient;
let userId: string;
let groupId: string;
const MISSING_ID = '1234567890-00000000-0000-4000-8000-000000000000';

beforeAll(async () => {
  emulator = await startQuiet();
  client = clientFor(emulator);
  userId = (await client.send(new CreateUserCommand(validUser('taken.name')))).UserId as string;
  groupId = (await client.send(new CreateGroupCommand({ IdentityStoreId: STORE_ID, DisplayName: 'Taken Group' }))).GroupId as string;
});
afterAll(async () => {
  client.destroy();
  await emulator.stop();
});

const validationOf = async (promise: Promise<unknown>) => {
  const error = await failureOf(promise);
  expect(error).toBeInstanceOf(ValidationException);
  expect(error.$metadata.httpStatusCode).toBe(400);
  expect(error.RequestId).toBe(error.$metadata.requestId);
  return error.message;
};

describe('ValidationException', () => {
  it('names a missing required member', async () => {
    const message = await validationOf(client.send(new CreateUserCommand({ IdentityStoreId: STORE_ID, DisplayName: 'No Name', Name: {} })));
    expect(message).toBe("1 validation errors detected: Value at 'userName' failed to satisfy constraint: Member must not be null");
    const noStore = await validationOf(client.send(new DescribeUserCommand({ UserId: userId } as never)));
    expect(noStore).toContain("Value at 'identityStoreId' failed to satisfy constraint: Member must not be null");
  });

  it('names a too long value and an empty one, listing every violation', async () => {
    const message = await validationOf(
      client.send(new CreateUserCommand({ ...validUser('x'.repeat(129)), Name: { FamilyName: '' } })),
    );
    expect(message).toMatch(/^2 validation errors detected: /);
    expect(message).toContain("Value at 'userName' failed to satisfy constraint: Member must have length less than or equal to 128");
    expect(message).toContain("Value at 'name.familyName' failed to satisfy constraint: Member must have length greater than or equal to 1");
  });

  it('names a pattern violation (control character; whitespace in UserName)', async () => {
    const control = await validationOf(client.send(new CreateUserCommand({ ...validUser('ok.name'), Name: { FamilyName: 'bad\u0001' } })));
    expect(control).toBe(
      "1 validation errors detected: Value at 'name.familyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}\\t\\n\\r \\u00A0\\u3000]+",
    );
    const spaced = await validationOf(client.send(new CreateUserCommand(validUser('has space'))));
    expect(spaced).toContain("Value at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern");
    // Spaces, NBSP and ideographic space are fine in text attributes.
    await client.send(new CreateUserCommand({ ...validUser('spaces.ok'), DisplayName: 'A B\u00A0C\u3000D' }));
  });

  it('refuses the reserved names Administrator and AWSAdministrators, case-insensitively', async () => {
    expect(await validationOf(client.send(new CreateUserCommand(validUser('administrator'))))).toContain("'userName'");
    const group = await validationOf(client.send(new CreateGroupCommand({ IdentityStoreId: STORE_ID, DisplayName: 'AWSADMINISTRATORS' })));
    expect(group).toContain("Value at 'displayName' failed to satisfy constraint: Member must not be a reserved name");
    const renamed = await validationOf(
      client.send(new UpdateGroupCommand({ IdentityStoreId: STORE_ID, GroupId: groupId, Operations: [{ AttributePath: 'displayName', AttributeValue: 'Administrator' }] })),
    );
    expect(renamed).toContain('reserved name');
  });

  it('checks identity store and resource id formats', async () => {
    expect(await validationOf(client.send(new DescribeUserCommand({ IdentityStoreId: 'd-XYZ', UserId: userId })))).toContain(
      "Value at 'identityStoreId' failed to satisfy constraint: Member must satisfy regular expression pattern",
    );
    expect(await validationOf(client.send(new DescribeGroupCommand({ IdentityStoreId: STORE_ID, GroupId: 'not-an-id' })))).toContain(
      "Value at 'groupId' failed to satisfy constraint: Member must satisfy regular expression pattern",
    );
    // A UUID identity store id and bare-UUID resource ids are well-formed (then simply not found).
    const error = await failureOf(
      client.send(new DescribeUserCommand({ IdentityStoreId: STORE_ID, UserId: 'a1b2c3d4-5678-90ab-cdef-EEEEEEEEEEEE' })),
    );
    expect(error.name).toBe('ResourceNotFoundException');
  });

  it('enforces MaxResults 1..100 and fixed-size arrays', async () => {
    expect(await validationOf(client.send(new ListUsersCommand({ IdentityStoreId: STORE_ID, MaxResults: 0 })))).toContain(
      "Value at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    expect(await validationOf(client.send(new ListGroupsCommand({ IdentityStoreId: STORE_ID, MaxResults: 101 })))).toContain(
      "Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100",
    );
    expect(
      await validationOf(client.send(new CreateUserCommand({ ...validUser('two.emails'), Emails: [{ Value: 'a@x.com' }, { Value: 'b@x.com' }] }))),
    ).toContain("Value at 'emails' failed to satisfy constraint: Member must have length less than or equal to 1");
    const photos = Array.from({ length: 4 }, (_, i) => ({ Value: `https://x/${i}.png` }));
    expect(await validationOf(client.send(new CreateUserCommand({ ...validUser('many.photos'), Photos: photos })))).toContain(
      "Value at 'photos' failed to satisfy constraint: Member must have length less than or equal to 3",
    );
  });

  it('refuses more than one primary photo, on CreateUser and on UpdateUser; one primary among three is fine', async () => {
    const photo = (i: number, Primary?: boolean) => ({ Value: `https://x/${i}.png`, ...(Primary !== undefined && { Primary }) });
    const rule = "Value at 'photos' failed to satisfy constraint: Member must have at most one element with primary set to true";
    expect(await validationOf(client.send(new CreateUserCommand({ ...validUser('two.primaries'), Photos: [photo(1, true), photo(2, true)] })))).toContain(rule);
    expect(
      await validationOf(client.send(new CreateUserCommand({ ...validUser('three.primaries'), Photos: [photo(1, true), photo(2, true), photo(3, true)] }))),
    ).toContain(rule);
    const created = await client.send(new CreateUserCommand({ ...validUser('one.primary'), Photos: [photo(1, true), photo(2, false), photo(3)] }));
    const update = new UpdateUserCommand({
      IdentityStoreId: STORE_ID,
      UserId: created.UserId!,
      Operations: [{ AttributePath: 'photos', AttributeValue: [photo(1, true), photo(2, true)] }],
    });
    expect(await validationOf(client.send(update))).toContain(rule);
  });

  it('checks UpdateUser/UpdateGroup Operations: count, path pattern, unknown or read-only paths, values, required attributes', async () => {
    const empty = await validationOf(client.send(new UpdateUserCommand({ IdentityStoreId: STORE_ID, UserId: userId, Operations: [] })));
    expect(empty).toContain("Value at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1");
    const tooMany = Array.from({ length: 101 }, () => ({ AttributePath: 'title', AttributeValue: 'x' }));
    expect(await validationOf(client.send(new UpdateUserCommand({ IdentityStoreId: STORE_ID, UserId: userId, Operations: tooMany })))).toContain(
      'Member must have length less than or equal to 100',
    );
    const badPattern = await validationOf(
      client.send(new UpdateUserCommand({ IdentityStoreId: STORE_ID, UserId: userId, Operations: [{ AttributePath: 'name..given', AttributeValue: 'x' }] })),
    );
    expect(badPattern).toContain("Value at 'operations.1.member.attributePath' failed to satisfy constraint: Member must satisfy regular expression pattern");
    const readOnly = await validationOf(
      client.send(
        new UpdateUserCommand({
          IdentityStoreId: STORE_ID,
          UserId: userId,
          Operations: [
            { AttributePath: 'title', AttributeValue: 'fine' },
            { AttributePath: 'externalIds', AttributeValue: [{ Issuer: 'a', Id: 'b' }] },
          ],
        }),
      ),
    );
    expect(readOnly).toContain("Value at 'operations.2.member.attributePath' failed to satisfy constraint: Member must be an updatable attribute path");
    const badValue = await validationOf(
      client.send(new UpdateUserCommand({ IdentityStoreId: STORE_ID, UserId: userId, Operations: [{ AttributePath: 'name.givenName', AttributeValue: '' }] })),
    );
    expect(badValue).toContain("Value at 'name.givenName' failed to satisfy constraint: Member must have length greater than or equal to 1");
    const removeRequired = await validationOf(
      client.send(new UpdateUserCommand({ IdentityStoreId: STORE_ID, UserId: userId, Operations: [{ AttributePath: 'displayName' }] })),
    );
    expect(removeRequired).toContain("Value at 'displayName' failed to satisfy constraint: Member must not be null");
    const groupPath = await validationOf(
      client.send(new UpdateGroupCommand({ IdentityStoreId: STORE_ID, GroupId: groupId, Operations: [{ AttributePath: 'title', AttributeValue: 'x' }] })),
    );
    expect(groupPath).toContain('Member must be an updatable attribute path');
    // Nothing was applied by the refused updates.
    const user = await client.send(new DescribeUserCommand({ IdentityStoreId: STORE_ID, UserId: userId }));
    expect(user.Title).toBeUndefined();
    expect(user.DisplayName).toBe('taken.name Display');
  });

  it('refuses unknown extensions on create, describe, list and update', async () => {
    const create = await validationOf(
      client.send(new CreateUserCommand({ ...validUser('ext.user'), Extensions: { 'aws:identitystore:custom': { a: 1 } } })),
    );
    expect(create).toContain("Value at 'extensions.aws:identitystore:custom.key' failed to satisfy constraint: Member must be a supported extension name");
    expect(
      await validationOf(client.send(new DescribeUserCommand({ IdentityStoreId: STORE_ID, UserId: userId, Extensions: ['aws:identitystore:other'] }))),
    ).toContain("Value at 'extensions.1.member'");
    expect(await validationOf(client.send(new ListUsersCommand({ IdentityStoreId: STORE_ID, Extensions: ['custom'] })))).toContain(
      'Member must satisfy regular expression pattern: aws:identitystore:[a-z]{1,20}',
    );
    expect(
      await validationOf(
        client.send(new UpdateUserCommand({ IdentityStoreId: STORE_ID, UserId: userId, Operations: [{ AttributePath: 'aws:identitystore:other.x', AttributeValue: 'y' }] })),
      ),
    ).toContain('supported extension');
  });

  it('checks the AlternateIdentifier union and its paths, and the deprecated Filters', async () => {
    expect(await validationOf(client.send(new GetUserIdCommand({ IdentityStoreId: STORE_ID, AlternateIdentifier: {} as never })))).toContain(
      "Value at 'alternateIdentifier' failed to satisfy constraint: Member must have exactly one of",
    );
    expect(
      await validationOf(
        client.send(new GetUserIdCommand({ IdentityStoreId: STORE_ID, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'title', AttributeValue: 'x' } } })),
      ),
    ).toContain('Member must be one of [userName, emails.value]');
    expect(
      await validationOf(
        client.send(new GetGroupIdCommand({ IdentityStoreId: STORE_ID, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'description', AttributeValue: 'x' } } })),
      ),
    ).toContain('Member must be one of [displayName]');
    const twoFilters = [
      { AttributePath: 'UserName', AttributeValue: 'a' },
      { AttributePath: 'UserName', AttributeValue: 'b' },
    ];
    expect(await validationOf(client.send(new ListUsersCommand({ IdentityStoreId: STORE_ID, Filters: twoFilters })))).toContain(
      "Value at 'filters' failed to satisfy constraint: Member must have length less than or equal to 1",
    );
    expect(
      await validationOf(client.send(new ListGroupsCommand({ IdentityStoreId: STORE_ID, Filters: [{ AttributePath: 'Description', AttributeValue: 'x' }] }))),
    ).toContain('ListGroups filters on DisplayName');
  });
});

describe('ConflictException UNIQUENESS_CONSTRAINT_VIOLATION', () => {
  const conflictOf = async (promise: Promise<unknown>) => {
    const error = await failureOf(promise);
    expect(error).toBeInstanceOf(ConflictException);
    expect(error.Reason).toBe('UNIQUENESS_CONSTRAINT_VIOLATION');
    expect(error.$metadata.httpStatusCode).toBe(409);
  };

  it('for a UserName in another case, a group DisplayName, a membership pair and a rename onto a taken name', async () => {
    await conflictOf(client.send(new CreateUserCommand(validUser('TAKEN.NAME'))));
    await conflictOf(client.send(new CreateGroupCommand({ IdentityStoreId: STORE_ID, DisplayName: 'Taken Group' })));
    await client.send(new CreateGroupMembershipCommand({ IdentityStoreId: STORE_ID, GroupId: groupId, MemberId: { UserId: userId } }));
    await conflictOf(client.send(new CreateGroupMembershipCommand({ IdentityStoreId: STORE_ID, GroupId: groupId, MemberId: { UserId: userId } })));
    const other = (await client.send(new CreateUserCommand(validUser('other.user')))).UserId as string;
    await conflictOf(
      client.send(new UpdateUserCommand({ IdentityStoreId: STORE_ID, UserId: other, Operations: [{ AttributePath: 'userName', AttributeValue: 'Taken.Name' }] })),
    );
    const unchanged = await client.send(new DescribeUserCommand({ IdentityStoreId: STORE_ID, UserId: other }));
    expect(unchanged.UserName).toBe('other.user');
  });

  it('for a seeded ExternalId that is already used', () => {
    const externalId = { Issuer: 'hr', Id: 'dup-1' };
    emulator.seedUser(STORE_ID, { ...validUser('seed.one'), ExternalIds: [externalId] });
    expect(() => emulator.seedUser(STORE_ID, { ...validUser('seed.two'), ExternalIds: [externalId] })).toThrow(/Duplicate ExternalId/);
  });
});

describe('ResourceNotFoundException', () => {
  const notFoundOf = async (promise: Promise<unknown>, resourceType: string, resourceId?: string) => {
    const error = await failureOf(promise);
    expect(error.name).toBe('ResourceNotFoundException');
    expect(error.$metadata.httpStatusCode).toBe(404);
    expect(error.ResourceType).toBe(resourceType);
    expect(error.ResourceId).toBe(resourceId);
  };

  it('carries ResourceType USER, GROUP, GROUP_MEMBERSHIP and IDENTITY_STORE', async () => {
    await notFoundOf(client.send(new DescribeUserCommand({ IdentityStoreId: STORE_ID, UserId: MISSING_ID })), 'USER', MISSING_ID);
    await notFoundOf(client.send(new DescribeGroupCommand({ IdentityStoreId: STORE_ID, GroupId: MISSING_ID })), 'GROUP', MISSING_ID);
    await notFoundOf(
      client.send(new DeleteGroupMembershipCommand({ IdentityStoreId: STORE_ID, MembershipId: MISSING_ID })),
      'GROUP_MEMBERSHIP',
      MISSING_ID,
    );
    await notFoundOf(
      client.send(new CreateGroupMembershipCommand({ IdentityStoreId: STORE_ID, GroupId: groupId, MemberId: { UserId: MISSING_ID } })),
      'USER',
      MISSING_ID,
    );
    const loner = (await client.send(new CreateUserCommand(validUser('loner')))).UserId as string;
    await notFoundOf(
      client.send(new GetGroupMembershipIdCommand({ IdentityStoreId: STORE_ID, GroupId: groupId, MemberId: { UserId: loner } })),
      'GROUP_MEMBERSHIP',
    );
    await notFoundOf(
      client.send(new GetUserIdCommand({ IdentityStoreId: STORE_ID, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'nobody' } } })),
      'USER',
    );
    await notFoundOf(
      client.send(new ListUsersCommand({ IdentityStoreId: 'd-9999999999' })),
      'IDENTITY_STORE',
      'd-9999999999',
    );
  });
});
