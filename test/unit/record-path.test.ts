/**
 * The record path's decisions as values: every error code has a kind, the disposition follows
 * from it in one place, a thrown error becomes a Failure in one place, and the engine's failures
 * (the service's ValidationException, a bug) end where they should.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dispositionOf, MAX_REDELIVERY_DELAY_SECONDS } from '../../lambdas/domain/disposition';
import { ERROR_CODES, isErrorCode, type ErrorCode } from '../../lambdas/domain/error-codes';
import { classifyFailure, EventRejectedError, RetryableError } from '../../lambdas/domain/errors';
import { InvalidRequestError, type OutcomeRecord } from '../../lambdas/domain/ports';
import { processDelivery, type ProcessSettings } from '../../lambdas/domain/process-event';
import { events } from '../support/events';
import { FixedClock, InMemoryAuditLog, InMemoryIdentityStore, InMemoryProcessingState } from '../support/in-memory-ports';
import { TEST_ORIGIN, testProcessSettings } from '../support/producers';

const facts = { recorded: true, receiveCount: 1, maxReceiveCount: 5, redeliveryBaseDelaySeconds: 2 };
const failure = (code: ErrorCode, owedWaitMs = 0) => ({ code, message: `${code} happened`, owedWaitMs });

describe('dispositionOf', () => {
  it('acknowledges a recorded success', () => {
    expect(dispositionOf(facts)).toEqual({ kind: 'ack' });
  });

  it('dead-letters every rejection with its code and reason, on any delivery', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      if (ERROR_CODES[code].kind !== 'rejected') continue;
      expect(dispositionOf({ ...facts, failure: failure(code) })).toEqual({ kind: 'deadLetter', code, reason: `${code} happened` });
    }
  });

  it('sends a retry back after the wait it owes, else after a doubling backoff capped at 15 minutes', () => {
    expect(dispositionOf({ ...facts, failure: failure('SUBJECT_BUSY', 4_500) })).toEqual({ kind: 'retryAfter', seconds: 4.5 });
    expect(dispositionOf({ ...facts, receiveCount: 3, failure: failure('UNEXPECTED') })).toEqual({ kind: 'retryAfter', seconds: 8 });
    expect(dispositionOf({ ...facts, receiveCount: 4, maxReceiveCount: 50, failure: failure('UNEXPECTED') }).kind).toBe('retryAfter');
    expect(dispositionOf({ ...facts, receiveCount: 30, maxReceiveCount: 50, failure: failure('UNEXPECTED') })).toEqual({ kind: 'retryAfter', seconds: MAX_REDELIVERY_DELAY_SECONDS });
  });

  it('dead-letters a retry on the last delivery, with its reason (FAILED), instead of leaving it to the redrive', () => {
    expect(dispositionOf({ ...facts, receiveCount: 5, failure: failure('IDENTITY_STORE_THROTTLED', 1_000) })).toEqual({
      kind: 'deadLetter',
      code: 'IDENTITY_STORE_THROTTLED',
      reason: 'IDENTITY_STORE_THROTTLED happened',
    });
  });

  it('never lets go of an outcome that is not recorded, not even a success or a rejection', () => {
    for (const f of [undefined, failure('INVALID_EVENT'), failure('UNEXPECTED')]) {
      expect(dispositionOf({ ...facts, recorded: false, receiveCount: 5, failure: f }).kind).toBe('retryAfter');
    }
  });

  it('leaves a record SQS did not confirm untouched, recorded or not', () => {
    expect(dispositionOf({ ...facts, failure: failure('UNCONFIRMED_RECORD') })).toEqual({ kind: 'leave' });
    expect(dispositionOf({ ...facts, recorded: false, failure: failure('UNCONFIRMED_RECORD') })).toEqual({ kind: 'leave' });
  });
});

describe('classifyFailure', () => {
  it('keeps the code our own errors carry', () => {
    expect(classifyFailure(new EventRejectedError('GROUP_NOT_MANAGED', 'no'))).toEqual({ code: 'GROUP_NOT_MANAGED', message: 'no', owedWaitMs: 0 });
    expect(classifyFailure(new RetryableError('DELETION_CAP_REACHED', 'later', 7_000))).toEqual({ code: 'DELETION_CAP_REACHED', message: 'later', owedWaitMs: 7_000 });
  });

  it("rejects on the service's ValidationException, with the service's message", () => {
    expect(classifyFailure(new InvalidRequestError('CreateUser: 1 validation error detected'))).toEqual({
      code: 'IDENTITY_STORE_REFUSED',
      message: 'the Identity Store refused the request: CreateUser: 1 validation error detected',
      owedWaitMs: 0,
    });
  });

  it('calls anything else UNEXPECTED and keeps its stack, but not its message, for the log', () => {
    const error = new RangeError('Maximum call stack size exceeded near "Ada Lovelace"');
    const classified = classifyFailure(error);
    expect(classified).toMatchObject({ code: 'UNEXPECTED', message: 'RangeError: Maximum call stack size exceeded near "Ada Lovelace"' });
    expect(classified.unexpected?.errorName).toBe('RangeError');
    expect(classified.unexpected?.stack).toMatch(/at .*record-path\.test\.ts/);
    expect(classified.unexpected?.stack).not.toContain('Ada Lovelace');
    expect(classifyFailure('a string').code).toBe('UNEXPECTED');
  });
});

describe('the error code table', () => {
  it('is closed: isErrorCode knows exactly the table', () => {
    expect(isErrorCode('INVALID_EVENT')).toBe(true);
    expect(isErrorCode('ThrottlingException')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
  });

  it('is documented in docs/record-path.md, one row per code with its kind, and nothing else', () => {
    const doc = readFileSync(join(__dirname, '../../docs/record-path.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (rejected|retry|untrusted) \|/gm)].map(([, code, kind]) => [code, kind]);
    expect(rows).toEqual(Object.entries(ERROR_CODES).map(([code, { kind }]) => [code, kind]));
  });
});

describe('failures from the engine, through the record path', () => {
  const settings: ProcessSettings = testProcessSettings();
  function harness(createGroup: () => Promise<never>) {
    const identityStore = new InMemoryIdentityStore();
    identityStore.createGroup = createGroup;
    const audit = new InMemoryAuditLog();
    const clock = new FixedClock();
    const published: OutcomeRecord[] = [];
    const deps = { identityStore, state: new InMemoryProcessingState(), audit, clock, publisher: { publish: async (r: OutcomeRecord) => void published.push(r) }, pause: async () => undefined };
    const deliver = (receiveCount: number) =>
      processDelivery(
        JSON.stringify(events.groupUpserted('Eng', { id: 'evt-eng' })),
        { messageId: 'm-1', receiveCount, maxReceiveCount: 5, receivedAt: clock.now(), deadline: new Date(clock.now().getTime() + 60_000), origin: TEST_ORIGIN },
        deps,
        settings,
      );
    return { audit, published, deliver };
  }

  it('a ValidationException is REJECTED on the first delivery, recorded, announced and dead-lettered, never retried', async () => {
    const h = harness(async () => {
      throw new InvalidRequestError('CreateGroup: DisplayName failed to satisfy constraint');
    });
    const result = await h.deliver(1);
    expect(result.record).toMatchObject({ outcome: 'REJECTED', errorCode: 'IDENTITY_STORE_REFUSED', attempt: 1 });
    expect(result.disposition).toEqual({ kind: 'deadLetter', code: 'IDENTITY_STORE_REFUSED', reason: expect.stringContaining('DisplayName failed to satisfy constraint') });
    expect(h.audit.outcomes.map((o) => o.outcome)).toEqual(['REJECTED']);
    // Its intent is on record: the write was tried.
    expect(h.audit.intents.map((i) => i.action)).toEqual(['CreateGroup']);
    expect(h.published.map((o) => o.outcome)).toEqual(['REJECTED']);
  });

  it('a bug is retried with its stack kept, and ends FAILED in the DLQ with its reason on the last delivery', async () => {
    const h = harness(async () => {
      throw new TypeError("Cannot read properties of undefined (reading 'GroupId')");
    });
    const first = await h.deliver(1);
    expect(first.record).toMatchObject({ outcome: 'RETRYING', errorCode: 'UNEXPECTED' });
    expect(first.failure?.unexpected?.stack).toMatch(/\bat\b/);
    expect(first.disposition).toEqual({ kind: 'retryAfter', seconds: 1 });
    const last = await h.deliver(5);
    expect(last.record).toMatchObject({ outcome: 'FAILED', errorCode: 'UNEXPECTED' });
    expect(last.disposition).toMatchObject({ kind: 'deadLetter', code: 'UNEXPECTED', reason: expect.stringContaining('TypeError') });
    expect(h.published.map((o) => o.outcome)).toEqual(['FAILED']);
  });
});
