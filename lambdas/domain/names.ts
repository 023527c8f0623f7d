/**
 * The one home for "are these the same name?". The Identity Store treats a UserName and a group
 * DisplayName case-insensitively (two users cannot be `Ada` and `ada`; `GetUserId` finds either),
 * so everything this service keys by name folds case the same way: ordering and lease keys, the
 * id cache, the managed-group scope, producer grants and the audit trail's name indexes. Nothing
 * else is folded: names that differ in any other way (Unicode look-alikes, NFC versus NFD, inner
 * spaces) are different names to the store, and so to us.
 */

/** The key a user name or group display name is compared and stored by. */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

/** Whether two user names, or two group display names, name the same thing in the store. */
export function sameName(a: string, b: string): boolean {
  return nameKey(a) === nameKey(b);
}
