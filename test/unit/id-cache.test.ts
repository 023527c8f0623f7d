import { IdCache, withCachedLookups } from '../../lambdas/domain/id-cache';
import { NotFoundError } from '../../lambdas/domain/ports';
import { FixedClock, InMemoryIdentityStore } from '../support/in-memory-ports';
import { person } from '../support/events';

const STORE = 'd-1234567890';

function setup(ttlMs = 60_000) {
  const store = new InMemoryIdentityStore();
  const clock = new FixedClock();
  const cache = new IdCache(ttlMs, clock);
  return { store, clock, port: withCachedLookups(store, cache, STORE) };
}

const lookups = (store: InMemoryIdentityStore) => store.calls.filter((c) => c === 'GetUserId' || c === 'GetGroupId').length;

describe('cached id lookups', () => {
  it('answers a repeated lookup from the cache until the entry expires', async () => {
    const { store, clock, port } = setup();
    const id = store.seedUser(person('ada'));
    expect(await port.findUserIdByUserName('ada')).toBe(id);
    expect(await port.findUserIdByUserName('ADA')).toBe(id);
    expect(lookups(store)).toBe(1);
    clock.advance(60_001);
    await port.findUserIdByUserName('ada');
    expect(lookups(store)).toBe(2);
  });

  it('forgets an id when the user is deleted, renamed, or found missing', async () => {
    const { store, port } = setup();
    const id = store.seedUser(person('ada'));
    await port.findUserIdByUserName('ada');
    await port.updateUser(id, [{ attributePath: 'userName', attributeValue: 'ada.k' }]);
    expect(await port.findUserIdByUserName('ada')).toBeUndefined();

    const other = store.seedUser(person('bob'));
    await port.findUserIdByUserName('bob');
    store.users.delete(other); // deleted behind our back
    expect(await port.describeUser(other)).toBeUndefined();
    expect(await port.findUserIdByUserName('bob')).toBeUndefined();
  });

  it('forgets the ids of a write the store answers "not found", so the retry looks the names up again', async () => {
    const { store, port } = setup();
    const group = store.seedGroup('app-wiki');
    const user = store.seedUser(person('ada'));
    await port.findGroupIdByDisplayName('app-wiki');
    await port.findUserIdByUserName('ada');
    // Both deleted behind our back and made again under the same names.
    store.groups.delete(group);
    store.users.delete(user);
    const newerGroup = store.seedGroup('app-wiki');
    const newerUser = store.seedUser(person('ada'));
    await expect(port.createMembership(group, user)).rejects.toBeInstanceOf(NotFoundError);
    expect(await port.findGroupIdByDisplayName('app-wiki')).toBe(newerGroup);
    expect(await port.findUserIdByUserName('ada')).toBe(newerUser);

    await port.findGroupIdByDisplayName('app-wiki');
    store.groups.delete(newerGroup);
    await expect(port.updateGroup(newerGroup, [{ attributePath: 'description', attributeValue: 'x' }])).rejects.toBeInstanceOf(NotFoundError);
    expect(await port.findGroupIdByDisplayName('app-wiki')).toBeUndefined();
  });

  it('is a pass-through when the TTL is 0', async () => {
    const { store, port } = setup(0);
    store.seedGroup('Eng');
    await port.findGroupIdByDisplayName('Eng');
    await port.findGroupIdByDisplayName('Eng');
    expect(lookups(store)).toBe(2);
  });

  it('keys a group by its folded name, as the store compares names: Engineering and engineering are one entry', async () => {
    const { store, port } = setup();
    const id = store.seedGroup('Engineering');
    expect(await port.findGroupIdByDisplayName('Engineering')).toBe(id);
    expect(await port.findGroupIdByDisplayName('engineering')).toBe(id);
    expect(await port.findGroupIdByDisplayName('ENGINEERING')).toBe(id);
    expect(lookups(store)).toBe(1);
  });

  it('drops a group for every case it was looked up in when the group is deleted', async () => {
    const { store, port } = setup();
    const id = store.seedGroup('Engineering');
    await port.findGroupIdByDisplayName('engineering');
    await port.deleteGroup(id);
    expect(await port.findGroupIdByDisplayName('Engineering')).toBeUndefined();
    expect(lookups(store)).toBe(2);
  });

  it('answers a created group under any case of its name', async () => {
    const { store, port } = setup();
    const { groupId } = await port.createGroup({ displayName: 'Platform' });
    expect(await port.findGroupIdByDisplayName('PLATFORM')).toBe(groupId);
    expect(lookups(store)).toBe(0);
  });

  it('keys a user name folded too, including a created user', async () => {
    const { store, port } = setup();
    const { userId } = await port.createUser(person('Grace.Hopper'));
    expect(await port.findUserIdByUserName('grace.hopper')).toBe(userId);
    expect(lookups(store)).toBe(0);
  });

  it('never answers one ExternalId with the entry of another whose parts split differently', async () => {
    const { store, port } = setup();
    const first = store.seedUser(person('first'), [{ Issuer: 'hr|eu', Id: 'E-1' }]);
    const second = store.seedUser(person('second'), [{ Issuer: 'hr', Id: 'eu|E-1' }]);
    expect(await port.findUserIdByExternalId({ Issuer: 'hr|eu', Id: 'E-1' })).toBe(first);
    expect(await port.findUserIdByExternalId({ Issuer: 'hr', Id: 'eu|E-1' })).toBe(second);
  });

  it('keeps ExternalIds exact: folding them could answer one person with another', async () => {
    const { store, port } = setup();
    const upper = store.seedUser(person('upper'), [{ Issuer: 'hr', Id: 'E-1' }]);
    const lower = store.seedUser(person('lower'), [{ Issuer: 'hr', Id: 'e-1' }]);
    expect(await port.findUserIdByExternalId({ Issuer: 'hr', Id: 'E-1' })).toBe(upper);
    expect(await port.findUserIdByExternalId({ Issuer: 'hr', Id: 'e-1' })).toBe(lower);
  });
});
