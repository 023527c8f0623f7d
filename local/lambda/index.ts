export {
  runEventSourceMapping,
  type EventSourceMappingOptions,
  type EventSourceMappingStats,
  type RunningEventSourceMapping,
  type BatchOutcome,
  type InvocationResult,
  type SqsBatchHandler,
} from './event-source-mapping';
export { createLambdaContext, type LambdaContextOptions } from './context';
export { toSqsRecord } from './sqs-event';
