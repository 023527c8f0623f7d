import { randomUUID } from 'node:crypto';

/**
 * A new resource id: `<10 hex of the identity store>-<uuid>` for `d-` stores, a bare UUID for
 * stores with a UUID id (the reference's "legacy" format).
 */
export function newResourceId(identityStoreId: string): string {
  const uuid = randomUUID();
  return identityStoreId.startsWith('d-') ? `${identityStoreId.slice(2)}-${uuid}` : uuid;
}

export const newRequestId = (): string => randomUUID();

/** awsJson timestamps are epoch seconds (numbers). */
export const epochSeconds = (): number => Date.now() / 1000;
