/** The adapter's error mapping, one SDK error shape at a time (the emulator covers the wire). */
import type { SdkError } from '@smithy/types';
import { toDomainError } from '../../lambdas/adapters/identity-store';
import { RetryAfterStrategy, RetryBudget, ThrottlePauseError } from '../../lambdas/adapters/retry-after-strategy';
import { RetryableError } from '../../lambdas/domain/errors';
import { AlreadyExistsError, InvalidRequestError, NotFoundError } from '../../lambdas/domain/ports';

function serviceError(name: string, message: string, fields: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 }, ...fields });
}

describe('toDomainError', () => {
  it('maps a uniqueness conflict to AlreadyExistsError', () => {
    const error = toDomainError(
      serviceError('ConflictException', 'Duplicate UserName', { Reason: 'UNIQUENESS_CONSTRAINT_VIOLATION' }),
      'CreateUser',
      'USER',
    );
    expect(error).toBeInstanceOf(AlreadyExistsError);
  });

  it('maps ResourceNotFound on a write to NotFoundError with the service resource type', () => {
    const error = toDomainError(
      serviceError('ResourceNotFoundException', 'GROUP not found', { ResourceType: 'GROUP' }),
      'CreateGroupMembership',
      'GROUP_MEMBERSHIP',
    );
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).resourceType).toBe('GROUP');
  });

  it('maps a ValidationException to InvalidRequestError keeping the service message', () => {
    const error = toDomainError(serviceError('ValidationException', "Value at 'title' failed"), 'UpdateUser', 'USER');
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.message).toBe("UpdateUser: Value at 'title' failed");
  });

  it('redacts values we sent from the service message', () => {
    const error = toDomainError(
      serviceError('ValidationException', "UserName 'jane.doe@example.com' is invalid for Jane Doe"),
      'CreateUser',
      'USER',
      ['jane.doe@example.com', 'Jane Doe'],
    );
    expect(error.message).toBe("CreateUser: UserName '[redacted]' is invalid for [redacted]");
  });

  it.each([
    ['AccessDeniedException', 'IDENTITY_STORE_ACCESS_DENIED'],
    ['ServiceQuotaExceededException', 'IDENTITY_STORE_QUOTA_EXCEEDED'],
    ['ThrottlingException', 'IDENTITY_STORE_THROTTLED'],
    ['InternalServerException', 'IDENTITY_STORE_UNAVAILABLE'],
  ])(
    'maps %s to RetryableError %s so the event is not lost, keeping the service name in the message',
    (name, code) => {
      const cause = serviceError(name, 'not now');
      const error = toDomainError(cause, 'CreateGroup', 'GROUP');
      expect(error).toBeInstanceOf(RetryableError);
      expect((error as RetryableError).code).toBe(code);
      expect(error.message).toBe(`CreateGroup failed: ${name}: not now`);
      expect(error.cause).toBe(cause);
      expect((error as RetryableError).owedWaitMs).toBe(0);
    },
  );

  it('maps a lost race the strategy gave up on to RetryableError', () => {
    const error = toDomainError(
      serviceError('ConflictException', 'modified', { Reason: 'CONCURRENT_MODIFICATION' }),
      'UpdateGroup',
      'GROUP',
    );
    expect(error).toBeInstanceOf(RetryableError);
  });

  it('names a bare network error by its code in the message', () => {
    const error = toDomainError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'DeleteUser', 'USER');
    expect((error as RetryableError).code).toBe('IDENTITY_STORE_UNAVAILABLE');
    expect(error.message).toMatch(/^DeleteUser failed: ECONNRESET: /);
  });

  it('carries the wait the strategy said is still owed', async () => {
    const budget = new RetryBudget();
    budget.setDeadline(0);
    const strategy = new RetryAfterStrategy({ budget, jitterMs: 0 });
    const throttle = serviceError('ThrottlingException', 'Rate exceeded', { RetryAfterSeconds: 2 });
    const token = await strategy.acquireInitialRetryToken('');
    await expect(strategy.refreshRetryTokenForRetry(token, { error: throttle as SdkError, errorType: 'THROTTLING' })).rejects.toThrow();
    expect((toDomainError(throttle, 'CreateUser', 'USER') as RetryableError).owedWaitMs).toBe(2000);
  });

  it('maps a pause that outlasts the budget to RetryableError with the pause still owed', () => {
    const error = toDomainError(new ThrottlePauseError(4000), 'GetUserId', undefined);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).code).toBe('IDENTITY_STORE_THROTTLED');
    expect((error as RetryableError).owedWaitMs).toBe(4000);
  });
});
