/**
 * Another caller in the same account: the Identity Store quota is account-wide, so the console,
 * a SCIM sync or another tool eat into it. This one lists groups at a steady rate, which makes
 * the local run meet throttling the way a real deployment does.
 */
import { IdentitystoreClient, ListGroupsCommand } from '@aws-sdk/client-identitystore';

export const NEIGHBOUR_ACTION = 'ListGroups';

export function startNeighbour(options: { endpoint: string; identityStoreId: string; tps: number }) {
  const client = new IdentitystoreClient({
    endpoint: options.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'neighbour', secretAccessKey: 'neighbour' },
    maxAttempts: 1,
  });
  let calls = 0;
  const timer =
    options.tps > 0
      ? setInterval(() => {
          calls++;
          client.send(new ListGroupsCommand({ IdentityStoreId: options.identityStoreId, MaxResults: 1 })).catch(() => undefined);
        }, 1000 / options.tps)
      : undefined;
  return {
    get calls() {
      return calls;
    },
    stop() {
      if (timer) clearInterval(timer);
      client.destroy();
    },
  };
}
