/**
 * The embedded defaults of `npm start`: a deployment configured as the CDK app's defaults
 * configure one, except where a laptop run needs shorter waits (said on each line), plus the
 * producers and operators the bundled scenario needs (a deployment declares its own).
 */
import { DEFAULT_IDENTITY_STORE_ID } from '../emulator';

/** The local account (the one the local SQS, EventBridge and the function live in). */
const LOCAL = '000000000000';

/**
 * The producers of the bundled scenario, in the shape of the `producers` deployment setting:
 * - `hr`, the HR feed, through the bus: every event type, every group;
 * - `onboarding`, an onboarding tool in this account with its own queue and the full grant: what
 *   `npm start --events` and `npm run send` use for a file that names no producer;
 * - `access-portal`, a self-service tool in another account, through the bus: it may only add
 *   and remove members of `app-*` groups.
 * Every source queue (the bus queue and each producer queue) gets its own event source mapping,
 * and the Identity Store budget is split over all of them (REQUESTS_PER_SECOND), so each queue
 * producer slows every instance down: two source queues here, so one queue producer only.
 */
export const LOCAL_PRODUCERS = {
  hr: { via: 'bus', principals: [`arn:aws:iam::${LOCAL}:role/hr-feed`], eventTypes: '*', groups: ['*'] },
  onboarding: { via: 'queue', principals: [`arn:aws:iam::${LOCAL}:role/onboarding-tool`], eventTypes: '*', groups: ['*'] },
  'access-portal': {
    via: 'bus',
    principals: ['arn:aws:iam::111122223333:role/access-portal'],
    eventTypes: ['membership.added', 'membership.removed'],
    groups: ['app-*'],
  },
} as const;

/** The producer a file's entries are sent as when they name none (full grant, its own queue). */
export const LOCAL_DEFAULT_PRODUCER = 'onboarding';

/** Whom a line that names no producer is sent as: LOCAL_DEFAULT_PRODUCER if declared, else the only declared one. */
export function fallbackProducer(declared: readonly string[]): string | undefined {
  return declared.includes(LOCAL_DEFAULT_PRODUCER) ? LOCAL_DEFAULT_PRODUCER : declared.length === 1 ? declared[0] : undefined;
}

/** Roles allowed to redrive the DLQs into the queues (they may send to the bus queue). */
export const LOCAL_OPERATORS = [`arn:aws:iam::${LOCAL}:role/identity-operator`];

export const LOCAL_DEFAULTS = {
  identityStoreId: DEFAULT_IDENTITY_STORE_ID,
  /** The Identity Store's published account-wide quota. */
  tps: 20,
  maxConcurrency: 2,
  batchSize: 10,
  functionTimeoutSeconds: 60,
  maxReceiveCount: 5,
  managedGroupScope: 'created',
  maxMembershipRemovalsPerEvent: 10,
  deletionCap: 25,
  deletionWindowSeconds: 3600,
  idCacheTtlSeconds: 60,
  /**
   * 30 s in the stack; 3 s here so a scenario's early arrivals retry within the run, and still
   * have 3 + 6 + 12 + 24 s to wait for what they depend on: a membership sent through the bus can
   * arrive before its user's joiner, queued behind others at another door, is applied.
   */
  redeliveryBaseDelaySeconds: 3,
  /** As the stack's defaults: events dated more than 5 minutes ahead, or before 2000, are rejected. */
  maxClockSkewSeconds: 300,
  occurredAtFloor: '2000-01-01T00:00:00Z',
  producers: LOCAL_PRODUCERS,
  operators: LOCAL_OPERATORS,
  /** Another caller sharing the account's quota (the console, a SCIM sync), so throttling shows. */
  neighbourTps: 4,
  /** Give up waiting for the queue to drain after this long. */
  timeoutSeconds: 300,
} as const;
