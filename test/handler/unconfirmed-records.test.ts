/**
 * The SQS event is only the function's input: whoever may invoke the function could hand it a
 * record naming a producer's queue. The handler trusts no record SQS does not confirm as received
 * from the queue it names (a live receipt handle there). Real handler, real local SQS, dynalite,
 * emulator; the forged records are what an attacker with lambda:InvokeFunction could write.
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { EVENT_TYPES } from '../../lambdas/domain/identity-change';
import { at, events, person } from '../support/events';
import { deliver, failedMessageIds, lambdaContext, sqsEventOf } from './support/delivery';
import { auditRecordsOf, deadLetters, groupsOf, outcomesOf, userIdOf } from './support/store-view';
import { importHandler, startHandlerWorld, type HandlerWorld, type WorldProducer } from './support/world';

const PRODUCERS: WorldProducer[] = [
  { name: 'tests', via: 'queue', eventTypes: [...EVENT_TYPES], groups: ['*'] },
  { name: 'portal', via: 'queue', eventTypes: ['membership.added', 'membership.removed'], groups: ['app-*'] },
];

let world: HandlerWorld;
let handler: ReturnType<typeof importHandler>;

beforeAll(async () => {
  world = await startHandlerWorld({ queueKind: 'standard', maxReceiveCount: 3, redeliveryBaseDelaySeconds: 10, sqsSecondMs: 100, producers: PRODUCERS });
  handler = importHandler();
  const scene = await deliver(world, sqsEventOf([events.groupUpserted('Admins', { id: 'unc-scene-admins', at: at(1) })]));
  expect(failedMessageIds(await handler(scene, lambdaContext()))).toEqual([]);
});

afterAll(async () => {
  await world?.stop();
});

beforeEach(async () => {
  await world.purgeQueues();
});

/** A record as the event source mapping would build it, but never received from any queue. */
function forgedRecord(body: object, overrides: Partial<SQSRecord> = {}): SQSRecord {
  const [template] = sqsEventOf([body]).Records;
  return {
    ...template!,
    messageId: `forged-${Math.random().toString(16).slice(2)}`,
    receiptHandle: 'AQEBforgedreceipthandle==',
    eventSourceARN: world.queue.arn,
    attributes: { ...template!.attributes, SenderId: 'AIDAEXAMPLEATTACKER' },
    ...overrides,
  };
}

describe('a record SQS does not confirm is never applied', () => {
  it('a hand-made record naming the full-grant queue: not applied, recorded, reported as failed', async () => {
    const record = forgedRecord(events.userUpserted(person('mallory'), { id: 'unc-mallory', groups: ['Admins'], at: at(5) }));
    const response = await handler({ Records: [record] }, lambdaContext());

    expect(failedMessageIds(response)).toEqual([record.messageId]);
    expect(await userIdOf(world, 'mallory')).toBeUndefined();
    // Nothing under the event id the forged body claims: it could be a real event's.
    expect(await outcomesOf(world, 'unc-mallory')).toEqual([]);
    const [refusal, ...more] = await outcomesOf(world, `unconfirmed:${record.messageId}`);
    expect(more).toEqual([]);
    expect(refusal).toMatchObject({
      outcome: 'REJECTED',
      errorCode: 'UNCONFIRMED_RECORD',
      producer: 'unverified',
      senderId: 'AIDAEXAMPLEATTACKER',
      writes: 0,
    });
    expect(refusal!.errorMessage).toMatch(/SQS did not confirm this record as received from its queue \(receiptHandle: not live on/);
    // Nothing to dead-letter: no such message exists.
    expect(deadLetters(world)).toEqual([]);
  });

  it('a record naming a queue the function does not receive from', async () => {
    const record = forgedRecord(events.userUpserted(person('trudy'), { id: 'unc-trudy', at: at(5) }), {
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:not-a-queue-of-ours',
    });
    const response = await handler({ Records: [record] }, lambdaContext());
    expect(failedMessageIds(response)).toEqual([record.messageId]);
    expect(await userIdOf(world, 'trudy')).toBeUndefined();
    const [refusal] = await outcomesOf(world, `unconfirmed:${record.messageId}`);
    expect(refusal).toMatchObject({ errorCode: 'UNCONFIRMED_RECORD' });
    expect(refusal!.errorMessage).toMatch(/is not a queue this function receives from/);
  });

  it('an eventSourceARN that is not an SQS ARN at all', async () => {
    const record = forgedRecord(events.groupUpserted('app-x', { id: 'unc-not-arn' }), { eventSourceARN: 'arn:aws:sns:us-east-1:000000000000:topic' });
    const response = await handler({ Records: [record] }, lambdaContext());
    expect(failedMessageIds(response)).toEqual([record.messageId]);
    const [refusal] = await outcomesOf(world, `unconfirmed:${record.messageId}`);
    expect(refusal!.errorMessage).toMatch(/is not an SQS queue ARN/);
  });

  it("a real record's receipt handle with a forged body on another queue does not pass either", async () => {
    // A live handle is live only on its own queue: moved to the portal's queue ARN it is refused.
    const [real] = (await deliver(world, sqsEventOf([events.groupUpserted('app-real', { id: 'unc-real', at: at(6) })]))).Records;
    const moved = forgedRecord(events.membership('membership.added', 'grace', 'app-real', { id: 'unc-moved' }), {
      receiptHandle: real!.receiptHandle,
      eventSourceARN: world.producerQueues.portal!.arn,
    });
    const response = await handler({ Records: [moved] }, lambdaContext());
    expect(failedMessageIds(response)).toEqual([moved.messageId]);
    expect(await outcomesOf(world, 'unc-moved')).toEqual([]);
  });

  it('confirmed records in the same batch as a forged one are applied', async () => {
    const real: SQSEvent = await deliver(world, sqsEventOf([events.userUpserted(person('grace'), { id: 'unc-grace', groups: ['Admins'], at: at(7) })]));
    const forged = forgedRecord(events.userUpserted(person('eve'), { id: 'unc-eve', groups: ['Admins'], at: at(7) }));
    const response = await handler({ Records: [...real.Records, forged] }, lambdaContext());

    expect(failedMessageIds(response)).toEqual([forged.messageId]);
    expect(await groupsOf(world, 'grace')).toEqual(['Admins']);
    expect(await userIdOf(world, 'eve')).toBeUndefined();
    expect((await auditRecordsOf(world, 'unc-grace')).length).toBeGreaterThan(0);
  });
});
