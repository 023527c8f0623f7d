/**
 * Reads the whole identity store back with the real IdentitystoreClient, through the same
 * emulator the pipeline used: its quota and faults stay on, so every call is retried here
 * (honouring RetryAfterSeconds) until it succeeds.
 */
import {
  IdentitystoreClient,
  ListGroupMembershipsCommand,
  ListGroupsCommand,
  ListUsersCommand,
  type Group,
  type GroupMembership,
  type User,
} from '@aws-sdk/client-identitystore';
import type { IdentityState, ModelUser } from './model';

const MAX_ATTEMPTS = 50;

export async function readIdentityStore(endpoint: string, identityStoreId: string): Promise<IdentityState> {
  const client = new IdentitystoreClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // Our own loop retries, honouring RetryAfterSeconds (the SDK's own retries ignore it).
    maxAttempts: 1,
  });
  try {
    const users = await paginate<User>(async (NextToken) => {
      const page = await client.send(new ListUsersCommand({ IdentityStoreId: identityStoreId, NextToken, MaxResults: 100 }));
      return { items: page.Users ?? [], next: page.NextToken };
    });
    const groups = await paginate<Group>(async (NextToken) => {
      const page = await client.send(new ListGroupsCommand({ IdentityStoreId: identityStoreId, NextToken, MaxResults: 100 }));
      return { items: page.Groups ?? [], next: page.NextToken };
    });
    const groupsOfUser = new Map<string, string[]>();
    for (const group of groups) {
      const memberships = await paginate<GroupMembership>(async (NextToken) => {
        const page = await client.send(
          new ListGroupMembershipsCommand({ IdentityStoreId: identityStoreId, GroupId: group.GroupId, NextToken, MaxResults: 100 }),
        );
        return { items: page.GroupMemberships ?? [], next: page.NextToken };
      });
      for (const membership of memberships) {
        const userId = membership.MemberId?.UserId ?? '(not a user)';
        groupsOfUser.set(userId, [...(groupsOfUser.get(userId) ?? []), group.DisplayName ?? '']);
      }
    }
    const lower = (s: string) => s.toLowerCase();
    return {
      users: users
        .map((user) => toModelUser(user, (groupsOfUser.get(user.UserId ?? '') ?? []).sort()))
        .sort((a, b) => (lower(a.userName) < lower(b.userName) ? -1 : 1)),
      groups: groups
        .map((g) => withoutUndefined({ displayName: g.DisplayName ?? '', description: g.Description }))
        .sort((a, b) => (lower(a.displayName) < lower(b.displayName) ? -1 : 1)),
    };
  } finally {
    client.destroy();
  }
}

function toModelUser(user: User, groups: string[]): ModelUser {
  return withoutUndefined({
    userName: user.UserName ?? '',
    displayName: user.DisplayName ?? '',
    givenName: user.Name?.GivenName ?? '',
    familyName: user.Name?.FamilyName ?? '',
    title: user.Title,
    email: user.Emails?.[0]?.Value,
    groups,
  });
}

async function paginate<T>(page: (nextToken?: string) => Promise<{ items: T[]; next?: string }>): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined;
  do {
    const result = await withRetries(() => page(next));
    items.push(...result.items);
    next = result.next;
  } while (next);
  return items;
}

/** Throttling, server errors, dropped connections and conflicts are the emulator's faults: wait and retry. */
async function withRetries<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const e = error as { name?: string; RetryAfterSeconds?: number; $metadata?: { httpStatusCode?: number } };
      const retryable = ['ThrottlingException', 'InternalServerException', 'ConflictException'].includes(e.name ?? '') || e.$metadata?.httpStatusCode === undefined;
      if (!retryable || attempt >= MAX_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, e.RetryAfterSeconds !== undefined ? e.RetryAfterSeconds * 1000 : 200));
    }
  }
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
