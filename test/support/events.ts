/** Builders for v1 identity-change events in tests. */
let counter = 0;
const base = (type: string, occurredAt: string, id?: string) => ({
  id: id ?? `evt-${++counter}`,
  type,
  occurredAt,
  actor: 'hr-system',
});

export const at = (minute: number) => new Date(Date.UTC(2026, 10, 22, 9, minute)).toISOString();

export const events = {
  userUpserted: (user: Record<string, unknown>, opts: { at?: string; id?: string; groups?: string[] } = {}) => ({
    ...base('user.upserted', opts.at ?? at(0), opts.id),
    data: { user, ...(opts.groups ? { groups: opts.groups } : {}) },
  }),
  userDeleted: (data: { userName?: string; externalId?: { Issuer: string; Id: string } }, opts: { at?: string; id?: string } = {}) => ({
    ...base('user.deleted', opts.at ?? at(0), opts.id),
    data,
  }),
  groupUpserted: (DisplayName: string, opts: { at?: string; id?: string; description?: string } = {}) => ({
    ...base('group.upserted', opts.at ?? at(0), opts.id),
    data: { group: { DisplayName, ...(opts.description ? { Description: opts.description } : {}) } },
  }),
  groupDeleted: (displayName: string, opts: { at?: string; id?: string } = {}) => ({
    ...base('group.deleted', opts.at ?? at(0), opts.id),
    data: { displayName },
  }),
  membership: (type: 'membership.added' | 'membership.removed', userName: string, groupDisplayName: string, opts: { at?: string; id?: string } = {}) => ({
    ...base(type, opts.at ?? at(0), opts.id),
    data: { userName, groupDisplayName },
  }),
};

export const ada = (extra: Record<string, unknown> = {}) => ({
  UserName: 'ada',
  DisplayName: 'Ada Lovelace',
  Name: { GivenName: 'Ada', FamilyName: 'Lovelace' },
  Emails: [{ Value: 'ada@example.com', Type: 'work', Primary: true }],
  ...extra,
});

/** The least a user.upserted must carry (IAM Identity Center requires display and full name). */
export const person = (UserName: string) => ({
  UserName,
  DisplayName: UserName,
  Name: { GivenName: UserName, FamilyName: 'Test' },
});

/** The deployment's default bounds on occurredAt: at most 5 minutes ahead of now, not before 2000. */
export const OCCURRED_AT_BOUNDS = { floor: new Date('2000-01-01T00:00:00Z'), maxSkewMs: 300_000 };
