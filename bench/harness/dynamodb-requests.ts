/**
 * Counts the DynamoDB API requests dynalite answered, by operation (the X-Amz-Target header,
 * e.g. `DynamoDB_20120810.GetItem`), through the optional request hook of local/dynalite.ts.
 * A request counts once its response is finished, so one still being answered when a phase is
 * read is not in that phase's count.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface DynamoDbRequestCounts {
  total: number;
  /** Sorted by operation name, so results.json diffs only when a count changes. */
  byOperation: Record<string, number>;
}

/** Requests without a target (health checks, CORS preflights) are counted under this name. */
export const NO_TARGET = '(no target)';

/** `DynamoDB_20120810.GetItem` -> `GetItem`. */
export function operationOf(target: string | string[] | undefined): string {
  const value = Array.isArray(target) ? target[0] : target;
  if (!value) return NO_TARGET;
  const dot = value.lastIndexOf('.');
  return dot >= 0 ? value.slice(dot + 1) : value;
}

export class DynamoDbRequestCounter {
  private byOperation = new Map<string, number>();

  /** The hook to pass to startDynalite({ onRequest }). */
  readonly onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    const operation = operationOf(request.headers['x-amz-target']);
    response.once('finish', () => this.byOperation.set(operation, (this.byOperation.get(operation) ?? 0) + 1));
  };

  reset(): void {
    this.byOperation = new Map();
  }

  counts(): DynamoDbRequestCounts {
    const byOperation = Object.fromEntries([...this.byOperation].sort(([a], [b]) => a.localeCompare(b)));
    return { total: Object.values(byOperation).reduce((sum, n) => sum + n, 0), byOperation };
  }
}
