/**
 * The service's exceptions as they travel on the wire: awsJson1_1 body `__type` (bare name),
 * `Message`, `RequestId` plus the exception's own members, and an HTTP status.
 */
export type ResourceType = 'USER' | 'GROUP' | 'GROUP_MEMBERSHIP' | 'IDENTITY_STORE';
export type ConflictReason = 'UNIQUENESS_CONSTRAINT_VIOLATION' | 'CONCURRENT_MODIFICATION';

export class ServiceError extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
    /** Exception members beyond Message and RequestId (e.g. ResourceType, RetryAfterSeconds). */
    readonly members: Record<string, string | number> = {},
  ) {
    super(message);
    this.name = type;
  }

  /** Seconds to put in a Retry-After header, for the exceptions that carry one. */
  get retryAfterSeconds(): number | undefined {
    const value = this.members.RetryAfterSeconds;
    return typeof value === 'number' ? value : undefined;
  }
}

/** One failed constraint: where it failed and which rule. */
export interface ConstraintViolation {
  path: string;
  rule: string;
}

export function validationError(violations: ConstraintViolation[]): ServiceError {
  const details = violations
    .map((v) => `Value at '${v.path}' failed to satisfy constraint: ${v.rule}`)
    .join('; ');
  return new ServiceError('ValidationException', 400, `${violations.length} validation errors detected: ${details}`);
}

/** A validation failure that is not a member constraint (bad token, unsupported path...). */
export function invalidRequest(message: string): ServiceError {
  return new ServiceError('ValidationException', 400, message);
}

export function notFound(resourceType: ResourceType, resourceId?: string): ServiceError {
  const members: Record<string, string> = { ResourceType: resourceType };
  if (resourceId !== undefined) members.ResourceId = resourceId;
  const what = resourceId === undefined ? resourceType : `${resourceType} ${resourceId}`;
  return new ServiceError('ResourceNotFoundException', 404, `${what} not found.`, members);
}

export function conflict(reason: ConflictReason, message: string): ServiceError {
  return new ServiceError('ConflictException', 409, message, { Reason: reason });
}

export function throttling(retryAfterSeconds: number, status: number): ServiceError {
  return new ServiceError('ThrottlingException', status, 'Rate exceeded', { RetryAfterSeconds: retryAfterSeconds });
}

export function internalServer(retryAfterSeconds: number): ServiceError {
  return new ServiceError('InternalServerException', 500, 'An internal error occurred. Please retry.', {
    RetryAfterSeconds: retryAfterSeconds,
  });
}

export function unknownOperation(target: string): ServiceError {
  return new ServiceError('UnknownOperationException', 400, `Unknown operation: ${target || '(no X-Amz-Target)'}`);
}

export function serializationError(message: string): ServiceError {
  return new ServiceError('SerializationException', 400, message);
}
