/**
 * Which groups this service may change. Everything else (Control Tower's groups, groups a person
 * made by hand) is never touched: no membership added or removed, no update, no delete.
 *
 * Names in the scope compare as the store compares group names (nameKey): `list:Engineering`
 * manages the store's `engineering` (there can only be one of them), and `prefix:App-` manages
 * `app-wiki`. The configured text is taken as written (lambdas/shared/config.ts trims list
 * entries, not the prefix); only the case is folded.
 */
import { nameKey } from './names';
import type { ProcessingStatePort } from './ports';

export type ManagedGroupScope =
  | { kind: 'created' }
  | { kind: 'prefix'; prefix: string }
  | { kind: 'list'; names: string[] };

export async function isInManagedScope(
  scope: ManagedGroupScope,
  group: { groupId: string; displayName: string },
  state: ProcessingStatePort,
): Promise<boolean> {
  switch (scope.kind) {
    case 'created':
      return state.isManagedGroup(group.groupId);
    case 'prefix':
    case 'list':
      return inNamedScope(scope, group.displayName);
  }
}

/** Whether a group that does not exist yet may be created by a group.upserted event. */
export function mayCreateGroup(scope: ManagedGroupScope, displayName: string): boolean {
  switch (scope.kind) {
    case 'created':
      return true;
    case 'prefix':
    case 'list':
      return inNamedScope(scope, displayName);
  }
}

function inNamedScope(scope: Extract<ManagedGroupScope, { kind: 'prefix' | 'list' }>, displayName: string): boolean {
  const name = nameKey(displayName);
  return scope.kind === 'prefix' ? name.startsWith(nameKey(scope.prefix)) : scope.names.some((listed) => nameKey(listed) === name);
}

export function describeScope(scope: ManagedGroupScope): string {
  switch (scope.kind) {
    case 'created':
      return 'groups this service created';
    case 'prefix':
      return `groups named "${scope.prefix}*"`;
    case 'list':
      return `the configured group list (${scope.names.length} groups)`;
  }
}
