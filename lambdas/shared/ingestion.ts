/**
 * What the bus rule accepts, shared by lib/ (the real rule) and local/ (the local rule), so the
 * two can never drift: v1 detail-types from the declared bus producers' sources only. The
 * outcome events this service publishes have their own source, so they can never loop back in.
 */
import { EVENT_TYPES } from '../domain/identity-change';

export function ingestionEventPattern(busProducerSources: readonly string[]): { source: string[]; 'detail-type': string[] } {
  return { source: [...busProducerSources], 'detail-type': [...EVENT_TYPES] };
}
