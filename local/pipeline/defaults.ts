/**
 * The embedded defaults of `npm start`: a deployment configured as the CDK app's defaults
 * configure one, except where a laptop run needs shorter waits (said on each line).
 */
import { DEFAULT_IDENTITY_STORE_ID } from '../emulator';

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
  /** 30 s in the stack; 1 s here so a scenario's early arrivals retry within the run. */
  redeliveryBaseDelaySeconds: 1,
  /** Another caller sharing the account's quota (the console, a SCIM sync), so throttling shows. */
  neighbourTps: 4,
  /** Give up waiting for the queue to drain after this long. */
  timeoutSeconds: 300,
} as const;
