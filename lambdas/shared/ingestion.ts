/**
 * What the bus rule accepts, shared by lib/ (the real rule) and local/ (the local rule), so the
 * two can never drift: v1 detail-types from the configured producer sources only. The outcome
 * events this service publishes have their own source, so they can never loop back in.
 */
import { EVENT_TYPES } from '../domain/identity-change';

export const DEFAULT_ACCEPTED_SOURCES = ['identity-provisioner.hr', 'identity-provisioner.manual'];

export function ingestionEventPattern(acceptedSources: string[]): { source: string[]; 'detail-type': string[] } {
  return { source: [...acceptedSources], 'detail-type': [...EVENT_TYPES] };
}
