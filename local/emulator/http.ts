/**
 * The HTTP face: awsJson1_1 on `POST /` (any SigV4 signature accepted), admin endpoints under
 * `/_emulator/`. Every response carries an `x-amzn-RequestId` header.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminApi } from './admin';
import type { ServiceError } from './errors';
import { newRequestId } from './ids';
import { readBody, sendJson } from './wire';
import type { IdentityStoreService } from './service';

export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';

export interface HttpOptions {
  /** Send `Retry-After` on ThrottlingException and InternalServerException. */
  retryAfterHeader: boolean;
}

function sendServiceError(res: ServerResponse, error: ServiceError, requestId: string, options: HttpOptions): void {
  const retryAfter = error.retryAfterSeconds;
  if (options.retryAfterHeader && retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
  sendJson(
    res,
    error.status,
    { __type: error.type, Message: error.message, RequestId: requestId, ...error.members },
    JSON_CONTENT_TYPE,
  );
}

export function createRequestListener(service: IdentityStoreService, admin: AdminApi, options: HttpOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = newRequestId();
    res.setHeader('x-amzn-RequestId', requestId);
    try {
      const body = await readBody(req);
      const path = (req.url ?? '/').split('?')[0];
      if (path.startsWith('/_emulator/')) return admin.handle(req, res, body);
      if (req.method !== 'POST' || path !== '/') {
        return sendJson(res, 404, { __type: 'UnknownOperationException', Message: `No route for ${req.method} ${path}`, RequestId: requestId });
      }
      const target = req.headers['x-amz-target'];
      const outcome = await service.call(typeof target === 'string' ? target : undefined, body, requestId);
      if (outcome.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      if (outcome.kind === 'error') return sendServiceError(res, outcome.error, requestId, options);
      sendJson(res, 200, outcome.body, JSON_CONTENT_TYPE);
    } catch (error) {
      console.error('identitystore emulator: request failed', error);
      if (!res.headersSent)
        sendJson(res, 500, { __type: 'InternalServerException', Message: String(error), RequestId: requestId }, JSON_CONTENT_TYPE);
    }
  };
}
