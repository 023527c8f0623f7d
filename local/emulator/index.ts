/**
 * The Identity Store emulator: a local HTTP server that speaks the Identity Store API
 * (awsJson1_1) as @aws-sdk/client-identitystore expects it, with quota, seeded fault
 * injection, counters and optional persistence. See docs/emulator.md.
 */
import { randomInt } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminApi } from './admin';
import { type FaultOptions, FaultInjector, parseFaultSpec } from './faults';
import { createRequestListener } from './http';
import { Paginator } from './pagination';
import { StateSaver, loadSnapshot } from './persistence';
import { Quota, validateQuotaOptions } from './quota';
import { type SeedUser, seedUser as seedUserInto } from './seed';
import { IdentityStoreService } from './service';
import { ACTION_NAMES, IDENTITY_STORE_ID_PATTERN } from './shapes';
import { type EmulatorStats, StatsRecorder, type WriteJournalEntry } from './stats';
import { Store } from './store';

export interface EmulatorOptions {
  /** Interface to bind; loopback only by default. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Identity stores the emulator hosts (default ['d-1234567890']). */
  identityStoreIds?: string[];
  /** Account-wide requests per second (default 20; 0 = no quota). */
  tps?: number;
  /** Token-bucket size (default = tps). */
  burst?: number;
  /** Additional per-action limits, e.g. { CreateUser: 5 }. */
  perActionTps?: Record<string, number>;
  /** A fault spec string (`throttle=0.05,server=0.02,...`) or the parsed options. */
  faults?: string | FaultOptions;
  /** Seed of the fault PRNG (default: random, reported in stats().faultSeed). */
  seed?: number;
  /** JSON file to load at start and keep up to date (atomic writes). */
  statePath?: string;
  /** HTTP status of ThrottlingException: 400 as observed on the live service (default) or 429 as modelled. */
  throttleStatus?: 400 | 429;
  /** Also send a `Retry-After` header on Throttling/InternalServer errors (default false). */
  retryAfterHeader?: boolean;
  /** Recorded as CreatedBy/UpdatedBy. */
  principal?: string;
}

export interface RunningEmulator {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
  stats(): EmulatorStats;
  resetStats(): void;
  /** Create a SCIM-style user (ExternalIds allowed); returns its UserId. */
  seedUser(identityStoreId: string, user: SeedUser): string;
  /** Successful writes with a sequence above `after`. */
  writes(after?: number): WriteJournalEntry[];
}

export const DEFAULT_IDENTITY_STORE_ID = 'd-1234567890';
export const DEFAULT_PRINCIPAL = 'arn:aws:iam::000000000000:user/emulator';
export const DEFAULT_TPS = 20;

export class EmulatorOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmulatorOptionsError';
  }
}

function checkOptions(options: EmulatorOptions, identityStoreIds: string[]): void {
  for (const id of identityStoreIds) {
    if (!IDENTITY_STORE_ID_PATTERN.test(id))
      throw new EmulatorOptionsError(`identity store id "${id}" must be d-<10 hex> or a UUID`);
  }
  if (options.throttleStatus !== undefined && ![400, 429].includes(options.throttleStatus))
    throw new EmulatorOptionsError(`throttleStatus must be 400 or 429, got ${options.throttleStatus}`);
  for (const action of Object.keys(options.perActionTps ?? {})) {
    if (!(ACTION_NAMES as string[]).includes(action))
      throw new EmulatorOptionsError(`perActionTps names an unknown action "${action}"`);
  }
  try {
    validateQuotaOptions({ tps: options.tps ?? DEFAULT_TPS, burst: options.burst, perActionTps: options.perActionTps });
  } catch (error) {
    throw new EmulatorOptionsError((error as Error).message);
  }
  if (options.seed !== undefined && !Number.isInteger(options.seed))
    throw new EmulatorOptionsError(`seed must be an integer, got ${options.seed}`);
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const identityStoreIds = options.identityStoreIds ?? [DEFAULT_IDENTITY_STORE_ID];
  checkOptions(options, identityStoreIds);
  const principal = options.principal ?? DEFAULT_PRINCIPAL;
  const faultOptions = typeof options.faults === 'string' ? parseFaultSpec(options.faults) : (options.faults ?? {});
  const seed = options.seed ?? randomInt(2 ** 31);

  const store = new Store(identityStoreIds);
  if (options.statePath) {
    const snapshot = loadSnapshot(options.statePath);
    if (snapshot) store.restore(snapshot);
  }
  const saver = options.statePath ? new StateSaver(options.statePath, () => store.snapshot()) : undefined;
  const stats = new StatsRecorder(seed);

  const service = new IdentityStoreService({
    store,
    quota: new Quota({ tps: options.tps ?? DEFAULT_TPS, burst: options.burst, perActionTps: options.perActionTps }),
    faults: new FaultInjector(faultOptions, seed),
    stats,
    paginator: new Paginator(),
    principal,
    throttleStatus: options.throttleStatus ?? 400,
    onWrite: (note) => {
      stats.write(note);
      saver?.markDirty();
    },
  });
  const seedUser = (identityStoreId: string, user: SeedUser) => {
    const userId = seedUserInto(store, principal, identityStoreId, user);
    saver?.markDirty();
    return userId;
  };
  const admin = createAdminApi({
    identityStoreIds,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    writes: (after) => stats.writes(after),
    seedUser,
  });

  const server = createServer(createRequestListener(service, admin, { retryAfterHeader: options.retryAfterHeader ?? false }));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets from SDK clients would hold close() open.
        server.closeAllConnections();
      });
      await saver?.flush();
    })();
    return stopping;
  };

  return {
    endpoint: `http://${host}:${port}`,
    port,
    stop,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    seedUser,
    writes: (after = 0) => stats.writes(after),
  };
}

export type { EmulatorStats, WriteJournalEntry } from './stats';
export type { FaultOptions } from './faults';
export { parseFaultSpec, FaultSpecError } from './faults';
export type { SeedUser } from './seed';
