/**
 * The identity-change event contract, version 1. This zod schema is the source of truth;
 * schemas/identity-change-v1.schema.json is generated from it for producers
 * (test/unit/json-schema.test.ts fails when the two drift apart).
 *
 * Attribute names and limits follow the Identity Store API Reference (docs/emulator.md): an event
 * the API would refuse is rejected here, naming the field and the rule, before any call.
 */
import { z } from 'zod';
import { isReservedName, RESERVED_NAMES } from './names';

export const CONTRACT_VERSION = '1';

/*
 * Every string the Identity Store API constrains is checked here against the API's own pattern
 * and length (its service model), so an event the API would refuse never reaches it. Lengths are
 * counted in code points: zod's `.max` counts them, as do the API model's length constraints and
 * JSON Schema's maxLength (the event id is the one exception, below). On top of
 * the API's rules, the contract refuses what the API would take but no producer means:
 * - no string may be empty or only whitespace (`\p{White_Space}`: spaces, NBSP, U+3000, tabs,
 *   line breaks), even where the API's pattern allows whitespace;
 * - a name (UserName, a group's DisplayName wherever an event names a group) may not begin or end
 *   with whitespace: `Engineering ` looks exactly like `Engineering` and would be another group;
 * - the reserved names are refused in any width, case or surrounding whitespace (names.ts).
 */

/**
 * The API's text (SensitiveStringType: DisplayName, Name parts, Title, Emails, Description, ...):
 * letters, marks, symbols, numbers, punctuation, tab, CR, LF, space, NBSP and ideographic space.
 */
const TEXT_PATTERN = /^[\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r \u00A0\u3000]+$/u;
/** The API's GroupDisplayName: the same without the ideographic space (U+3000). */
const GROUP_DISPLAY_NAME_PATTERN = /^[\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r \u00A0]+$/u;
/** The API's UserName, ExternalId Issuer and ExternalId Id: no whitespace of any kind. */
const NO_SPACE_PATTERN = /^[\p{L}\p{M}\p{S}\p{N}\p{P}]+$/u;
/** At least one character that is not whitespace. */
const NOT_BLANK_PATTERN = /[^\p{White_Space}]/u;
const NOT_LEADING_SPACE_PATTERN = /^[^\p{White_Space}]/u;
const NOT_TRAILING_SPACE_PATTERN = /[^\p{White_Space}]$/u;
/** Our own printable text (actor): letters, marks, numbers, punctuation, symbols and space separators; no controls. */
const PRINTABLE_PATTERN = /^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]+$/u;
export const IDENTITY_STORE_ID_PATTERN =
  /^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

const NOT_BLANK_MESSAGE = 'must not be empty or whitespace only';
const NAME_EDGE_MESSAGE = 'must not begin or end with whitespace';

/** The API's text, 1..max code points, not blank. */
const text = (max = 1024) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(TEXT_PATTERN, 'must be printable text (letters, digits, punctuation, spaces)')
    .regex(NOT_BLANK_PATTERN, NOT_BLANK_MESSAGE);

/** A name: no whitespace at either end (which also rules out a blank one). */
const withoutEdgeSpace = (schema: z.ZodString) =>
  schema.regex(NOT_LEADING_SPACE_PATTERN, NAME_EDGE_MESSAGE).regex(NOT_TRAILING_SPACE_PATTERN, NAME_EDGE_MESSAGE);

const notReserved = (value: string) => !isReservedName(value);
const RESERVED_MESSAGE = `is reserved by IAM Identity Center (${RESERVED_NAMES.join(', ')})`;

/** A UserName as the API takes it: 1..128, no whitespace at all. */
export const userNameSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(NO_SPACE_PATTERN, 'must be letters, digits or punctuation, without spaces');

/**
 * A group DisplayName as the API takes it (GroupDisplayName: 1..1024; whitespace allowed inside
 * but no ideographic space), not beginning or ending with whitespace, and not a reserved name.
 */
export const groupDisplayNameSchema = withoutEdgeSpace(
  z
    .string()
    .min(1)
    .max(1024)
    .regex(GROUP_DISPLAY_NAME_PATTERN, 'must be printable text (letters, digits, punctuation, spaces; no ideographic space)'),
).refine(notReserved, RESERVED_MESSAGE);

/**
 * An ExternalId as the API takes it: Issuer and Id are each 1..256 with no whitespace at all
 * (the same pattern as UserName). The contract keeps Issuer to 100: issuers are short names or
 * URLs, and every ExternalId becomes part of an ordering key.
 */
const externalIdPart = (max: number) =>
  z.string().min(1).max(max).regex(NO_SPACE_PATTERN, 'must be letters, digits, punctuation or symbols, without spaces');

export const externalIdSchema = z.strictObject({
  Issuer: externalIdPart(100),
  Id: externalIdPart(256),
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
 * The enterprise extension's attributes, as the API reference's examples give them (the SCIM
 * enterprise user: employeeNumber, costCenter, organization, division, department, and manager by
 * its `value`). The reference states no length or pattern for them; the contract holds them to
 * the API's text rule (1..1024, printable, not blank). Strict: an unknown attribute, or anything
 * but text where text belongs (a nested object, however deep), is refused here and never reaches
 * the SDK's serializer.
 */
export const enterpriseExtensionSchema = z.strictObject({
  employeeNumber: text().optional(),
  costCenter: text().optional(),
  organization: text().optional(),
  division: text().optional(),
  department: text().optional(),
  manager: z.strictObject({ value: text() }).optional(),
});

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
  // The API's Extensions map takes 1..10 entries; the enterprise extension is the only one there is.
  Extensions: z.strictObject({ [ENTERPRISE_EXTENSION]: enterpriseExtensionSchema }).optional(),
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

export const EVENT_ID_MAX_UTF16_UNITS = 128;

/**
 * The event id: 1..128 letters, marks, numbers, punctuation and symbols; no whitespace, control
 * or format characters (an id is a key and shows up in logs and queue attributes). Its length is
 * counted in UTF-16 code units, as the idempotency layer counts it (JavaScript's `.length`; an
 * astral character such as an emoji counts 2). zod's `.max` counts code points, so the unit count
 * is a refinement of its own; `.max` stays for the JSON Schema (whose maxLength counts code points).
 */
export const eventIdSchema = z
  .string()
  .min(1)
  .max(EVENT_ID_MAX_UTF16_UNITS)
  .regex(/^[\p{L}\p{M}\p{N}\p{P}\p{S}]+$/u, 'must be letters, digits, punctuation or symbols: no whitespace or control characters')
  .refine((id) => id.length <= EVENT_ID_MAX_UTF16_UNITS, {
    message: `Too big: expected string to have <=${EVENT_ID_MAX_UTF16_UNITS} UTF-16 code units (a character outside the BMP, such as an emoji, counts 2)`,
  })
  .meta({
    description: `Unique per producer: 1-${EVENT_ID_MAX_UTF16_UNITS} letters, digits, punctuation or symbols, no whitespace or control characters, counted in UTF-16 code units (a character outside the Basic Multilingual Plane counts 2).`,
  });

/** Who made the change, as the producer claims it: printable, no controls, not blank, 1..256. */
export const actorSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(PRINTABLE_PATTERN, 'must be printable text without control characters (letters, digits, punctuation, symbols, spaces)')
  .regex(NOT_BLANK_PATTERN, NOT_BLANK_MESSAGE);

const envelope = {
  id: eventIdSchema,
  occurredAt: z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time with a time zone' }),
  actor: actorSchema,
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
