/**
 * A tiny awsJson1_1 server for retry tests: it answers requests with a scripted sequence of
 * responses (then the fallback) and records when each request arrived, so a test can measure
 * the gaps the real SDK left between attempts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface ScriptedResponse {
  status: number;
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
  /** Destroy the socket without answering (a dropped connection). */
  drop?: boolean;
}

export interface Arrival {
  /** performance.now() when the request's body had arrived. */
  atMs: number;
  /** The action from X-Amz-Target, e.g. 'GetUserId'. */
  action: string;
  body: unknown;
}

export interface ScriptedServer {
  endpoint: string;
  arrivals: Arrival[];
  /** Milliseconds between consecutive arrivals. */
  gapsMs(): number[];
  close(): Promise<void>;
}

const JSON_1_1 = 'application/x-amz-json-1.1';
let requestCounter = 0;

export function serviceErrorResponse(
  type: string,
  status: number,
  fields: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): ScriptedResponse {
  return {
    status,
    body: { __type: `com.amazonaws.identitystore#${type}`, Message: `${type} (scripted)`, ...fields },
    headers,
  };
}

/** As the real service sends it: HTTP 400, "Rate exceeded". */
export function throttling(retryAfterSeconds?: number, headers: Record<string, string> = {}): ScriptedResponse {
  return {
    status: 400,
    body: {
      __type: 'ThrottlingException',
      Message: 'Rate exceeded',
      ...(retryAfterSeconds !== undefined && { RetryAfterSeconds: retryAfterSeconds }),
    },
    headers,
  };
}

export function ok(body: Record<string, unknown>): ScriptedResponse {
  return { status: 200, body };
}

export async function startScriptedServer(
  script: ScriptedResponse[],
  fallback: ScriptedResponse = { status: 500, body: { __type: 'InternalServerException', Message: 'script exhausted' } },
): Promise<ScriptedServer> {
  const arrivals: Arrival[] = [];
  const queue = [...script];

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const target = String(request.headers['x-amz-target'] ?? '');
      arrivals.push({
        atMs: performance.now(),
        action: target.slice(target.indexOf('.') + 1),
        body: raw === '' ? undefined : JSON.parse(raw),
      });
      const next = queue.shift() ?? fallback;
      if (next.drop === true) {
        request.socket.destroy();
        return;
      }
      const requestId = `scripted-${++requestCounter}`;
      response.writeHead(next.status, {
        'content-type': JSON_1_1,
        'x-amzn-requestid': requestId,
        ...next.headers,
      });
      response.end(JSON.stringify({ ...(next.status >= 300 && { RequestId: requestId }), ...next.body }));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    arrivals,
    gapsMs: () => arrivals.slice(1).map((arrival, i) => arrival.atMs - (arrivals[i]?.atMs ?? arrival.atMs)),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
