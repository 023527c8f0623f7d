/**
 * One Identity Store API call, protocol aside: quota, injected faults, request validation,
 * the identity store lookup, then the action's handler. Injected faults are decided before the
 * handler runs, so a faulted write is never applied.
 */
import { actionHandlers, type WriteNote } from './actions';
import {
  ServiceError,
  conflict,
  internalServer,
  notFound,
  serializationError,
  throttling,
  unknownOperation,
} from './errors';
import type { FaultInjector } from './faults';
import type { Paginator } from './pagination';
import type { Quota } from './quota';
import { type ActionName, WRITE_ACTIONS, requestShapes } from './shapes';
import type { StatsRecorder } from './stats';
import type { Store } from './store';
import { assertShape } from './validation';

export const TARGET_PREFIX = 'AWSIdentityStore.';

export type CallOutcome =
  | { kind: 'success'; body: Record<string, unknown> }
  | { kind: 'error'; error: ServiceError }
  /** Destroy the connection without answering. */
  | { kind: 'drop' };

export interface ServiceDependencies {
  store: Store;
  quota: Quota;
  faults: FaultInjector;
  stats: StatsRecorder;
  paginator: Paginator;
  principal: string;
  throttleStatus: number;
  /** Called after each successful write (journal and state file). */
  onWrite(note: WriteNote & { identityStoreId: string; requestId: string }): void;
}

const isAction = (name: string): name is ActionName => Object.hasOwn(requestShapes, name);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class IdentityStoreService {
  constructor(private readonly deps: ServiceDependencies) {}

  async call(target: string | undefined, body: string, requestId: string): Promise<CallOutcome> {
    const action = target?.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : undefined;
    if (action === undefined || !isAction(action)) return this.fail(unknownOperation(target ?? ''));
    const { stats, quota, faults } = this.deps;
    stats.call(action);

    const admission = quota.tryAcquire(action);
    if (!admission.allowed) {
      stats.quotaThrottled(action);
      return this.fail(throttling(admission.retryAfterSeconds, this.deps.throttleStatus));
    }

    const fault = faults.decide(WRITE_ACTIONS.has(action));
    if (fault.latencyMs > 0) {
      stats.fault('latency', action);
      await sleep(fault.latencyMs);
    }
    if (fault.failure) {
      stats.fault(fault.failure, action);
      switch (fault.failure) {
        case 'drop':
          return { kind: 'drop' };
        case 'throttle':
          return this.fail(throttling(faults.retryAfterSeconds, this.deps.throttleStatus));
        case 'server':
          return this.fail(internalServer(faults.retryAfterSeconds));
        case 'conflict':
          return this.fail(
            conflict('CONCURRENT_MODIFICATION', 'The resource was modified by another request. Retry the request.'),
          );
      }
    }

    try {
      return { kind: 'success', body: this.handle(action, parseBody(body), requestId) };
    } catch (error) {
      if (error instanceof ServiceError) return this.fail(error);
      console.error(`identitystore emulator: ${action} failed`, error);
      return this.fail(internalServer(1));
    }
  }

  private handle(action: ActionName, input: Record<string, unknown>, requestId: string): Record<string, unknown> {
    assertShape(requestShapes[action], input);
    const identityStoreId = input.IdentityStoreId as string;
    const store = this.deps.store.get(identityStoreId);
    if (!store) throw notFound('IDENTITY_STORE', identityStoreId);
    return actionHandlers[action](input, {
      identityStoreId,
      store,
      paginator: this.deps.paginator,
      principal: this.deps.principal,
      wrote: (note) => this.deps.onWrite({ ...note, identityStoreId, requestId }),
    });
  }

  private fail(error: ServiceError): CallOutcome {
    this.deps.stats.error(error.type);
    return { kind: 'error', error };
  }
}

function parseBody(body: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body === '' ? '{}' : body);
  } catch {
    throw serializationError('Request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw serializationError('Request body must be a JSON object');
  return parsed as Record<string, unknown>;
}
