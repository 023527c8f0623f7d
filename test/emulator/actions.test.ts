/** Every action's happy path through the real SDK, plus pagination, extensions and delete cascades. */
import {
  CreateGroupCommand,
  CreateGroupMembershipCommand,
  CreateUserCommand,
  DeleteGroupCommand,
  DeleteGroupMembershipCommand,
  DeleteUserCommand,
  DescribeGroupCommand,
  DescribeGroupMembershipCommand,
  DescribeUserCommand,
  GetGroupIdCommand,
  GetGroupMembershipIdCommand,
  GetUserIdCommand,
  IdentitystoreClient,
  IsMemberInGroupsCommand,
  ListGroupMembershipsCommand,
  ListGroupMembershipsForMemberCommand,
  ListGroupsCommand,
  ListUsersCommand,
  ResourceNotFoundException,
  UpdateGroupCommand,
  UpdateUserCommand,
  paginateListGroupMemberships,
  paginateListGroups,
  paginateListUsers,
} from '@aws-sdk/client-identitystore';
import type { RunningEmulator } from '../../local/emulator';
import { STORE_ID, clientFor, failureOf, startQuiet, validUser } from './helpers';

const ID_FORMAT = /^1234567890-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ENTERPRISE = 'aws:identitystore:enterprise';

let emulator: RunningEmulator;
let client: IdentitystoreClient;
let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}`;

beforeAll(async () => {
  emulator = await startQuiet({ principal: 'arn:aws:iam::111122223333:role/provisioner' });
  client = clientFor(emulator);
});
afterAll(async () => {
  client.destroy();
  await emulator.stop();
});

async function createUser(userName = unique('user')): Promise<string> {
  const { UserId } = await client.send(new CreateUserCommand(validUser(userName)));
  return UserId as string;
}
async function createGroup(displayName = unique('group')): Promise<string> {
  const { GroupId } = await client.send(new CreateGroupCommand({ IdentityStoreId: STORE_ID, DisplayName: displayName }));
  return GroupId as string;
}
async function addMember(groupId: string, userId: string): Promise<string> {
  const { MembershipId } = await client.send(
    new CreateGroupMembershipCommand({ IdentityStoreId: STORE_ID, GroupId: groupId, MemberId: { UserId: userId } }),
  );
  return MembershipId as string;
}

describe('users', () => {
  it('CreateUser returns an id in the <store>-<uuid> form and DescribeUser returns the attributes with audit stamps', async () => {
    const before = Date.now();
    const created = await client.send(
      new CreateUserCommand({
        ...validUser('ada.lovelace'),
        Emails: [{ Value: 'ada@example.com', Type: 'work', Primary: true }],
        Title: 'Countess',
        Photos: [{ Value: 'https://example.com/ada.png' }],
      }),
    );
    expect(created.UserId).toMatch(ID_FORMAT);
    expect(created.IdentityStoreId).toBe(STORE_ID);
    expect(created.$metadata.requestId).toBeDefined();

    const user = await client.send(new DescribeUserCommand({ IdentityStoreId: STORE_ID, UserId: created.UserId }));
    expect(user).toMatchObject({
      UserId: created.UserId,
      UserName: 'ada.lovelace',
      DisplayName: 'ada.lovelace Display',
      Name: { GivenName: 'Given', FamilyName: 'Family' },
      Emails: [{ Value: 'ada@example.com', Type: 'work', Primary: true }],
      Title: 'Countess',
      Photos: [{ Value: 'https://example.com/ada.png' }],
      UserStatus: 'ENABLED',
      CreatedBy: 'arn:aws:iam::111122223333:role/provisioner',
      UpdatedBy: 'arn:aws:iam::111122223333:role/provisioner',
    });
    expect(user.CreatedAt).toBeInstanceOf(Date);
    expect(user.CreatedAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(user.ExternalIds).toBeUndefined();
  });

  it('UpdateUser sets, replaces and removes attributes (a null value removes) and moves UpdatedAt', async () => {
    const userId = await createUser();
    const original = await client.send(new DescribeUserCommand({ IdentityStoreId: STORE_ID, UserId: userId }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    await client.send(
      new UpdateUserCommand({
        IdentityStoreId: STORE_ID,
        UserId: userId,
        Operations: [
          { AttributePath: 'name.givenName', AttributeValue: 'Augusta' },
          { AttributePath: 'title', AttributeValue: 'Engineer' },
          { AttributePath: 'emails', AttributeValue: [{ Value: 'new@example.com', Primary: true }] },
          { AttributePath: 'userStatus', AttributeValue: 'DISABLED' },
        ],
      }),
    );
    await client.send(
      new UpdateUserCommand({
        IdentityStoreId: STORE_ID,
        UserId: userId,
        Operations: [{ AttributePath: 'title', AttributeValue: null }, { AttributePath: 'name.familyName' }],
      }),
    );
    const user = await client.send(new DescribeUserCommand({ IdentityStoreId: STORE_ID, UserId: userId }));
    expect(user.Name).toEqual({ GivenName: 'Augusta' });
    expect(user.Title).toBeUndefined();
    expect(user.Emails).toEqual([{ Value: 'new@example.com', Primary: true }]);
    expect(user.UserStatus).toBe('DISABLED');
    expect(user.UpdatedAt!.getTime()).toBeGreaterThan(original.UpdatedAt!.getTime());
    expect(user.CreatedAt).toEqual(original.CreatedAt);
  });

  it('UpdateUser can rename the user, after which GetUserId finds the new name only', async () => {
    const userId = await createUser('before.rename');
    await client.send(
      new UpdateUserCommand({ IdentityStoreId: STORE_ID, UserId: userId, Operations: [{ AttributePath: 'userName', AttributeValue: 'after.rename' }] }),
    );
    const found = await client.send(
      new GetUserIdCommand({ IdentityStoreId: STORE_ID, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'after.rename' } } }),
    );
    expect(found.UserId).toBe(userId);
    const old = await failureOf(
      client.send(
        new GetUserIdCommand({ IdentityStoreId: STORE_ID, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'before.rename' } } }),
      ),
    );
    expect(old).toBeInstanceOf(ResourceNotFoundException);
  });

  it('GetUserId finds a user by userName (case-insensitively), by emails.value and by a seeded ExternalId', async () => {
    const userId = await client.send(
      new CreateUserCommand({ ...validUser('Grace.Hopper'), Emails: [{ Value: 'grace@example.com' }] }),
    ).then((r) => r.UserId);
    const byName = await client.send(
      new GetUserIdCommand({ IdentityStoreId: STORE_ID, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'grace.hopper' } } }),
    );
    expect(byName).toMatchObject({ UserId: userId, IdentityStoreId: STORE_ID });
    const byEmail = await client.send(
      new GetUserIdCommand({ IdentityStoreId: STORE_ID, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'emails.value', AttributeValue: 'grace@example.com' } } }),
    );
    expect(byEmail.UserId).toBe(userId);

    const seededId = emulator.seedUser(STORE_ID, {
      UserName: 'scim.user',
      DisplayName: 'Scim User',
      Name: { GivenName: 'Scim', FamilyName: 'User' },
      ExternalIds: [{ Issuer: 'https://hr.example.com', Id: 'E-1001' }],
    });
    const byExternalId = await client.send(
      new GetUserIdCommand({ IdentityStoreId: STORE_ID, AlternateIdentifier: { ExternalId: { Issuer: 'https://hr.example.com', Id: 'E-1001' } } }),
    );
    expect(byExternalId.UserId).toBe(seededId);
    const described = await client.send(new DescribeUserCommand({ IdentityStoreId: STORE_ID, UserId: seededId }));
    expect(described.ExternalIds).toEqual([{ Issuer: 'https://hr.example.com', Id: 'E-1001' }]);
  });

  it('returns Extensions only when the request asks for them', async () => {
    const { UserId } = await client.send(
      new CreateUserCommand({
        ...validUser('extended'),
        Extensions: { [ENTERPRISE]: { employeeNumber: '701', costCenter: 'CC-9' } },
      }),
    );
    const plain = await client.send(new DescribeUserCommand({ IdentityStoreId: STORE_ID, UserId }));
    expect(plain.Extensions).toBeUndefined();
    const asked = await client.send(new DescribeUserCommand({ IdentityStoreId: STORE_ID, UserId, Extensions: [ENTERPRISE] }));
    expect(asked.Extensions).toEqual({ [ENTERPRISE]: { employeeNumber: '701', costCenter: 'CC-9' } });

    await client.send(
      new UpdateUserCommand({ IdentityStoreId: STORE_ID, UserId, Operations: [{ AttributePath: `${ENTERPRISE}.costCenter`, AttributeValue: 'CC-1' }] }),
    );
    const listed = await client.send(
      new ListUsersCommand({ IdentityStoreId: STORE_ID, Extensions: [ENTERPRISE], Filters: [{ AttributePath: 'UserName', AttributeValue: 'extended' }] }),
    );
    expect(listed.Users).toHaveLength(1);
    expect(listed.Users![0].Extensions).toEqual({ [ENTERPRISE]: { employeeNumber: '701', costCenter: 'CC-1' } });
    const listedPlain = await client.send(
      new ListUsersCommand({ IdentityStoreId: STORE_ID, Filters: [{ AttributePath: 'UserName', AttributeValue: 'extended' }] }),
    );
    expect(listedPlain.Users![0].Extensions).toBeUndefined();
  });

  it('DeleteUser removes the user', async () => {
    const userId = await createUser();
    await client.send(new DeleteUserCommand({ IdentityStoreId: STORE_ID, UserId: userId }));
    const error = await failureOf(client.send(new DescribeUserCommand({ IdentityStoreId: STORE_ID, UserId: userId })));
    expect(error).toMatchObject({ name: 'ResourceNotFoundException', ResourceType: 'USER', ResourceId: userId });
  });
});

describe('groups', () => {
  it('CreateGroup, DescribeGroup, UpdateGroup and GetGroupId', async () => {
    const created = await client.send(
      new CreateGroupCommand({ IdentityStoreId: STORE_ID, DisplayName: 'Platform', Description: 'Platform team' }),
    );
    expect(created.GroupId).toMatch(ID_FORMAT);
    const described = await client.send(new DescribeGroupCommand({ IdentityStoreId: STORE_ID, GroupId: created.GroupId }));
    expect(described).toMatchObject({
      GroupId: created.GroupId,
      IdentityStoreId: STORE_ID,
      DisplayName: 'Platform',
      Description: 'Platform team',
      CreatedBy: 'arn:aws:iam::111122223333:role/provisioner',
    });
    expect(described.CreatedAt).toBeInstanceOf(Date);

    await client.send(
      new UpdateGroupCommand({
        IdentityStoreId: STORE_ID,
        GroupId: created.GroupId,
        Operations: [{ AttributePath: 'displayName', AttributeValue: 'Platform Engineering' }, { AttributePath: 'description' }],
      }),
    );
    const updated = await client.send(new DescribeGroupCommand({ IdentityStoreId: STORE_ID, GroupId: created.GroupId }));
    expect(updated.DisplayName).toBe('Platform Engineering');
    expect(updated.Description).toBeUndefined();

    const found = await client.send(
      new GetGroupIdCommand({ IdentityStoreId: STORE_ID, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'displayName', AttributeValue: 'Platform Engineering' } } }),
    );
    expect(found).toMatchObject({ GroupId: created.GroupId, IdentityStoreId: STORE_ID });
  });

  it('ListGroups filters on DisplayName (deprecated filter)', async () => {
    const groupId = await createGroup('Filtered Group');
    const listed = await client.send(
      new ListGroupsCommand({ IdentityStoreId: STORE_ID, Filters: [{ AttributePath: 'DisplayName', AttributeValue: 'Filtered Group' }] }),
    );
    expect(listed.Groups?.map((g) => g.GroupId)).toEqual([groupId]);
  });

  it('DeleteGroup removes the group', async () => {
    const groupId = await createGroup();
    await client.send(new DeleteGroupCommand({ IdentityStoreId: STORE_ID, GroupId: groupId }));
    const error = await failureOf(client.send(new DescribeGroupCommand({ IdentityStoreId: STORE_ID, GroupId: groupId })));
    expect(error).toMatchObject({ name: 'ResourceNotFoundException', ResourceType: 'GROUP', ResourceId: groupId });
  });
});

describe('memberships', () => {
  it('CreateGroupMembership, DescribeGroupMembership, GetGroupMembershipId, IsMemberInGroups, both lists, DeleteGroupMembership', async () => {
    const userId = await createUser();
    const [inGroup, otherGroup] = [await createGroup(), await createGroup()];
    const membershipId = await addMember(inGroup, userId);
    expect(membershipId).toMatch(ID_FORMAT);

    const described = await client.send(new DescribeGroupMembershipCommand({ IdentityStoreId: STORE_ID, MembershipId: membershipId }));
    expect(described).toMatchObject({ MembershipId: membershipId, GroupId: inGroup, MemberId: { UserId: userId }, IdentityStoreId: STORE_ID });
    expect(described.CreatedAt).toBeInstanceOf(Date);
    expect(described.UpdatedBy).toBe('arn:aws:iam::111122223333:role/provisioner');

    const found = await client.send(
      new GetGroupMembershipIdCommand({ IdentityStoreId: STORE_ID, GroupId: inGroup, MemberId: { UserId: userId } }),
    );
    expect(found.MembershipId).toBe(membershipId);

    const check = await client.send(
      new IsMemberInGroupsCommand({ IdentityStoreId: STORE_ID, MemberId: { UserId: userId }, GroupIds: [inGroup, otherGroup] }),
    );
    expect(check.Results).toEqual([
      { GroupId: inGroup, MemberId: { UserId: userId }, MembershipExists: true },
      { GroupId: otherGroup, MemberId: { UserId: userId }, MembershipExists: false },
    ]);

    const inGroupList = await client.send(new ListGroupMembershipsCommand({ IdentityStoreId: STORE_ID, GroupId: inGroup }));
    expect(inGroupList.GroupMemberships?.map((m) => m.MembershipId)).toEqual([membershipId]);
    const forMember = await client.send(
      new ListGroupMembershipsForMemberCommand({ IdentityStoreId: STORE_ID, MemberId: { UserId: userId } }),
    );
    expect(forMember.GroupMemberships?.map((m) => m.GroupId)).toEqual([inGroup]);

    await client.send(new DeleteGroupMembershipCommand({ IdentityStoreId: STORE_ID, MembershipId: membershipId }));
    const gone = await failureOf(
      client.send(new DescribeGroupMembershipCommand({ IdentityStoreId: STORE_ID, MembershipId: membershipId })),
    );
    expect(gone).toMatchObject({ name: 'ResourceNotFoundException', ResourceType: 'GROUP_MEMBERSHIP', ResourceId: membershipId });
  });

  it('deleting a user removes its memberships in every group', async () => {
    const userId = await createUser();
    const stays = await createUser();
    const [groupA, groupB] = [await createGroup(), await createGroup()];
    const removed = [await addMember(groupA, userId), await addMember(groupB, userId)];
    const kept = await addMember(groupA, stays);

    await client.send(new DeleteUserCommand({ IdentityStoreId: STORE_ID, UserId: userId }));

    const listA = await client.send(new ListGroupMembershipsCommand({ IdentityStoreId: STORE_ID, GroupId: groupA }));
    expect(listA.GroupMemberships?.map((m) => m.MembershipId)).toEqual([kept]);
    const listB = await client.send(new ListGroupMembershipsCommand({ IdentityStoreId: STORE_ID, GroupId: groupB }));
    expect(listB.GroupMemberships).toEqual([]);
    for (const membershipId of removed) {
      const error = await failureOf(client.send(new DescribeGroupMembershipCommand({ IdentityStoreId: STORE_ID, MembershipId: membershipId })));
      expect(error).toMatchObject({ ResourceType: 'GROUP_MEMBERSHIP' });
    }
    const journal = emulator.writes().filter((w) => w.action === 'DeleteUser' && w.userId === userId);
    expect(journal[0].removedMembershipIds?.sort()).toEqual([...removed].sort());
  });

  it('deleting a group removes its memberships, and the members stay', async () => {
    const [first, second] = [await createUser(), await createUser()];
    const groupId = await createGroup();
    const other = await createGroup();
    await addMember(groupId, first);
    await addMember(groupId, second);
    const otherMembership = await addMember(other, first);

    await client.send(new DeleteGroupCommand({ IdentityStoreId: STORE_ID, GroupId: groupId }));

    const forFirst = await client.send(new ListGroupMembershipsForMemberCommand({ IdentityStoreId: STORE_ID, MemberId: { UserId: first } }));
    expect(forFirst.GroupMemberships?.map((m) => m.MembershipId)).toEqual([otherMembership]);
    const forSecond = await client.send(new ListGroupMembershipsForMemberCommand({ IdentityStoreId: STORE_ID, MemberId: { UserId: second } }));
    expect(forSecond.GroupMemberships).toEqual([]);
    await expect(client.send(new DescribeUserCommand({ IdentityStoreId: STORE_ID, UserId: second }))).resolves.toBeDefined();
  });
});

describe('pagination', () => {
  let paged: RunningEmulator;
  let pagedClient: IdentitystoreClient;
  beforeAll(async () => {
    paged = await startQuiet();
    pagedClient = clientFor(paged);
  });
  afterAll(async () => {
    pagedClient.destroy();
    await paged.stop();
  });

  it('ListUsers, ListGroups and ListGroupMemberships page past one page with NextToken', async () => {
    const group = await pagedClient.send(new CreateGroupCommand({ IdentityStoreId: STORE_ID, DisplayName: 'Everyone' }));
    const userIds: string[] = [];
    for (let i = 0; i < 7; i++) {
      const { UserId } = await pagedClient.send(new CreateUserCommand(validUser(`page.user.${i}`)));
      userIds.push(UserId as string);
      await pagedClient.send(new CreateGroupMembershipCommand({ IdentityStoreId: STORE_ID, GroupId: group.GroupId, MemberId: { UserId: UserId as string } }));
      await pagedClient.send(new CreateGroupCommand({ IdentityStoreId: STORE_ID, DisplayName: `Page Group ${i}` }));
    }

    const first = await pagedClient.send(new ListUsersCommand({ IdentityStoreId: STORE_ID, MaxResults: 3 }));
    expect(first.Users).toHaveLength(3);
    expect(first.NextToken).toMatch(/^[-a-zA-Z0-9+=/:_]+$/);

    const users: string[] = [];
    for await (const page of paginateListUsers({ client: pagedClient, pageSize: 3 }, { IdentityStoreId: STORE_ID })) {
      expect(page.Users!.length).toBeLessThanOrEqual(3);
      users.push(...page.Users!.map((u) => u.UserId as string));
    }
    expect(users).toEqual(userIds);

    const groups: string[] = [];
    let groupPages = 0;
    for await (const page of paginateListGroups({ client: pagedClient, pageSize: 2 }, { IdentityStoreId: STORE_ID })) {
      groupPages++;
      groups.push(...page.Groups!.map((g) => g.DisplayName as string));
    }
    expect(groups).toHaveLength(8);
    expect(groupPages).toBe(4);

    const memberships: string[] = [];
    for await (const page of paginateListGroupMemberships({ client: pagedClient, pageSize: 4 }, { IdentityStoreId: STORE_ID, GroupId: group.GroupId })) {
      memberships.push(...page.GroupMemberships!.map((m) => m.MemberId!.UserId as string));
    }
    expect(memberships).toEqual(userIds);
  });

  it('refuses a tampered NextToken and one from another list with a ValidationException', async () => {
    const first = await pagedClient.send(new ListUsersCommand({ IdentityStoreId: STORE_ID, MaxResults: 1 }));
    const token = first.NextToken as string;
    const raw = Buffer.from(token, 'base64');
    raw[raw.length - 2] ^= 1;
    const tampered = await failureOf(
      pagedClient.send(new ListUsersCommand({ IdentityStoreId: STORE_ID, MaxResults: 1, NextToken: raw.toString('base64') })),
    );
    expect(tampered).toMatchObject({ name: 'ValidationException', message: 'Invalid NextToken' });
    const elsewhere = await failureOf(pagedClient.send(new ListGroupsCommand({ IdentityStoreId: STORE_ID, NextToken: token })));
    expect(elsewhere.name).toBe('ValidationException');
  });
});
