/**
 * Another caller in the same account: the Identity Store quota is account-wide, so the console,
 * a SCIM sync or another tool eat into it. This one lists groups at a steady rate, which makes
 * the local run meet throttling the way a real deployment does.
 */
import { IdentitystoreClient, ListGroupsCommand } from '@aws-sdk/client-identitystore';

/** The only action the neighbour calls, so the emulator's per-action counts tell its calls apart. */
export const NEIGHBOUR_ACTION = 'ListGroups';

export function startNeighbour(options: { endpoint: string; identityStoreId: string; tps: number }) {
  const client = new IdentitystoreClient({
    endpoint: options.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'neighbour', secretAccessKey: 'neighbour' },
    maxAttempts: 1,
  });
  let calls = 0;
  let throttled = 0;
  const outstanding = new Set<Promise<void>>();
  const call = () => {
    calls++;
    const answered: Promise<void> = client
      .send(new ListGroupsCommand({ IdentityStoreId: options.identityStoreId, MaxResults: 1 }))
      .then(
        () => undefined,
        (error: unknown) => {
          // The emulator counts throttling account-wide; the bench needs the neighbour's share of it.
          if ((error as { name?: string }).name === 'ThrottlingException') throttled++;
        },
      )
      .finally(() => outstanding.delete(answered));
    outstanding.add(answered);
  };
  const timer = options.tps > 0 ? setInterval(call, 1000 / options.tps) : undefined;
  return {
    /** Requests sent (each one attempt). */
    get calls() {
      return calls;
    },
    /** Requests answered with ThrottlingException. */
    get throttled() {
      return throttled;
    },
    /** Stops calling and waits for the requests still out, so `calls` and `throttled` are final. */
    async finish(): Promise<void> {
      if (timer) clearInterval(timer);
      await Promise.all(outstanding);
    },
    stop() {
      if (timer) clearInterval(timer);
      client.destroy();
    },
  };
}
