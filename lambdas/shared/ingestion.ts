/**
 * What the queues accept, shared by lib/ (the real resources) and local/ (the local stand-ins).
 *
 * What the bus rule accepts, shared by lib/ (the real rule) and local/ (the local rule), so the
 * two can never drift: v1 detail-types from the declared bus producers' sources only. The
 * outcome events this service publishes have their own source, so they can never loop back in.
 */
import { EVENT_TYPES } from '../domain/identity-change';

export function ingestionEventPattern(busProducerSources: readonly string[]): { source: string[]; 'detail-type': string[] } {
  return { source: [...busProducerSources], 'detail-type': [...EVENT_TYPES] };
}

/**
 * The largest message the source queues (the bus queue and the producer queues) take: 256 KiB,
 * SQS's maximum and default until 2025 (the default is 1 MiB since), set explicitly so the DLQ can
 * be larger; a full batch of 10 stays well within Lambda's 6 MB invocation payload.
 */
export const SOURCE_QUEUE_MAX_MESSAGE_BYTES = 262_144;
/**
 * The DLQ takes SQS's largest message, 1 MiB (raised from 256 KiB in 2025): a rejected message
 * is its original body, at most SOURCE_QUEUE_MAX_MESSAGE_BYTES, plus the rejection's message
 * attributes, which SQS counts in the size too. The function builds each one to fit this
 * (lambdas/adapters/sqs-transport.ts; at most about 9 KiB of attributes).
 */
export const DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES = 1_048_576;
