/**
 * Admin endpoints, outside quota and faults:
 *   GET  /_emulator/health        readiness
 *   GET  /_emulator/stats         counters (JSON)
 *   POST /_emulator/reset-stats   zero the counters
 *   GET  /_emulator/writes        journal of successful writes (?after=<sequence>)
 *   POST /_emulator/seed          {identityStoreId, user} -> {userId}: a SCIM-style user with ExternalIds
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ServiceError } from './errors';
import { sendJson } from './wire';
import type { EmulatorStats, WriteJournalEntry } from './stats';
import type { SeedUser } from './seed';

export interface AdminApi {
  handle(req: IncomingMessage, res: ServerResponse, body: string): void;
}

export interface AdminOperations {
  identityStoreIds: readonly string[];
  stats(): EmulatorStats;
  resetStats(): void;
  writes(after: number): WriteJournalEntry[];
  seedUser(identityStoreId: string, user: SeedUser): string;
}

export function createAdminApi(ops: AdminOperations): AdminApi {
  return {
    handle(req, res, body) {
      const url = new URL(req.url ?? '/', 'http://emulator');
      const route = `${req.method} ${url.pathname}`;
      switch (route) {
        case 'GET /_emulator/health':
          return sendJson(res, 200, { status: 'ok', identityStoreIds: ops.identityStoreIds });
        case 'GET /_emulator/stats':
          return sendJson(res, 200, ops.stats());
        case 'POST /_emulator/reset-stats':
          ops.resetStats();
          return sendJson(res, 200, ops.stats());
        case 'GET /_emulator/writes':
          return sendJson(res, 200, { writes: ops.writes(Number(url.searchParams.get('after') ?? 0) || 0) });
        case 'POST /_emulator/seed':
          return seed(ops, res, body);
        default:
          return sendJson(res, 404, { error: `No admin route ${route}` });
      }
    },
  };
}

function seed(ops: AdminOperations, res: ServerResponse, body: string): void {
  try {
    const { identityStoreId, user } = JSON.parse(body) as { identityStoreId: string; user: SeedUser };
    sendJson(res, 200, { userId: ops.seedUser(identityStoreId, user) });
  } catch (error) {
    const status = error instanceof ServiceError ? error.status : 400;
    const type = error instanceof ServiceError ? error.type : 'BadRequest';
    sendJson(res, status, { __type: type, Message: (error as Error).message });
  }
}
