export {
  startLocalEventBridge,
  type LocalEventBridge,
  type LocalEventBridgeOptions,
  type EventEnvelope,
  type RuleDefinition,
  type RuleTarget,
  type DeliveryFailure,
  type RefusedEntry,
} from './server';
export { matchesEventPattern, validateEventPattern, InvalidEventPatternError, type EventPattern, type PatternValue } from './pattern';
