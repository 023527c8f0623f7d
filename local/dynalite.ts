/**
 * DynamoDB on the laptop: dynalite (DynamoDB on LevelDB), in memory or on disk.
 * Used by `npm start`, the audit CLI and the tests.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
  path?: string;
}
// dynalite ships no type declarations.
const dynalite = require('dynalite') as (options: DynaliteOptions) => Server;

export interface StartDynaliteOptions {
  /** On-disk LevelDB directory; in memory when absent. */
  path?: string;
  /** 0 or absent: any free port. */
  port?: number;
  /**
   * Called for every request, beside dynalite's own handler (which it does not change): the bench
   * counts DynamoDB requests with it.
   */
  onRequest?: (request: IncomingMessage, response: ServerResponse) => void;
}

export interface RunningDynalite {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startDynalite(options: StartDynaliteOptions = {}): Promise<RunningDynalite> {
  // Tables ACTIVE at once: nobody has to poll through dynalite's simulated CREATING state.
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, path: options.path });
  if (options.onRequest) server.on('request', options.onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err?: Error) => (err ? reject(err) : resolve()));
        // SDK clients keep sockets alive; without this, close() waits for them to time out.
        server.closeAllConnections();
      }),
  };
}

/** A client for a local endpoint: any region and credentials do, nothing leaves the machine. */
export function localDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}
