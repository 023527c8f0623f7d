/**
 * SQS errors as the real service sends them over the JSON protocol:
 * body `__type` = `com.amazonaws.sqs#<Shape>`, plus the legacy query error code
 * in `x-amzn-query-error: <Code>;<Sender|Receiver>`. The SDK (awsQueryCompatible)
 * reads the header first, so both must agree with the SDK's error registry.
 */
export class SqsError extends Error {
  constructor(
    /** Smithy shape name, e.g. `QueueDoesNotExist`. */
    readonly shapeName: string,
    /** Legacy query code, e.g. `AWS.SimpleQueueService.NonExistentQueue`. */
    readonly queryCode: string,
    readonly httpStatus: number,
    message: string,
    /** The `__type` namespace: SQS's own shapes, or the shared one AWS uses for AccessDenied. */
    readonly namespace = 'com.amazonaws.sqs',
  ) {
    super(message);
    this.name = 'SqsError';
  }

  get fault(): 'Sender' | 'Receiver' {
    return this.httpStatus >= 500 ? 'Receiver' : 'Sender';
  }
}

export const sqsErrors = {
  queueDoesNotExist: () =>
    new SqsError(
      'QueueDoesNotExist',
      'AWS.SimpleQueueService.NonExistentQueue',
      400,
      'The specified queue does not exist.',
    ),
  queueNameExists: (name: string) =>
    new SqsError(
      'QueueNameExists',
      'QueueAlreadyExists',
      400,
      `A queue already exists with the same name (${name}) and a different value for an attribute.`,
    ),
  receiptHandleIsInvalid: (handle: string) =>
    new SqsError(
      'ReceiptHandleIsInvalid',
      'ReceiptHandleIsInvalid',
      404,
      `The input receipt handle "${handle}" is not a valid receipt handle.`,
    ),
  messageNotInflight: () =>
    new SqsError(
      'MessageNotInflight',
      'AWS.SimpleQueueService.MessageNotInflight',
      400,
      'The message referred to is not in flight.',
    ),
  invalidParameterValue: (message: string) =>
    new SqsError('InvalidParameterValue', 'InvalidParameterValue', 400, message),
  missingParameter: (name: string) =>
    new SqsError(
      'MissingParameter',
      'MissingParameter',
      400,
      `The request must contain the parameter ${name}.`,
    ),
  invalidAttributeName: (name: string) =>
    new SqsError('InvalidAttributeName', 'InvalidAttributeName', 400, `Unknown Attribute ${name}.`),
  emptyBatchRequest: () =>
    new SqsError(
      'EmptyBatchRequest',
      'AWS.SimpleQueueService.EmptyBatchRequest',
      400,
      'There should be at least one entry in the request.',
    ),
  tooManyEntriesInBatchRequest: (count: number) =>
    new SqsError(
      'TooManyEntriesInBatchRequest',
      'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
      400,
      `Maximum number of entries per request are 10. You have sent ${count}.`,
    ),
  batchEntryIdsNotDistinct: (id: string) =>
    new SqsError(
      'BatchEntryIdsNotDistinct',
      'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
      400,
      `Id ${id} repeated.`,
    ),
  invalidAction: (target: string) =>
    new SqsError('InvalidAction', 'InvalidAction', 400, `The action ${target} is not valid for this endpoint.`),
  /**
   * A resource policy refused the call. SQS answers the whole call (a SendMessageBatch is
   * authorised once, as sqs:SendMessage), code AccessDenied, HTTP 403, naming the caller, the
   * action in lower case and why, as IAM words it.
   */
  accessDenied: (message: string) =>
    new SqsError('AccessDeniedException', 'AccessDenied', 403, message, 'com.amazon.coral.service'),
  invalidAttributeValue: (message: string) =>
    new SqsError('InvalidAttributeValue', 'InvalidAttributeValue', 400, message),
  /** E.g. a second active message move task on one source queue. */
  unsupportedOperation: (message: string) =>
    new SqsError('UnsupportedOperation', 'AWS.SimpleQueueService.UnsupportedOperation', 400, message),
  /** A move task's source or destination, or a task handle, that does not exist. */
  resourceNotFound: (message: string) =>
    new SqsError('ResourceNotFoundException', 'ResourceNotFoundException', 404, message),
  malformedRequest: (message: string) =>
    new SqsError('MalformedInput', 'MalformedInput', 400, message),
};
