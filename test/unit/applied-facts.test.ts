/**
 * Each applied change leaves, on its subjects' watermarks, what it left them as, by id: the facts
 * drift detection compares the store with. A change that could not know the ids (the subject was
 * already gone) leaves none; a superseded change leaves nothing at all.
 */
import { processDelivery } from '../../lambdas/domain/process-event';
import { subjectKey, membershipSetKeys, personKeys } from '../../lambdas/domain/ordering';
import { FixedClock, InMemoryAuditLog, InMemoryIdentityStore, InMemoryProcessingState } from '../support/in-memory-ports';
import { ada, at, events, person } from '../support/events';
import { TEST_ORIGIN, fullGrantQueueProducer, testProcessSettings } from '../support/producers';

const HR_ID = { Issuer: 'hr', Id: '1001' };

function harness(groups: string[] = ['*']) {
  const identityStore = new InMemoryIdentityStore();
  const state = new InMemoryProcessingState();
  const clock = new FixedClock(new Date(at(59)));
  const settings = { ...testProcessSettings(), producers: [{ ...fullGrantQueueProducer(), groups }] };
  const deps = { identityStore, state, audit: new InMemoryAuditLog(), clock, publisher: { publish: async () => {} }, pause: async () => {} };
  let n = 0;
  const deliver = async (event: object) => {
    const result = await processDelivery(
      JSON.stringify(event),
      { messageId: `m${++n}`, receiveCount: 1, maxReceiveCount: 5, receivedAt: clock.now(), deadline: new Date(clock.now().getTime() + 60_000), origin: TEST_ORIGIN },
      deps,
      settings,
    );
    expect(result.disposition.kind).toBe('ack');
    return result;
  };
  const factsOf = async (key: string) => (await state.getWatermarks([key])).get(key)?.applied;
  return { identityStore, state, deliver, factsOf };
}

describe('applied facts', () => {
  it('a joiner: the attributes it set on every name the person is known by, and the group ids of its complete list', async () => {
    const h = harness();
    const eng = (await h.deliver(events.groupUpserted('Engineering', { at: at(1), description: 'Builders' }))).record.groupId!;
    const joined = await h.deliver(events.userUpserted(ada({ ExternalIds: [HR_ID] }), { at: at(2), groups: ['Engineering'] }));
    const userId = joined.record.userId!;
    // The ExternalIds are kept apart (CreateUser cannot set them); the facts are the attributes.
    const attributes = ada();
    for (const key of personKeys('ada', [HR_ID])) expect(await h.factsOf(key)).toEqual({ kind: 'user', userId, attributes });
    for (const key of membershipSetKeys(personKeys('ada', [HR_ID]))) {
      expect(await h.factsOf(key)).toEqual({ kind: 'memberships', userId, groupIds: [eng], within: ['*'] });
    }
    expect(await h.factsOf(subjectKey.group('Engineering'))).toEqual({ kind: 'group', groupId: eng, displayName: 'Engineering', description: 'Builders' });
  });

  it('a user.upserted that changes nothing still says what the person should be (a NOOP is a decision too)', async () => {
    const h = harness();
    await h.deliver(events.userUpserted(person('grace'), { at: at(1) }));
    const again = await h.deliver(events.userUpserted(person('grace'), { at: at(2) }));
    expect(again.record.outcome).toBe('NOOP');
    expect((await h.state.getWatermarks([subjectKey.userName('grace')])).get(subjectKey.userName('grace'))).toMatchObject({
      eventId: again.eventId,
      applied: { kind: 'user', userId: again.record.userId },
    });
  });

  it('a rename leaves the same person (by id) on the old name and the new', async () => {
    const h = harness();
    const first = await h.deliver(events.userUpserted(ada({ ExternalIds: [HR_ID] }), { at: at(1) }));
    await h.deliver(events.userUpserted(ada({ UserName: 'ada.lovelace', ExternalIds: [HR_ID] }), { at: at(2) }));
    for (const name of ['ada', 'ada.lovelace']) {
      expect(await h.factsOf(subjectKey.userName(name))).toMatchObject({ kind: 'user', userId: first.record.userId, attributes: { UserName: 'ada.lovelace' } });
    }
  });

  it('membership events decide one pair; the grant bounds a group list', async () => {
    const h = harness(['app-*']);
    const wiki = (await h.deliver(events.groupUpserted('app-wiki', { at: at(1) }))).record.groupId!;
    const user = (await h.deliver(events.userUpserted(person('linus'), { at: at(2), groups: [] }))).record.userId!;
    expect(await h.factsOf(subjectKey.membershipsOf('linus'))).toEqual({ kind: 'memberships', userId: user, groupIds: [], within: ['app-*'] });
    await h.deliver(events.membership('membership.added', 'LINUS', 'app-wiki', { at: at(3) }));
    expect(await h.factsOf(subjectKey.membership('linus', 'app-wiki'))).toEqual({ kind: 'membership', userId: user, groupId: wiki, member: true });
    await h.deliver(events.membership('membership.removed', 'linus', 'app-wiki', { at: at(4) }));
    expect(await h.factsOf(subjectKey.membership('linus', 'app-wiki'))).toEqual({ kind: 'membership', userId: user, groupId: wiki, member: false });
    // Removing a pair that does not exist: the user is unknown, so no ids, so no facts.
    await h.deliver(events.membership('membership.removed', 'nobody', 'app-wiki', { at: at(5) }));
    expect(await h.factsOf(subjectKey.membership('nobody', 'app-wiki'))).toBeUndefined();
  });

  it('deletions say the subject should not exist; deleting what is already gone says nothing by id', async () => {
    const h = harness();
    const group = (await h.deliver(events.groupUpserted('Ops', { at: at(1) }))).record.groupId!;
    const user = (await h.deliver(events.userUpserted(person('ken'), { at: at(2) }))).record.userId!;
    await h.deliver(events.userDeleted({ userName: 'ken' }, { at: at(3) }));
    await h.deliver(events.groupDeleted('Ops', { at: at(4) }));
    expect(await h.factsOf(subjectKey.userName('ken'))).toEqual({ kind: 'user-deleted', userId: user });
    expect(await h.factsOf(subjectKey.membershipsOf('ken'))).toEqual({ kind: 'user-deleted', userId: user });
    expect(await h.factsOf(subjectKey.group('Ops'))).toEqual({ kind: 'group-deleted', groupId: group });
    await h.deliver(events.userDeleted({ userName: 'never-was' }, { at: at(5) }));
    expect((await h.state.getWatermarks([subjectKey.userName('never-was')])).get(subjectKey.userName('never-was'))).toMatchObject({ kind: 'deleted' });
    expect(await h.factsOf(subjectKey.userName('never-was'))).toBeUndefined();
  });

  it('a superseded change leaves the newer facts in place', async () => {
    const h = harness();
    const newer = await h.deliver(events.userUpserted(person('barbara'), { at: at(5) }));
    const late = await h.deliver(events.userUpserted({ ...person('barbara'), Title: 'late' }, { at: at(1) }));
    expect(late.record.outcome).toBe('SUPERSEDED');
    expect(await h.factsOf(subjectKey.userName('barbara'))).toEqual({ kind: 'user', userId: newer.record.userId, attributes: person('barbara') });
  });
});
