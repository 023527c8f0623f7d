/**
 * The real SQS consumer (lambdas/handlers/sqs-consumer.ts) on a standard queue, in the style of
 * Powertools' "testing your code": an SQS event fixture in, batchItemFailures out, and then what
 * the identity store, the audit trail, the DLQ and the bus hold. Every dependency is real and on
 * loopback; fixture messages really sit on the local queue, so visibility changes are real too.
 */
import { toSqsRecord } from '../../local/lambda/sqs-event';
import { deliver, failedMessageIds, lambdaContext, loadSqsEvent, receiveNow } from './support/delivery';
import {
  auditedWritesOf,
  deadLetters,
  groupIdOf,
  groupsOf,
  outcomeEventsOf,
  outcomesOf,
  userIdOf,
} from './support/store-view';
import { importHandler, startHandlerWorld, type HandlerWorld } from './support/world';

/** One SQS second lasts 100 ms here: a 10 s redelivery delay is 1 s of test time. */
const SQS_SECOND_MS = 100;
const REDELIVERY_BASE_DELAY_SECONDS = 10;
const MAX_RECEIVE_COUNT = 3;

let world: HandlerWorld;
let handler: ReturnType<typeof importHandler>;

beforeAll(async () => {
  world = await startHandlerWorld({
    queueKind: 'standard',
    maxReceiveCount: MAX_RECEIVE_COUNT,
    redeliveryBaseDelaySeconds: REDELIVERY_BASE_DELAY_SECONDS,
    sqsSecondMs: SQS_SECOND_MS,
  });
  // The handler reads its configuration at import: only now is the environment in place.
  handler = importHandler();
});

afterAll(async () => {
  await world?.stop();
});

beforeEach(async () => {
  await world.purgeQueues();
});

describe('the SQS consumer on a standard queue', () => {
  it('applies groups, then joiners delivered through EventBridge, and announces each result on the bus', async () => {
    const groups = await deliver(world, loadSqsEvent('sqs-event-groups.json'));
    expect(failedMessageIds(await handler(groups, lambdaContext()))).toEqual([]);

    const joiners = await deliver(world, loadSqsEvent('sqs-event-eventbridge-joiners.json'), { queue: world.busQueue });
    expect(failedMessageIds(await handler(joiners, lambdaContext()))).toEqual([]);

    expect(await groupsOf(world, 'grace.hopper')).toEqual(['Engineering', 'Everyone', 'Platform']);
    expect(await groupsOf(world, 'alan.turing')).toEqual(['Everyone', 'Platform']);

    const graceId = await userIdOf(world, 'grace.hopper');
    expect(outcomeEventsOf(world, 'hdl-join-0001')).toEqual([
      {
        detailType: 'identity.change.applied',
        source: 'identity-provisioner',
        detail: expect.objectContaining({ type: 'user.upserted', outcome: 'APPLIED', userId: graceId, attempt: 1 }),
      },
    ]);
    const engineeringId = await groupIdOf(world, 'Engineering');
    expect(outcomeEventsOf(world, 'hdl-grp-0002')).toEqual([
      {
        detailType: 'identity.change.applied',
        source: 'identity-provisioner',
        detail: expect.objectContaining({ type: 'group.upserted', outcome: 'APPLIED', groupId: engineeringId }),
      },
    ]);
    expect(outcomeEventsOf(world, 'hdl-join-0003')[0].detail).toMatchObject({ userId: graceId, groupId: await groupIdOf(world, 'Platform') });

    expect(await outcomesOf(world, 'hdl-join-0001')).toEqual([
      expect.objectContaining({ outcome: 'APPLIED', attempt: 1, source: 'identity-provisioner.hr', producer: 'hr', via: 'bus', userName: 'grace.hopper', userId: graceId, writes: 3 }),
    ]);
    expect(await auditedWritesOf(world, 'hdl-join-0001')).toEqual(['CreateUser', 'CreateGroupMembership', 'CreateGroupMembership']);
  });

  it('reports only the record whose group does not exist yet, and keeps it away for the redelivery delay', async () => {
    const event = await deliver(world, loadSqsEvent('sqs-event-partial-failure.json'));
    const waiting = event.Records[2];
    const invokedAt = Date.now();
    const response = await handler(event, lambdaContext());

    expect(failedMessageIds(response)).toEqual([waiting.messageId]);
    expect(await groupIdOf(world, 'Support')).toBeDefined();
    expect(await userIdOf(world, 'katherine.johnson')).toBeDefined();
    // The user is created; only the membership waits for its group.
    expect(await groupsOf(world, 'margaret.hamilton')).toEqual([]);
    expect(await outcomesOf(world, 'hdl-part-0003')).toEqual([
      expect.objectContaining({
        outcome: 'RETRYING',
        attempt: Number(waiting.attributes.ApproximateReceiveCount),
        errorCode: 'GROUP_NOT_FOUND',
        errorMessage: expect.stringContaining('"Apollo Guidance" does not exist yet'),
      }),
    ]);
    expect(outcomeEventsOf(world, 'hdl-part-0003')).toEqual([]); // RETRYING is not an outcome

    // The queue's own visibility timeout is 12 hours: only the handler's ChangeMessageVisibility
    // brings the record back, and not before base * 2^(1-1) = 10 SQS seconds.
    expect(await receiveNow(world)).toEqual([]);
    const [redelivered] = await receiveNow(world, 20);
    const redeliveredAt = Date.now();
    expect(redelivered?.MessageId).toBe(waiting.messageId);
    expect(redeliveredAt - invokedAt).toBeGreaterThanOrEqual(REDELIVERY_BASE_DELAY_SECONDS * SQS_SECOND_MS);
    expect(redelivered.Attributes?.ApproximateReceiveCount).toBe('2');

    // The second delivery is recorded as attempt 2, still waiting for the group.
    const second = await handler({ Records: [toSqsRecord(redelivered, world.queue.arn)] }, lambdaContext());
    expect(failedMessageIds(second)).toEqual([waiting.messageId]);
    expect((await outcomesOf(world, 'hdl-part-0003')).map((o) => [o.outcome, o.attempt])).toEqual([
      ['RETRYING', 1],
      ['RETRYING', 2],
    ]);
  });

  it('moves an invalid event and a malformed body to the DLQ with the reason, and acknowledges both', async () => {
    const event = await deliver(world, loadSqsEvent('sqs-event-invalid.json'));
    const [invalid, malformed] = event.Records;
    const response = await handler(event, lambdaContext());

    expect(failedMessageIds(response)).toEqual([]);
    const [rejectedInvalid] = await outcomesOf(world, 'hdl-bad-0001');
    expect(rejectedInvalid).toMatchObject({ outcome: 'REJECTED', errorCode: 'INVALID_EVENT', type: 'user.upserted', actor: 'hr-system' });
    expect(rejectedInvalid.errorMessage).toContain('data.user.UserName: must be letters, digits or punctuation, without spaces');
    const malformedEventId = `message:${malformed.messageId}`;
    const [rejectedMalformed] = await outcomesOf(world, malformedEventId);
    expect(rejectedMalformed).toMatchObject({ outcome: 'REJECTED', errorCode: 'MALFORMED_JSON' });
    // Both came to the test producer's own queue: the queue vouches for who sent even unreadable bytes.
    for (const rejected of [rejectedInvalid, rejectedMalformed]) expect(rejected).toMatchObject({ producer: 'tests', via: 'queue' });
    expect(rejectedMalformed.errorMessage).toMatch(/^body: is not valid JSON/);

    const letters = deadLetters(world);
    expect(letters.map((letter) => letter.body)).toEqual([invalid.body, malformed.body]);
    expect(letters[0].attributes).toMatchObject({
      rejectionCode: 'INVALID_EVENT',
      rejectionReason: rejectedInvalid.errorMessage,
      eventId: 'hdl-bad-0001',
      sourceMessageId: invalid.messageId,
    });
    expect(letters[1].attributes).toMatchObject({ rejectionCode: 'MALFORMED_JSON', eventId: malformedEventId });

    expect(await userIdOf(world, 'dorothy vaughan')).toBeUndefined();
    expect(await groupIdOf(world, 'Research')).toBeDefined(); // the valid record of the batch
    expect(outcomeEventsOf(world, 'hdl-bad-0001')).toEqual([
      expect.objectContaining({ detailType: 'identity.change.rejected', detail: expect.objectContaining({ errorCode: 'INVALID_EVENT' }) }),
    ]);
  });

  it('applies an event id once, whether the duplicate is in the same batch or a later invocation', async () => {
    const fixture = loadSqsEvent('sqs-event-duplicates.json');
    const writesBefore = world.emulator.writes().length;
    const first = await deliver(world, fixture);
    expect(new Set(first.Records.map((r) => r.messageId)).size).toBe(2);
    expect(failedMessageIds(await handler(first, lambdaContext()))).toEqual([]);

    const later = await deliver(world, { Records: [fixture.Records[0]] });
    expect(failedMessageIds(await handler(later, lambdaContext()))).toEqual([]);

    const userId = await userIdOf(world, 'edsger.dijkstra');
    const writes = world.emulator.writes().slice(writesBefore);
    expect(writes.map((w) => [w.action, w.userId])).toEqual([['CreateUser', userId]]);
    expect((await outcomesOf(world, 'hdl-dup-0001')).map((o) => o.outcome)).toEqual(['APPLIED']);
    expect(outcomeEventsOf(world, 'hdl-dup-0001')).toHaveLength(1);
  });

  it('records FAILED and announces identity.change.failed when the last allowed receive fails', async () => {
    const event = await deliver(world, loadSqsEvent('sqs-event-last-receive.json'), { receives: MAX_RECEIVE_COUNT });
    const [record] = event.Records;
    expect(record.attributes.ApproximateReceiveCount).toBe(String(MAX_RECEIVE_COUNT));

    const response = await handler(event, lambdaContext());

    // Moved to the DLQ by the function, with its reason (not by the queue's redrive, without one), then acknowledged.
    expect(failedMessageIds(response)).toEqual([]);
    const letter = deadLetters(world).find((l) => l.attributes.eventId === 'hdl-last-0001');
    expect(letter?.body).toBe(record.body);
    expect(letter?.attributes).toMatchObject({ rejectionCode: 'USER_NOT_FOUND', rejectionReason: expect.stringContaining('does not exist yet') });
    expect(await outcomesOf(world, 'hdl-last-0001')).toEqual([
      expect.objectContaining({ outcome: 'FAILED', attempt: MAX_RECEIVE_COUNT, errorCode: 'USER_NOT_FOUND' }),
    ]);
    const failures = await world.audit.failures({ since: new Date(Date.now() - 60_000) });
    expect(failures.records.map((r) => r.eventId)).toContain('hdl-last-0001');
    expect(outcomeEventsOf(world, 'hdl-last-0001')).toEqual([
      {
        detailType: 'identity.change.failed',
        source: 'identity-provisioner',
        detail: expect.objectContaining({ type: 'membership.added', outcome: 'FAILED', errorCode: 'USER_NOT_FOUND', attempt: MAX_RECEIVE_COUNT }),
      },
    ]);
  });
});
