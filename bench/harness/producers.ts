/**
 * Who the bench and the soak send as: the local settings' full-grant queue producer (`manual`),
 * and for the soak's EventBridge envelopes the HR feed through the bus. Only these are declared,
 * so the pipeline has no more source queues than the bench uses: the per-instance budget is
 * split over every source queue's mappings (docs/performance.md).
 */
import { LOCAL_DEFAULT_PRODUCER, LOCAL_PRODUCERS } from '../../local/pipeline/defaults';

export const BENCH_PRODUCER = LOCAL_DEFAULT_PRODUCER;
export const BENCH_PRODUCERS = { [BENCH_PRODUCER]: LOCAL_PRODUCERS[BENCH_PRODUCER] };

/** The soak also sends through the bus as the HR feed (envelopes are made by the bus, not by hand). */
export const SOAK_BUS_PRODUCER = 'hr';
export const SOAK_PRODUCERS = { ...BENCH_PRODUCERS, [SOAK_BUS_PRODUCER]: LOCAL_PRODUCERS[SOAK_BUS_PRODUCER] };
