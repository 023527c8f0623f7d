/**
 * An event id reused for a different change is not a duplicate: answered from the idempotency
 * store, the second change would vanish with no record. Real handler, local SQS, dynalite,
 * emulator.
 */
import { EVENT_TYPES } from '../../lambdas/domain/identity-change';
import { at, events, person } from '../support/events';
import { deliver, failedMessageIds, lambdaContext, sqsEventOf } from './support/delivery';
import { deadLetters, groupsOf, outcomesOf } from './support/store-view';
import { importHandler, startHandlerWorld, type HandlerWorld } from './support/world';

let world: HandlerWorld;
let handler: ReturnType<typeof importHandler>;

beforeAll(async () => {
  world = await startHandlerWorld({
    queueKind: 'standard',
    maxReceiveCount: 3,
    redeliveryBaseDelaySeconds: 10,
    sqsSecondMs: 100,
    producers: [{ name: 'tests', via: 'queue', eventTypes: [...EVENT_TYPES], groups: ['*'] }],
  });
  handler = importHandler();
  await run([events.groupUpserted('Everyone', { id: 'reuse-scene-1', at: at(1) }), events.groupUpserted('Admins', { id: 'reuse-scene-2', at: at(1) })]);
});

afterAll(async () => {
  await world?.stop();
});

async function run(bodies: (object | string)[]) {
  const response = await handler(await deliver(world, sqsEventOf(bodies)), lambdaContext());
  expect(failedMessageIds(response)).toEqual([]);
}

it('a reused id with other content is REJECTED as ID_REUSED, recorded, dead-lettered with the reason; the first change stands', async () => {
  await run([events.userUpserted(person('grace'), { id: 'reuse-grace', groups: ['Everyone'], at: at(5) })]);
  // The same id, now asking for Admins (and dated later, so it is not merely superseded).
  await run([events.userUpserted(person('grace'), { id: 'reuse-grace', groups: ['Admins'], at: at(6) })]);

  expect(await groupsOf(world, 'grace')).toEqual(['Everyone']);
  const outcomes = await outcomesOf(world, 'reuse-grace');
  expect(outcomes.map((o) => [o.outcome, o.errorCode])).toEqual([
    ['APPLIED', undefined],
    ['REJECTED', 'ID_REUSED'],
  ]);
  expect(outcomes[1]).toMatchObject({ producer: 'tests', via: 'queue', writes: 0, type: 'user.upserted' });
  expect(outcomes[1]!.errorMessage).toMatch(/^id: "reuse-grace" was already used by this producer, within the last 60 minutes, for a different change/);
  const letter = deadLetters(world).find((l) => l.attributes.eventId === 'reuse-grace');
  expect(letter?.attributes).toMatchObject({ rejectionCode: 'ID_REUSED', rejectionReason: outcomes[1]!.errorMessage });
  expect(JSON.parse(letter!.body).data.groups).toEqual(['Admins']);
});

it('the same content again, even with its keys in another order, is still a duplicate: no record, no dead letter', async () => {
  const event = events.userUpserted(person('alan'), { id: 'reuse-alan', groups: ['Everyone'], at: at(7) });
  await run([event]);
  const reordered = Object.fromEntries(Object.entries(event).reverse());
  await run([JSON.stringify(reordered), JSON.stringify(event)]);

  expect((await outcomesOf(world, 'reuse-alan')).map((o) => o.outcome)).toEqual(['APPLIED']);
  expect(deadLetters(world).filter((l) => l.attributes.eventId === 'reuse-alan')).toEqual([]);
});
