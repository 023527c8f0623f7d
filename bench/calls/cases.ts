/**
 * One case per kind of change: the state to set up first (groups, then users, through the
 * pipeline like any other events) and the single event whose Identity Store calls are counted.
 * Every case has its own people and groups, so the cases cannot disturb one another.
 */
import type { IdentityChange } from '../../lambdas/domain/identity-change';
import { EventFactory, person } from '../workload/people';
import type { ChangeShape } from './minimum-calls';

export interface CallsCase {
  key: string;
  /** What a reader sees in the table. */
  label: string;
  shape: ChangeShape;
  setupGroups: IdentityChange[];
  setupUsers: IdentityChange[];
  measured: IdentityChange;
  expectedOutcome: 'APPLIED' | 'NOOP';
}

export function callsCases(): CallsCase[] {
  const events = new EventFactory('calls');
  const groupName = (tag: string, name: string) => `Bench ${tag} ${name}`;

  const joiner = person(1, 'Engineering', 'join');
  const joinGroups = [groupName('join', 'Everyone'), groupName('join', 'Engineering')];

  const updated = person(2, 'Engineering', 'update');
  const unchanged = person(3, 'Engineering', 'same');

  const mover = person(4, 'Engineering', 'move');
  const [moveEveryone, moveFrom, moveTo] = ['Everyone', 'Engineering', 'Platform'].map((n) => groupName('move', n));

  const leaver = person(5, 'Engineering', 'leave');
  const leaveGroups = [groupName('leave', 'Everyone'), groupName('leave', 'Engineering')];

  const doomedGroup = groupName('gdel', 'Project');
  const doomedMembers = [person(6, 'Data', 'gdel'), person(7, 'Data', 'gdel')];

  const adding = person(8, 'Finance', 'madd');
  const addTo = groupName('madd', 'Finance');
  const removing = person(9, 'Finance', 'mrem');
  const removeFrom = groupName('mrem', 'Finance');

  // Built in this order so every measured event is newer than its own setup.
  const cases: Omit<CallsCase, 'measured'>[] = [
    {
      key: 'joinerWithTwoGroups',
      label: 'user.upserted: joiner, 2 groups',
      shape: { kind: 'user.created', groups: 2 },
      setupGroups: joinGroups.map((g) => events.groupUpserted(g)),
      setupUsers: [],
      expectedOutcome: 'APPLIED',
    },
    {
      key: 'oneAttributeChanged',
      label: 'user.upserted: one attribute changed',
      shape: { kind: 'user.updated' },
      setupGroups: [],
      setupUsers: [events.userUpserted(updated)],
      expectedOutcome: 'APPLIED',
    },
    {
      key: 'nothingChanged',
      label: 'user.upserted: nothing changed',
      shape: { kind: 'user.unchanged' },
      setupGroups: [],
      setupUsers: [events.userUpserted(unchanged)],
      expectedOutcome: 'NOOP',
    },
    {
      key: 'groupMove',
      label: 'user.upserted: group move (2 groups, 1 swapped)',
      shape: { kind: 'user.groupsReplaced', groups: 2, added: 1, removed: 1 },
      setupGroups: [moveEveryone, moveFrom, moveTo].map((g) => events.groupUpserted(g)),
      setupUsers: [events.userUpserted(mover, [moveEveryone, moveFrom])],
      expectedOutcome: 'APPLIED',
    },
    {
      key: 'userDeleted',
      label: 'user.deleted: by ExternalId, in 2 groups',
      shape: { kind: 'user.deletedByExternalId' },
      setupGroups: leaveGroups.map((g) => events.groupUpserted(g)),
      setupUsers: [events.userUpserted(leaver, leaveGroups)],
      expectedOutcome: 'APPLIED',
    },
    {
      key: 'groupCreated',
      label: 'group.upserted: new group',
      shape: { kind: 'group.created' },
      setupGroups: [],
      setupUsers: [],
      expectedOutcome: 'APPLIED',
    },
    {
      key: 'groupDeleted',
      label: 'group.deleted: 2 members',
      shape: { kind: 'group.deleted' },
      setupGroups: [events.groupUpserted(doomedGroup)],
      setupUsers: doomedMembers.map((p) => events.userUpserted(p, [doomedGroup])),
      expectedOutcome: 'APPLIED',
    },
    {
      key: 'membershipAdded',
      label: 'membership.added',
      shape: { kind: 'membership.added' },
      setupGroups: [events.groupUpserted(addTo)],
      setupUsers: [events.userUpserted(adding)],
      expectedOutcome: 'APPLIED',
    },
    {
      key: 'membershipRemoved',
      label: 'membership.removed',
      shape: { kind: 'membership.removed' },
      setupGroups: [events.groupUpserted(removeFrom)],
      setupUsers: [events.userUpserted(removing, [removeFrom])],
      expectedOutcome: 'APPLIED',
    },
  ];

  const measured: Record<string, IdentityChange> = {
    joinerWithTwoGroups: events.userUpserted(joiner, joinGroups),
    oneAttributeChanged: events.userUpserted({ ...updated, title: 'Senior Engineer' }),
    nothingChanged: events.userUpserted(unchanged),
    groupMove: events.userUpserted(mover, [moveEveryone, moveTo]),
    userDeleted: events.userDeletedByExternalId(leaver),
    groupCreated: events.groupUpserted(groupName('new', 'Guild')),
    groupDeleted: events.groupDeleted(doomedGroup),
    membershipAdded: events.membership('membership.added', adding, addTo),
    membershipRemoved: events.membership('membership.removed', removing, removeFrom),
  };
  return cases.map((c) => {
    if (!measured[c.key]) throw new Error(`no measured event for case ${c.key}`);
    return { ...c, measured: measured[c.key] };
  });
}
