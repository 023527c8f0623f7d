/**
 * Who the bench and the soak send as. The bench sends through the bus as the HR feed, the primary
 * door, and declares no queue producer: the bus queue is then the only source queue, so the
 * per-instance budget is not split over mappings that have nothing to do (docs/performance.md).
 * The soak also needs a queue door, for bare documents and unreadable bodies: the local settings'
 * full-grant queue producer.
 */
import { LOCAL_DEFAULT_PRODUCER, LOCAL_PRODUCERS } from '../../local/pipeline/defaults';

export const BENCH_PRODUCER = 'hr';
export const BENCH_PRODUCERS = { [BENCH_PRODUCER]: LOCAL_PRODUCERS[BENCH_PRODUCER] };

export const SOAK_QUEUE_PRODUCER = LOCAL_DEFAULT_PRODUCER;
export const SOAK_BUS_PRODUCER = 'hr';
export const SOAK_PRODUCERS = {
  [SOAK_QUEUE_PRODUCER]: LOCAL_PRODUCERS[SOAK_QUEUE_PRODUCER],
  [SOAK_BUS_PRODUCER]: LOCAL_PRODUCERS[SOAK_BUS_PRODUCER],
};
