import { IdCache, withCachedLookups } from '../../lambdas/domain/id-cache';
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

  it('is a pass-through when the TTL is 0', async () => {
    const { store, port } = setup(0);
    store.seedGroup('Eng');
    await port.findGroupIdByDisplayName('Eng');
    await port.findGroupIdByDisplayName('Eng');
    expect(lookups(store)).toBe(2);
  });
});
