/** user.upserted and user.deleted. */
import { groupInGrant } from '../shared/producers';
import type { ExternalId, UserAttributes, UserDeleted, UserUpserted } from './identity-change';
import { EventRejectedError, RetryableError } from './errors';
import { type ApplyResult, type EngineRun, isDriftRepair, outcomeOf } from './engine-run';
import { membershipSetKeys, newerWatermark, personKeys, subjectKey } from './ordering';
import { AlreadyExistsError, NotFoundError, type StoredUser, type Watermark } from './ports';
import { advance, findGroupRef, groupNotFound, isManaged, requireManaged, reserveDeletion, staleOrGone, supersededBy, type GroupRef } from './steps';
import { diffUser, toOperations } from './user-diff';
import { findPerson, type PersonFound } from './find-person';

export async function applyUserUpserted(change: UserUpserted, run: EngineRun): Promise<ApplyResult> {
  const { ExternalIds: externalIds = [], ...attributes } = change.data.user;
  const { groups } = change.data;
  // Two aspects, ordered separately: the user's attributes, and (when the event lists them) the
  // user's membership set. A later change to one does not make this event's other one stale.
  const userKeys = personKeys(attributes.UserName, externalIds);
  const membershipKeys = membershipSetKeys(userKeys);
  const watermarks = await run.ports.state.getWatermarks([...userKeys, ...membershipKeys]);
  const newerUserChange = newerWatermark(watermarks, userKeys, run.context.occurredAt);
  const newerMembershipChange = newerWatermark(watermarks, membershipKeys, run.context.occurredAt);
  const applyAttributes = !newerUserChange;
  const applyGroups = groups !== undefined && !newerMembershipChange;
  // A later deletion makes all of it stale: never resurrect a user who has left.
  if (newerUserChange?.mark.kind === 'deleted' || (!applyAttributes && !applyGroups)) {
    const newer = newerUserChange ?? newerMembershipChange!;
    return { outcome: 'SUPERSEDED', reason: describeNewer(newer), userName: attributes.UserName, writes: 0 };
  }

  const { identityStore, state } = run.ports;
  let user = await findUser(run, { userName: attributes.UserName, externalIds });
  let previousUserName: string | undefined;

  if (!user && !applyAttributes) {
    // A newer change to this person was applied, yet the person is gone: nothing left to do here.
    return { outcome: 'SUPERSEDED', reason: describeNewer(newerUserChange!), userName: attributes.UserName, writes: 0 };
  }
  if (!user && isDriftRepair(run)) {
    // Drift never asks for a missing user (drift.ts: it may be a leaver); a repair whose user was
    // deleted since drift read it (in the console, or by a leaver applied meanwhile) must not
    // re-create them either.
    return { outcome: 'NOOP', reason: 'the user no longer exists, and a drift repair does not re-create a user', userName: attributes.UserName, writes: 0 };
  }
  let created = false;
  if (!user) {
    try {
      const { userId, receipt } = await identityStore.createUser(attributes);
      await run.writes.record(
        {
          action: 'CreateUser',
          userId,
          userName: attributes.UserName,
          changes: diffUser(attributes, {} as UserAttributes),
        },
        receipt,
      );
      user = { userId, attributes, externalIds: [] };
      created = true;
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error;
      // The name exists after all: a concurrent creation, or our own CreateUser whose response was
      // lost and which the SDK retried. Converge on that user.
      user = await findUser(run, { userName: attributes.UserName, externalIds: [] });
      if (!user) throw new RetryableError('USER_CREATE_RACE', 'the user name was taken and released concurrently');
    }
  }
  if (!created && applyAttributes) {
    const changes = diffUser(attributes, user.attributes);
    if (changes.length > 0) {
      previousUserName = changes.some((c) => c.path === 'userName') ? user.attributes.UserName : undefined;
      try {
        const receipt = await identityStore.updateUser(user.userId, toOperations(changes));
        await run.writes.record({ action: 'UpdateUser', userId: user.userId, userName: attributes.UserName, changes }, receipt);
      } catch (error) {
        throw translateUserWriteError(error, 'update');
      }
    }
  }

  // Remember which person these ExternalIds name: CreateUser cannot store them in the Identity Store.
  for (const externalId of externalIds) await state.putUserIdForExternalId(externalId, user.userId);

  const groupIds = applyGroups ? await reconcileGroups(run, { userId: user.userId, userName: attributes.UserName, isNew: created }, groups!) : [];

  if (applyAttributes) {
    const keys = previousUserName ? [...userKeys, subjectKey.userName(previousUserName)] : userKeys;
    await advance(run, keys, 'upserted', { kind: 'user', userId: user.userId, attributes });
  }
  if (applyGroups) {
    const keys = previousUserName ? [...membershipKeys, subjectKey.membershipsOf(previousUserName)] : membershipKeys;
    await advance(run, keys, 'reconciled', { kind: 'memberships', userId: user.userId, groupIds, within: [...run.context.grant.groups] });
  }
  const partly = applyAttributes ? undefined : `attributes not applied: ${describeNewer(newerUserChange!)}; groups applied`;
  return { outcome: outcomeOf(run), reason: partly, userId: user.userId, userName: attributes.UserName, writes: run.writes.count };
}

function describeNewer(newer: { key: string; mark: Watermark }): string {
  return `a newer change (${newer.mark.eventId}, ${newer.mark.kind} at ${newer.mark.occurredAt}) already applied to ${newer.key.split(':')[0]}`;
}

export async function applyUserDeleted(change: UserDeleted, run: EngineRun): Promise<ApplyResult> {
  const { userName, externalId } = change.data;
  const named = personKeys(userName, externalId ? [externalId] : []);
  const keys = [...named, ...membershipSetKeys(named)];
  const superseded = await supersededBy(run, keys);
  if (superseded) return { ...superseded, userName };

  const { user, gone } = await findPersonOf(run, { userName, externalIds: externalId ? [externalId] : [] });
  if (!user) return alreadyDeleted(run, { named, userName }, gone);
  const resolvedName = user.attributes.UserName;
  await reserveDeletion(run, 'user');

  // DeleteUser ends every membership of the user, in any group: the Identity Store removes them
  // with the user. No rule needs them listed first: a producer granted user.deleted may delete any
  // user, whatever groups they are in (docs/security.md), and the deletion takes one slot of the
  // cap however many groups it empties. The DeleteUser record's userId is what ends them in the
  // audit trail.
  const { identityStore } = run.ports;
  try {
    const receipt = await identityStore.deleteUser(user.userId);
    await run.writes.record({ action: 'DeleteUser', userId: user.userId, userName: resolvedName }, receipt);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    await staleOrGone(await identityStore.findUserIdByUserName(resolvedName, { fresh: true }), user.userId, 'user');
  }

  const everyName = [...named, ...personKeys(resolvedName, user.externalIds)];
  const tombstones = [...everyName, ...membershipSetKeys(everyName)];
  await advance(run, tombstones, 'deleted', { kind: 'user-deleted', userId: user.userId });
  return { outcome: outcomeOf(run), userId: user.userId, userName: resolvedName, writes: run.writes.count };
}

/**
 * user.deleted found nobody to delete. That is a NOOP, but not one to forget: when this service
 * knew the person by a UserId the store no longer holds (an earlier attempt's DeleteUser whose
 * response or WRITE record was lost, or a deletion outside the service), the outcome names that
 * UserId and the tombstones carry the `user-deleted` fact, as if this attempt had made the
 * deletion. Without it the joiner's facts would still say the user exists (drift: user-missing).
 */
async function alreadyDeleted(run: EngineRun, event: { named: string[]; userName?: string }, gone: string[]): Promise<ApplyResult> {
  const known = await knownUserGone(run, [...event.named, ...membershipSetKeys(event.named)], gone);
  // The name the service gave them too, as the applied path tombstones the name the store held.
  const everyName = [...event.named, ...personKeys(known?.userName, [])];
  await advance(run, [...everyName, ...membershipSetKeys(everyName)], 'deleted', known && { kind: 'user-deleted', userId: known.userId });
  if (!known) return { outcome: 'NOOP', reason: 'the user does not exist (already deleted)', userName: event.userName, writes: 0 };
  const reason = 'the user does not exist (already deleted): the user this service knew by these names is gone';
  return { outcome: 'NOOP', reason, userId: known.userId, userName: event.userName ?? known.userName, writes: 0 };
}

/**
 * The UserId this service knew the person by, gone from the store: one the lookups found gone
 * (the ExternalId mapping's first), else one the facts on the event's keys name (the latest
 * first): a deletion already recorded stays recorded, any other id must be gone (DescribeUser).
 */
async function knownUserGone(run: EngineRun, keys: string[], gone: string[]): Promise<{ userId: string; userName?: string } | undefined> {
  const facts = [...(await run.ports.state.getWatermarks(keys)).values()]
    .sort((a, b) => (a.occurredAt < b.occurredAt ? 1 : a.occurredAt > b.occurredAt ? -1 : 0))
    .flatMap(({ applied }) => (applied?.kind === 'user' || applied?.kind === 'user-deleted' || applied?.kind === 'memberships' ? [applied] : []));
  const known = (userId: string) => ({
    userId,
    userName: facts.flatMap((fact) => (fact.kind === 'user' && fact.userId === userId ? [fact.attributes.UserName] : []))[0],
  });
  if (gone[0] !== undefined) return known(gone[0]);
  const recorded = new Set(facts.flatMap((fact) => (fact.kind === 'user-deleted' ? [fact.userId] : [])));
  for (const userId of new Set(facts.map((fact) => fact.userId))) {
    if (recorded.has(userId) || !(await run.ports.identityStore.describeUser(userId))) return known(userId);
  }
  return undefined;
}

/** The person the event names, found as find-person.ts finds people. */
async function findPersonOf(run: EngineRun, by: { userName?: string; externalIds: ExternalId[] }): Promise<PersonFound> {
  const { identityStore, state } = run.ports;
  return findPerson({ identityStore, state, describe: (userId) => identityStore.describeUser(userId) }, by);
}

async function findUser(run: EngineRun, by: { userName?: string; externalIds: ExternalId[] }): Promise<StoredUser | undefined> {
  return (await findPersonOf(run, by)).user;
}

/**
 * Make the user's memberships exactly `desired` within the groups this event may speak for: those
 * both in the managed scope and in its producer's grant. With several producers, `groups` is the
 * complete list within the sender's grant: the HR feed's list says nothing about the `app-*` groups
 * an access portal manages, so a membership outside the grant is left alone (and does not count
 * towards the removal cap). A membership a newer membership.added/removed decided is left alone too.
 * Every desired group is in the grant already (checked before the engine ran).
 * Returns the desired groups' ids: what the user's membership set is now meant to be.
 */
async function reconcileGroups(
  run: EngineRun,
  user: { userId: string; userName: string; isNew: boolean },
  desired: string[],
): Promise<string[]> {
  const { identityStore, state } = run.ports;
  const { userId, userName } = user;
  const desiredGroups = new Map<string, GroupRef>();
  for (const displayName of new Set(desired)) {
    const group = await findGroupRef(run, displayName);
    if (!group) throw groupNotFound(displayName);
    await requireManaged(run, group, 'add a member to it');
    desiredGroups.set(group.groupId, group);
  }

  // A user this very event created has no memberships yet: no need to ask.
  const current = user.isNew ? [] : await identityStore.listMembershipsForUser(userId);
  const currentGroupIds = new Set(current.map((m) => m.groupId));
  const toAdd = [...desiredGroups.values()].filter((g) => !currentGroupIds.has(g.groupId));
  const toRemove: { membershipId: string; group: GroupRef }[] = [];
  for (const membership of current) {
    if (desiredGroups.has(membership.groupId)) continue;
    const group = await identityStore.describeGroup(membership.groupId);
    if (!group) continue;
    if (!groupInGrant(group.displayName, run.context.grant.groups)) continue;
    if (await isManaged(run, group)) toRemove.push({ membershipId: membership.membershipId, group });
  }

  const pairKey = (group: GroupRef) => subjectKey.membership(userName, group.displayName);
  const pairMarks = await state.getWatermarks([...toAdd, ...toRemove.map((r) => r.group)].map(pairKey));
  const decidedLater = (group: GroupRef) => newerWatermark(pairMarks, [pairKey(group)], run.context.occurredAt) !== undefined;
  const adds = toAdd.filter((g) => !decidedLater(g));
  const removals = toRemove.filter((r) => !decidedLater(r.group));
  if (removals.length > run.settings.maxMembershipRemovalsPerEvent) {
    throw new EventRejectedError(
      'TOO_MANY_REMOVALS',
      `data.groups would remove ${removals.length} memberships at once (in groups producer "${run.context.sender.producer}" may touch), more than the configured maximum of ${run.settings.maxMembershipRemovalsPerEvent}; refusing (split the change or raise the limit)`,
    );
  }

  for (const group of adds) {
    try {
      const { membershipId, receipt } = await identityStore.createMembership(group.groupId, userId);
      await run.writes.record(
        { action: 'CreateGroupMembership', userId, userName, groupId: group.groupId, groupDisplayName: group.displayName, membershipId },
        receipt,
      );
    } catch (error) {
      if (error instanceof AlreadyExistsError) continue;
      throw translateMembershipWriteError(error, group.displayName);
    }
  }
  for (const { membershipId, group } of removals) {
    try {
      const receipt = await identityStore.deleteMembership(membershipId);
      await run.writes.record(
        { action: 'DeleteGroupMembership', userId, userName, groupId: group.groupId, groupDisplayName: group.displayName, membershipId },
        receipt,
      );
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }
  return [...desiredGroups.keys()];
}

function translateUserWriteError(error: unknown, what: string): unknown {
  if (error instanceof AlreadyExistsError) {
    // Another user holds the new user name; a pending delete or rename may free it.
    return new RetryableError('USER_NAME_TAKEN', `cannot ${what} the user: the new user name belongs to another user`);
  }
  if (error instanceof NotFoundError) {
    return new RetryableError('STALE_REFERENCE', `the user disappeared during the ${what}; will look it up again`);
  }
  return error;
}

export function translateMembershipWriteError(error: unknown, groupDisplayName: string): unknown {
  if (error instanceof NotFoundError) {
    return new RetryableError(
      'STALE_REFERENCE',
      `the user or group "${groupDisplayName}" disappeared while adding the membership; will look them up again`,
    );
  }
  return error;
}
