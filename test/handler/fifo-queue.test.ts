/**
 * The real SQS consumer on a FIFO queue (QUEUE_KIND=fifo: SqsFifoPartialProcessor with
 * skipGroupOnError). A record that fails holds back the later records of its own message group,
 * so one person's changes keep their order, and nobody else's. Own file: QUEUE_KIND is read at import.
 */
import { deliver, failedMessageIds, lambdaContext, loadSqsEvent } from './support/delivery';
import { groupsOf, outcomesOf, userIdOf } from './support/store-view';
import { importHandler, startHandlerWorld, type HandlerWorld } from './support/world';

let world: HandlerWorld;
let handler: ReturnType<typeof importHandler>;

beforeAll(async () => {
  world = await startHandlerWorld({ queueKind: 'fifo', maxReceiveCount: 5, redeliveryBaseDelaySeconds: 10, sqsSecondMs: 100 });
  handler = importHandler();
});

afterAll(async () => {
  await world?.stop();
});

describe('the SQS consumer on a FIFO queue', () => {
  it("fails a group's later records after its first failure, and still applies the other group", async () => {
    // Interleaved groups: barbara.liskov (needs a group that does not exist, then a later change)
    // and frances.allen (creates a group, then joins it).
    const event = await deliver(world, loadSqsEvent('sqs-event-fifo.json'));
    const [barbaraFirst, compilers, barbaraLater, frances] = event.Records;
    expect(event.Records.map((r) => r.attributes.MessageGroupId)).toEqual([
      'barbara.liskov',
      'frances.allen',
      'barbara.liskov',
      'frances.allen',
    ]);

    const response = await handler(event, lambdaContext());

    expect(failedMessageIds(response)).toEqual([barbaraFirst.messageId, barbaraLater.messageId].sort());
    expect(failedMessageIds(response)).not.toContain(compilers.messageId);
    expect(failedMessageIds(response)).not.toContain(frances.messageId);
    expect(await groupsOf(world, 'frances.allen')).toEqual(['Compilers']);

    expect(await outcomesOf(world, 'hdl-fifo-0001')).toEqual([
      expect.objectContaining({ outcome: 'RETRYING', errorCode: 'GROUP_NOT_FOUND' }),
    ]);
    // The later change to the same person was not even tried: it must not overtake the first.
    expect(await outcomesOf(world, 'hdl-fifo-0003')).toEqual([]);
    expect((await outcomesOf(world, 'hdl-fifo-0004')).map((o) => o.outcome)).toEqual(['APPLIED']);
    expect(await userIdOf(world, 'frances.allen')).toBeDefined();
  });
});
