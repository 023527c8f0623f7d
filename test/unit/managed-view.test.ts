import { describeUsers, readManagedView, USERS_PER_PAUSE } from '../../lambdas/domain/managed-view';
import { InMemoryIdentityStore, InMemoryProcessingState } from '../support/in-memory-ports';
import { person } from '../support/events';

function store() {
  const identityStore = new InMemoryIdentityStore();
  const state = new InMemoryProcessingState();
  const ada = identityStore.seedUser(person('ada'));
  const bob = identityStore.seedUser(person('bob'));
  const appWiki = identityStore.seedGroup('app-wiki', 'The wiki');
  const appCrm = identityStore.seedGroup('App-CRM');
  const admins = identityStore.seedGroup('ControlTower-Admins');
  return { identityStore, state, ada, bob, appWiki, appCrm, admins };
}

async function member(s: ReturnType<typeof store>, groupId: string, userId: string) {
  return (await s.identityStore.createMembership(groupId, userId)).membershipId;
}

describe('readManagedView', () => {
  it('lists only the managed groups (prefix compared case-insensitively), with their members and descriptions', async () => {
    const s = store();
    const m1 = await member(s, s.appWiki, s.ada);
    await member(s, s.admins, s.bob);
    const view = await readManagedView(s.identityStore, s.state, { kind: 'prefix', prefix: 'app-' });
    expect(view.groups).toEqual([
      { groupId: s.appCrm, displayName: 'App-CRM', members: [] },
      { groupId: s.appWiki, displayName: 'app-wiki', description: 'The wiki', members: [{ userId: s.ada, membershipId: m1 }] },
    ]);
  });

  it('reads no membership of a group outside the scope and describes nobody unless asked', async () => {
    const s = store();
    await member(s, s.admins, s.bob);
    s.identityStore.calls.length = 0;
    const view = await readManagedView(s.identityStore, s.state, { kind: 'list', names: ['APP-WIKI'] });
    expect(view.groups.map((g) => g.displayName)).toEqual(['app-wiki']);
    expect(s.identityStore.calls).toEqual(['ListGroups', 'ListGroupMemberships']);
    expect(view.users.size).toBe(0);
  });

  it('with the default scope, takes groups marked managed and groups whose creation was recorded, without marking them', async () => {
    const s = store();
    await s.state.markManagedGroup(s.appWiki, 'app-wiki');
    await s.state.recordGroupCreationIntent('App-CRM');
    const view = await readManagedView(s.identityStore, s.state, { kind: 'created' });
    expect(view.groups.map((g) => g.groupId)).toEqual([s.appCrm, s.appWiki]);
    expect(s.state.managed.has(s.appCrm)).toBe(false);
  });

  it('describes the users asked for and, with describeMembers, every member; a missing user is recorded as absent', async () => {
    const s = store();
    await member(s, s.appWiki, s.bob);
    const view = await readManagedView(s.identityStore, s.state, { kind: 'prefix', prefix: 'app-' }, { describe: [s.ada, 'gone-user'], describeMembers: true });
    expect(view.users.get(s.ada)?.attributes.UserName).toBe('ada');
    expect(view.users.get(s.bob)?.attributes.UserName).toBe('bob');
    expect(view.users.has('gone-user')).toBe(true);
    expect(view.users.get('gone-user')).toBeUndefined();
  });

  it('pauses before each managed group and between batches of user descriptions', async () => {
    const s = store();
    let pauses = 0;
    const pause = async () => {
      pauses++;
    };
    const view = await readManagedView(s.identityStore, s.state, { kind: 'prefix', prefix: 'app-' }, { pause });
    expect(pauses).toBe(2);
    pauses = 0;
    const ids = Array.from({ length: USERS_PER_PAUSE * 2 + 1 }, (_, i) => s.identityStore.seedUser(person(`u${i}`)));
    s.identityStore.calls.length = 0;
    await describeUsers(s.identityStore, view, [...ids, ids[0]!], pause);
    expect(pauses).toBe(2);
    expect(s.identityStore.calls.filter((c) => c === 'DescribeUser')).toHaveLength(ids.length);
    await describeUsers(s.identityStore, view, ids, pause);
    expect(s.identityStore.calls.filter((c) => c === 'DescribeUser')).toHaveLength(ids.length);
  });
});
