/**
 * A throttle whose RetryAfterSeconds does not fit in what is left of the invocation: the handler
 * must not sleep past its deadline, and must not lose the wait either. It reports the record as
 * failed and keeps it away (ChangeMessageVisibility) for at least the wait the service asked for.
 * Own file: the emulator's quota and the safety margin are fixed when the handler is imported.
 */
import { toSqsRecord } from '../../local/lambda/sqs-event';
import { deliver, failedMessageIds, lambdaContext, loadSqsEvent, receiveNow } from './support/delivery';
import { outcomesOf, userIdOf } from './support/store-view';
import { importHandler, startHandlerWorld, type HandlerWorld } from './support/world';

/** Real seconds, so the visibility the handler set compares directly with the owed wait. */
const SQS_SECOND_MS = 1000;
/** Far longer than any owed wait: a record back sooner came back because of RetryAfterSeconds. */
const REDELIVERY_BASE_DELAY_SECONDS = 600;
const RETRY_SAFETY_MARGIN_MS = 1000;
/**
 * Leaves 3 s of retry budget: less than the 5 s the throttled service asks for, and time enough
 * (however loaded the machine) for the lookup before the write, which needs a second of the
 * subject lease left (WRITE_LEASE_MARGIN_MS).
 */
const SHORT_REMAINING_MS = 4000;

let world: HandlerWorld;
let handler: ReturnType<typeof importHandler>;

beforeAll(async () => {
  world = await startHandlerWorld({
    queueKind: 'standard',
    maxReceiveCount: 5,
    redeliveryBaseDelaySeconds: REDELIVERY_BASE_DELAY_SECONDS,
    sqsSecondMs: SQS_SECOND_MS,
    retrySafetyMarginMs: RETRY_SAFETY_MARGIN_MS,
    // The function would allow itself 100 calls/s; the account allows one call per 5 s with no
    // burst, so the second call of the first event is throttled (RetryAfterSeconds: 5).
    requestsPerSecond: 100,
    emulatorTps: 0.2,
    emulatorBurst: 1,
  });
  handler = importHandler();
});

afterAll(async () => {
  await world?.stop();
});

describe('a RetryAfterSeconds wait that does not fit in the invocation', () => {
  it('reports the record failed, keeps it away for the owed wait, and applies it when it comes back', async () => {
    const event = await deliver(world, loadSqsEvent('sqs-event-throttled.json'));
    const [record] = event.Records;
    const invokedAt = Date.now();
    const response = await handler(event, lambdaContext(SHORT_REMAINING_MS));

    expect(failedMessageIds(response)).toEqual([record.messageId]);
    expect(world.emulator.stats().throttled.quota).toBeGreaterThanOrEqual(1);
    expect(await userIdOf(world, 'john.backus')).toBeUndefined();
    const [retrying] = await outcomesOf(world, 'hdl-thr-0001');
    expect(retrying).toMatchObject({ outcome: 'RETRYING', attempt: 1, errorCode: 'IDENTITY_STORE_THROTTLED' });
    expect(retrying.owedWaitMs).toBeGreaterThan(0);

    // Not back at once, back long before the 600 s redelivery backoff, and never before the owed
    // wait: the visibility was set from the throttle, counting from a moment after invokedAt.
    expect(await receiveNow(world)).toEqual([]);
    const [redelivered] = await receiveNow(world, 20);
    const redeliveredAt = Date.now();
    expect(redelivered?.MessageId).toBe(record.messageId);
    expect(redeliveredAt - invokedAt).toBeGreaterThanOrEqual(retrying.owedWaitMs!);

    // With the quota refilled and a normal deadline, the second delivery applies.
    const second = await handler({ Records: [toSqsRecord(redelivered, world.queue.arn)] }, lambdaContext(30_000));
    expect(failedMessageIds(second)).toEqual([]);
    expect(await userIdOf(world, 'john.backus')).toBeDefined();
    expect((await outcomesOf(world, 'hdl-thr-0001')).map((o) => [o.outcome, o.attempt])).toEqual([
      ['RETRYING', 1],
      ['APPLIED', 2],
    ]);
  });
});
