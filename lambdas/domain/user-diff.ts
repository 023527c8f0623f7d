/**
 * Which user attributes differ between what an event asks for and what the store holds,
 * as UpdateUser operations. Upserts are patches: an attribute the event leaves out is left
 * alone (an HR feed that omits a field must not wipe it); an attribute it carries is set.
 */
import type { UserAttributes } from './identity-change';
import type { AttributeOperation } from './ports';

/** Contract (CreateUser) attribute name -> UpdateUser AttributePath. */
export const TOP_LEVEL_PATHS: Record<Exclude<keyof UserAttributes, 'Name' | 'Extensions'>, string> = {
  UserName: 'userName',
  DisplayName: 'displayName',
  NickName: 'nickName',
  ProfileUrl: 'profileUrl',
  Emails: 'emails',
  Addresses: 'addresses',
  PhoneNumbers: 'phoneNumbers',
  UserType: 'userType',
  Title: 'title',
  PreferredLanguage: 'preferredLanguage',
  Locale: 'locale',
  Timezone: 'timezone',
  Photos: 'photos',
  Website: 'website',
  Birthdate: 'birthdate',
};

const NAME_PATHS: Record<keyof NonNullable<UserAttributes['Name']>, string> = {
  Formatted: 'name.formatted',
  FamilyName: 'name.familyName',
  GivenName: 'name.givenName',
  MiddleName: 'name.middleName',
  HonorificPrefix: 'name.honorificPrefix',
  HonorificSuffix: 'name.honorificSuffix',
};

export interface AttributeChange {
  path: string;
  before?: unknown;
  after?: unknown;
}

export function diffUser(desired: UserAttributes, stored: UserAttributes): AttributeChange[] {
  const changes: AttributeChange[] = [];
  for (const [attribute, path] of Object.entries(TOP_LEVEL_PATHS) as [keyof typeof TOP_LEVEL_PATHS, string][]) {
    const after = desired[attribute];
    if (after === undefined) continue;
    const before = stored[attribute];
    // UserName is case-insensitive in the store: a case-only change is still a change worth making.
    if (!sameValue(before, after)) changes.push({ path, before, after });
  }
  if (desired.Name) {
    for (const [part, path] of Object.entries(NAME_PATHS) as [keyof typeof NAME_PATHS, string][]) {
      const after = desired.Name[part];
      if (after === undefined) continue;
      const before = stored.Name?.[part];
      if (!sameValue(before, after)) changes.push({ path, before, after });
    }
  }
  if (desired.Extensions) {
    for (const [extension, after] of Object.entries(desired.Extensions)) {
      const before = stored.Extensions?.[extension as keyof typeof stored.Extensions];
      if (!sameValue(before, after)) changes.push({ path: extension, before, after });
    }
  }
  return changes;
}

export function toOperations(changes: AttributeChange[]): AttributeOperation[] {
  return changes.map((c) => ({ attributePath: c.path, attributeValue: c.after }));
}

/**
 * The attributes after UpdateUser's operations, as the store applies them (a missing value removes
 * the attribute): the inverse of toOperations, for a plan that must see its own earlier writes.
 */
export function applyOperations(attributes: UserAttributes, operations: AttributeOperation[]): UserAttributes {
  const result = structuredClone(attributes) as Record<string, unknown>;
  const set = (target: Record<string, unknown>, key: string, value: unknown) => {
    if (value === undefined) delete target[key];
    else target[key] = structuredClone(value);
  };
  for (const { attributePath, attributeValue } of operations) {
    const topLevel = ATTRIBUTE_OF_PATH.get(attributePath);
    const namePart = NAME_PART_OF_PATH.get(attributePath);
    if (topLevel !== undefined) set(result, topLevel, attributeValue);
    else if (namePart !== undefined) {
      const name = { ...((result.Name as Record<string, unknown> | undefined) ?? {}) };
      set(name, namePart, attributeValue);
      set(result, 'Name', Object.keys(name).length > 0 ? name : undefined);
    } else {
      // Anything else the engine writes is an extension, named by its full path.
      const extensions = { ...((result.Extensions as Record<string, unknown> | undefined) ?? {}) };
      set(extensions, attributePath, attributeValue);
      set(result, 'Extensions', Object.keys(extensions).length > 0 ? extensions : undefined);
    }
  }
  return result as UserAttributes;
}

const ATTRIBUTE_OF_PATH = new Map(Object.entries(TOP_LEVEL_PATHS).map(([attribute, path]) => [path, attribute]));
const NAME_PART_OF_PATH = new Map(Object.entries(NAME_PATHS).map(([part, path]) => [path, part]));

/** Deep equality on JSON values, ignoring key order and undefined members. */
export function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .filter(([, inner]) => inner !== undefined)
          .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
      );
    }
    return v;
  }) ?? 'undefined';
}
