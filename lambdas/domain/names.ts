/**
 * The one home for "are these the same name?". The Identity Store treats a UserName and a group
 * DisplayName case-insensitively (two users cannot be `Ada` and `ada`; `GetUserId` finds either),
 * so everything this service keys by name folds case the same way: ordering and lease keys, the
 * id cache, the managed-group scope, producer grants and the audit trail's name indexes. Nothing
 * else is folded: names that differ in any other way (Unicode look-alikes, NFC versus NFD, inner
 * spaces) are different names to the store, and so to us.
 *
 * The one exception is the reserved-name check (`isReservedName`), which is deliberately wider
 * than the store's comparison: it is a guard against spoofing, not a key.
 */

/** The key a user name or group display name is compared and stored by. */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

/** Whether two user names, or two group display names, name the same thing in the store. */
export function sameName(a: string, b: string): boolean {
  return nameKey(a) === nameKey(b);
}

/** Any Unicode whitespace (`\p{White_Space}`): spaces, NBSP, ideographic space, tabs, line breaks. */
const LEADING_WHITE_SPACE = /^\p{White_Space}+/u;
const TRAILING_WHITE_SPACE = /\p{White_Space}+$/u;

/**
 * `value` without leading or trailing Unicode whitespace. Not String#trim, which keeps U+0085
 * (next line) and removes U+FEFF (a format character, not whitespace).
 */
export function trimWhiteSpace(value: string): string {
  return value.replace(LEADING_WHITE_SPACE, '').replace(TRAILING_WHITE_SPACE, '');
}

/** Names IAM Identity Center keeps for itself; no user or group may take them. */
export const RESERVED_NAMES: readonly string[] = ['Administrator', 'AWSAdministrators'];

/**
 * The form a name is compared in against the reserved names: NFKC (full-width `Ａｄｍｉｎ`, the
 * long s `ſ`, ligatures and other compatibility forms become their plain letters; the
 * ideographic and other wide spaces become U+0020), trimmed of all Unicode whitespace, then
 * case-folded as `nameKey` folds it.
 *
 * What it does NOT catch, on purpose: look-alikes from other scripts (Cyrillic `А`, Greek `Α`,
 * Cherokee `Ꭺ`) and mixed-script spellings. Those are different letters, not different forms of
 * the same letter: no normalisation maps them to Latin, and telling them apart from legitimate
 * names in those scripts needs a confusables table (Unicode TR39 skeletons), which would refuse
 * real names as well as spoofs. Inner spaces and added combining marks (`Adminis trator`,
 * `Administratoŕ`) are not caught either: they are visibly different names. Zero-width and other
 * invisible format characters never get this far: the contract's patterns refuse them.
 */
export function reservedNameKey(name: string): string {
  return nameKey(trimWhiteSpace(name.normalize('NFKC'))).normalize('NFKC');
}

const RESERVED_KEYS: ReadonlySet<string> = new Set(RESERVED_NAMES.map(reservedNameKey));

/** Whether `name`, trimmed, NFKC-normalised and case-folded, is one of the reserved names. */
export function isReservedName(name: string): boolean {
  return RESERVED_KEYS.has(reservedNameKey(name));
}
