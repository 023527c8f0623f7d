/**
 * The reference model: the Identity Store state the engine must converge to, computed from the
 * event log alone by applying the valid events once each, in occurredAt order, with the
 * engine's semantics (lambdas/domain/*-changes.ts):
 * - user.upserted finds the person by ExternalId, else by UserName; creates, or patches only the
 *   attributes the event carries (a new UserName is a rename); `groups` makes the user's managed
 *   memberships exactly that list (absent: memberships untouched);
 * - user.deleted (by ExternalId, else UserName) removes the user and its memberships;
 * - group.upserted creates the group or sets its description; group.deleted removes it and its
 *   memberships; membership.added/removed add or remove one membership.
 * Names compare case-insensitively, as the Identity Store compares them.
 *
 * A log whose outcome the engine cannot settle (a membership for a user who never exists, a
 * rename onto a taken name, a `groups` list naming a missing group, more removals or deletions
 * than allowed) throws ModelViolationError: the engine would retry until FAILED, so no final
 * state is predictable. The workload generator never produces such logs.
 */
import type { ExternalId, IdentityChange, UserAttributes } from '../../lambdas/domain/identity-change';

export interface ModelUser {
  userName: string;
  displayName: string;
  givenName: string;
  familyName: string;
  title?: string;
  email?: string;
  /** Display names of the groups the user is in, sorted. */
  groups: string[];
}

export interface ModelGroup {
  displayName: string;
  description?: string;
}

/** Sorted by lower-cased name, so two states compare with a plain deep equality. */
export interface IdentityState {
  users: ModelUser[];
  groups: ModelGroup[];
}

export interface ModelLimits {
  maxMembershipRemovalsPerEvent: number;
  deletionCap: number;
}

export class ModelViolationError extends Error {
  constructor(eventId: string, message: string) {
    super(`event ${eventId}: ${message}`);
    this.name = 'ModelViolationError';
  }
}

interface UserEntry {
  attributes: Omit<UserAttributes, 'Name'> & { Name: Partial<UserAttributes['Name']> };
  groups: Set<string>;
}

export function expectedState(events: IdentityChange[], limits: ModelLimits): IdentityState {
  const model = new ReferenceModel(limits);
  const seen = new Set<string>();
  const ordered = events
    .map((change, index) => ({ change, index, at: Date.parse(change.occurredAt) }))
    .sort((a, b) => a.at - b.at || a.index - b.index);
  for (const { change } of ordered) {
    // A re-sent id is the same event: applied once.
    if (seen.has(change.id)) continue;
    seen.add(change.id);
    model.apply(change);
  }
  return model.state();
}

class ReferenceModel {
  private readonly users = new Map<string, UserEntry>();
  private readonly byExternalId = new Map<string, UserEntry>();
  private readonly groups = new Map<string, ModelGroup>();
  private deletions = 0;

  constructor(private readonly limits: ModelLimits) {}

  apply(change: IdentityChange): void {
    switch (change.type) {
      case 'user.upserted':
        return this.upsertUser(change.id, change.data.user, change.data.groups);
      case 'user.deleted':
        return this.deleteUser(change.id, change.data.userName, change.data.externalId);
      case 'group.upserted':
        return this.upsertGroup(change.data.group.DisplayName, change.data.group.Description);
      case 'group.deleted':
        return this.deleteGroup(change.id, change.data.displayName);
      case 'membership.added':
      case 'membership.removed':
        return this.changeMembership(change.id, change.type === 'membership.added', change.data.userName, change.data.groupDisplayName);
    }
  }

  state(): IdentityState {
    const users = [...this.users.values()].map((entry): ModelUser => {
      const a = entry.attributes;
      return withoutUndefined({
        userName: a.UserName,
        displayName: a.DisplayName,
        givenName: a.Name.GivenName ?? '',
        familyName: a.Name.FamilyName ?? '',
        title: a.Title,
        email: a.Emails?.[0]?.Value,
        groups: [...entry.groups].map((key) => this.groups.get(key)!.displayName).sort(),
      });
    });
    return {
      users: users.sort(byKey((u) => u.userName)),
      groups: [...this.groups.values()].map((g) => withoutUndefined({ ...g })).sort(byKey((g) => g.displayName)),
    };
  }

  private upsertUser(eventId: string, user: UserAttributes & { ExternalIds?: ExternalId[] }, groups: string[] | undefined): void {
    const { ExternalIds: externalIds = [], ...attributes } = user;
    let entry = this.findUser(attributes.UserName, externalIds);
    if (!entry) {
      entry = { attributes: { ...attributes, Name: { ...attributes.Name } }, groups: new Set() };
      this.users.set(key(attributes.UserName), entry);
    } else {
      const oldKey = key(entry.attributes.UserName);
      const newKey = key(attributes.UserName);
      if (oldKey !== newKey) {
        if (this.users.has(newKey)) throw new ModelViolationError(eventId, `rename onto the taken user name ${attributes.UserName}`);
        this.users.delete(oldKey);
        this.users.set(newKey, entry);
      }
      // A patch: what the event leaves out stays as it is.
      const { Name, ...rest } = attributes;
      Object.assign(entry.attributes, withoutUndefined(rest));
      Object.assign(entry.attributes.Name, withoutUndefined(Name));
    }
    for (const externalId of externalIds) this.byExternalId.set(externalKey(externalId), entry);

    if (groups) {
      const desired = new Set(groups.map(key));
      for (const group of desired) {
        if (!this.groups.has(group)) throw new ModelViolationError(eventId, `groups names the missing group ${group}`);
      }
      const removals = [...entry.groups].filter((g) => !desired.has(g)).length;
      if (removals > this.limits.maxMembershipRemovalsPerEvent) {
        throw new ModelViolationError(eventId, `groups would remove ${removals} memberships`);
      }
      entry.groups = desired;
    }
  }

  private deleteUser(eventId: string, userName: string | undefined, externalId: ExternalId | undefined): void {
    const entry = this.findUser(userName, externalId ? [externalId] : []);
    if (!entry) return;
    this.countDeletion(eventId);
    this.users.delete(key(entry.attributes.UserName));
  }

  private upsertGroup(displayName: string, description: string | undefined): void {
    const existing = this.groups.get(key(displayName));
    if (!existing) this.groups.set(key(displayName), { displayName, description });
    else if (description !== undefined) existing.description = description;
  }

  private deleteGroup(eventId: string, displayName: string): void {
    if (!this.groups.has(key(displayName))) return;
    this.countDeletion(eventId);
    this.groups.delete(key(displayName));
    for (const entry of this.users.values()) entry.groups.delete(key(displayName));
  }

  private changeMembership(eventId: string, adding: boolean, userName: string, groupDisplayName: string): void {
    const entry = this.users.get(key(userName));
    const groupExists = this.groups.has(key(groupDisplayName));
    if (!adding) {
      entry?.groups.delete(key(groupDisplayName));
      return;
    }
    if (!entry || !groupExists) throw new ModelViolationError(eventId, `membership.added for a user or group that does not exist`);
    entry.groups.add(key(groupDisplayName));
  }

  /** By ExternalId first (a changed UserName is a rename, not a new person), else by UserName. */
  private findUser(userName: string | undefined, externalIds: ExternalId[]): UserEntry | undefined {
    for (const externalId of externalIds) {
      const entry = this.byExternalId.get(externalKey(externalId));
      if (entry && this.users.get(key(entry.attributes.UserName)) === entry) return entry;
    }
    return userName === undefined ? undefined : this.users.get(key(userName));
  }

  private countDeletion(eventId: string): void {
    if (++this.deletions > this.limits.deletionCap) throw new ModelViolationError(eventId, 'more deletions than the deletion cap allows');
  }
}

const key = (name: string) => name.toLowerCase();
const externalKey = (externalId: ExternalId) => `${externalId.Issuer}\u0000${externalId.Id}`;
const byKey =
  <T>(keyOf: (item: T) => string) =>
  (a: T, b: T) =>
    key(keyOf(a)) < key(keyOf(b)) ? -1 : key(keyOf(a)) > key(keyOf(b)) ? 1 : 0;

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
