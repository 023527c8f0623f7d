export {
  startLocalEventBridge,
  type LocalEventBridge,
  type LocalEventBridgeOptions,
  type EventEnvelope,
  type RuleDefinition,
  type RuleTarget,
  type DeliveryFailure,
  type RefusedEntry,
  type UnmatchedEvent,
} from './server';
export { matchesEventPattern, validateEventPattern, InvalidEventPatternError, type EventPattern, type PatternValue } from './pattern';
