/**
 * The identity-change event contract, version 1. This zod schema is the source of truth;
 * schemas/identity-change-v1.schema.json is generated from it for producers
 * (test/unit/json-schema.test.ts fails when the two drift apart).
 *
 * Attribute names and limits follow the Identity Store API Reference (docs/emulator.md): an event
 * the API would refuse is rejected here, naming the field and the rule, before any call.
 */
import { z } from 'zod';

export const CONTRACT_VERSION = '1';

/** Identity Store text: letters, marks, symbols, numbers, punctuation and (non-)breaking spaces. */
const TEXT_PATTERN = /^[\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r \u00A0\u3000]+$/u;
/** UserName: the same without any whitespace. */
const USER_NAME_PATTERN = /^[\p{L}\p{M}\p{S}\p{N}\p{P}]+$/u;
export const IDENTITY_STORE_ID_PATTERN =
  /^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

const text = (max = 1024) =>
  z.string().min(1).max(max).regex(TEXT_PATTERN, 'must be printable text (letters, digits, punctuation, spaces)');

export const userNameSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(USER_NAME_PATTERN, 'must be letters, digits or punctuation, without spaces');

/** Administrator and AWSAdministrators are reserved by IAM Identity Center. */
const RESERVED_NAMES = ['administrator', 'awsadministrators'];
const notReserved = (value: string) => !RESERVED_NAMES.includes(value.toLowerCase());
const RESERVED_MESSAGE = 'is reserved by IAM Identity Center (Administrator, AWSAdministrators)';

export const groupDisplayNameSchema = text().refine(notReserved, RESERVED_MESSAGE);

export const externalIdSchema = z.strictObject({
  Issuer: text(100),
  Id: text(256),
});

const nameSchema = z.strictObject({
  Formatted: text().optional(),
  FamilyName: text().optional(),
  GivenName: text().optional(),
  MiddleName: text().optional(),
  HonorificPrefix: text().optional(),
  HonorificSuffix: text().optional(),
});

const typedValue = z.strictObject({
  Value: text().optional(),
  Type: text().optional(),
  Primary: z.boolean().optional(),
});

const addressSchema = z.strictObject({
  StreetAddress: text().optional(),
  Locality: text().optional(),
  Region: text().optional(),
  PostalCode: text().optional(),
  Country: text().optional(),
  Formatted: text().optional(),
  Type: text().optional(),
  Primary: z.boolean().optional(),
});

const photoSchema = z.strictObject({
  Value: text(),
  Type: text().optional(),
  Display: text().optional(),
  Primary: z.boolean().optional(),
});

export const ENTERPRISE_EXTENSION = 'aws:identitystore:enterprise';

/**
 * The user as CreateUser takes it, plus ExternalIds: the HR system's stable id for the person.
 * IAM Identity Center requires DisplayName and a Name with given and family names, so every
 * upsert carries them: an event that could not create the user is rejected before any call.
 */
export const userAttributesSchema = z.strictObject({
  UserName: userNameSchema.refine(notReserved, RESERVED_MESSAGE),
  DisplayName: text(),
  Name: nameSchema.required({ GivenName: true, FamilyName: true }),
  NickName: text().optional(),
  ProfileUrl: text().optional(),
  Emails: z.array(typedValue).length(1).optional(),
  Addresses: z.array(addressSchema).length(1).optional(),
  PhoneNumbers: z.array(typedValue).length(1).optional(),
  UserType: text().optional(),
  Title: text().optional(),
  PreferredLanguage: text().optional(),
  Locale: text().optional(),
  Timezone: text().optional(),
  Photos: z
    .array(photoSchema)
    .min(1)
    .max(3)
    // The API reference: only one photo can be designated as primary per user.
    .refine((photos) => photos.filter((photo) => photo.Primary === true).length <= 1, {
      error: 'at most one photo can be primary',
    })
    .optional(),
  Website: text().optional(),
  Birthdate: text().optional(),
  Extensions: z
    .partialRecord(
      z.literal(ENTERPRISE_EXTENSION, { error: `the only supported extension is ${ENTERPRISE_EXTENSION}` }),
      z.record(z.string(), z.unknown()),
    )
    .optional(),
});

export type UserAttributes = z.infer<typeof userAttributesSchema>;
export type ExternalId = z.infer<typeof externalIdSchema>;

export const EVENT_TYPES = [
  'user.upserted',
  'user.deleted',
  'group.upserted',
  'group.deleted',
  'membership.added',
  'membership.removed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

const envelope = {
  id: z.string().min(1).max(128),
  occurredAt: z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time with a time zone' }),
  actor: z.string().min(1).max(256),
  identityStoreId: z
    .string()
    .regex(IDENTITY_STORE_ID_PATTERN, 'must be d-<10 hex> or a UUID')
    .optional(),
  version: z.literal(CONTRACT_VERSION).optional(),
};

export const userUpsertedSchema = z.strictObject({
  ...envelope,
  type: z.literal('user.upserted'),
  data: z.strictObject({
    user: userAttributesSchema.extend({
      ExternalIds: z.array(externalIdSchema).min(1).max(10).optional(),
    }),
    /**
     * The complete list of managed groups, within the sending producer's grant, the user should be
     * in; memberships in groups outside that grant are left alone. Absent: memberships untouched.
     */
    groups: z.array(groupDisplayNameSchema).max(100).optional(),
  }),
});

export const userDeletedSchema = z.strictObject({
  ...envelope,
  type: z.literal('user.deleted'),
  data: z
    .strictObject({
      userName: userNameSchema.optional(),
      externalId: externalIdSchema.optional(),
    })
    .refine((d) => d.userName !== undefined || d.externalId !== undefined, {
      message: 'needs userName or externalId',
    }),
});

export const groupUpsertedSchema = z.strictObject({
  ...envelope,
  type: z.literal('group.upserted'),
  data: z.strictObject({
    group: z.strictObject({
      DisplayName: groupDisplayNameSchema,
      Description: text().optional(),
    }),
  }),
});

export const groupDeletedSchema = z.strictObject({
  ...envelope,
  type: z.literal('group.deleted'),
  data: z.strictObject({ displayName: groupDisplayNameSchema }),
});

const membershipData = z.strictObject({
  userName: userNameSchema,
  groupDisplayName: groupDisplayNameSchema,
});

export const membershipAddedSchema = z.strictObject({
  ...envelope,
  type: z.literal('membership.added'),
  data: membershipData,
});

export const membershipRemovedSchema = z.strictObject({
  ...envelope,
  type: z.literal('membership.removed'),
  data: membershipData,
});

export const identityChangeSchema = z.discriminatedUnion('type', [
  userUpsertedSchema,
  userDeletedSchema,
  groupUpsertedSchema,
  groupDeletedSchema,
  membershipAddedSchema,
  membershipRemovedSchema,
]);

export type IdentityChange = z.infer<typeof identityChangeSchema>;
export type UserUpserted = z.infer<typeof userUpsertedSchema>;
export type UserDeleted = z.infer<typeof userDeletedSchema>;
export type GroupUpserted = z.infer<typeof groupUpsertedSchema>;
export type GroupDeleted = z.infer<typeof groupDeletedSchema>;
export type MembershipChange = z.infer<typeof membershipAddedSchema> | z.infer<typeof membershipRemovedSchema>;
