/**
 * Which groups this service may change. Everything else (Control Tower's groups, groups a person
 * made by hand) is never touched: no membership added or removed, no update, no delete.
 */
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
      return group.displayName.startsWith(scope.prefix);
    case 'list':
      return scope.names.includes(group.displayName);
  }
}

/** Whether a group that does not exist yet may be created by a group.upserted event. */
export function mayCreateGroup(scope: ManagedGroupScope, displayName: string): boolean {
  switch (scope.kind) {
    case 'created':
      return true;
    case 'prefix':
      return displayName.startsWith(scope.prefix);
    case 'list':
      return scope.names.includes(displayName);
  }
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
