/**
 * Opaque NextTokens: base64 of {scope, offset} plus an HMAC, so a token edited by hand or
 * replayed against another list is refused with a ValidationException, as the service does.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { invalidRequest } from './errors';

export const DEFAULT_PAGE_SIZE = 100;

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

export class Paginator {
  /** Per-emulator secret: tokens do not survive a restart, like the service's expiring tokens. */
  private readonly secret = randomBytes(32);

  paginate<T>(items: T[], scope: string, maxResults: number | undefined, nextToken: string | undefined): Page<T> {
    const offset = nextToken === undefined ? 0 : this.decode(nextToken, scope);
    const size = maxResults ?? DEFAULT_PAGE_SIZE;
    const end = offset + size;
    return {
      items: items.slice(offset, end),
      nextToken: end < items.length ? this.encode(scope, end) : undefined,
    };
  }

  private sign(payload: string): Buffer {
    return createHmac('sha256', this.secret).update(payload).digest().subarray(0, 16);
  }

  private encode(scope: string, offset: number): string {
    const payload = JSON.stringify({ s: scope, o: offset });
    return Buffer.concat([this.sign(payload), Buffer.from(payload)]).toString('base64');
  }

  private decode(token: string, scope: string): number {
    const raw = Buffer.from(token, 'base64');
    const mac = raw.subarray(0, 16);
    const payload = raw.subarray(16).toString();
    const expected = this.sign(payload);
    if (raw.length <= 16 || !timingSafeEqual(mac, expected)) throw invalidRequest('Invalid NextToken');
    const parsed = JSON.parse(payload) as { s: string; o: number };
    if (parsed.s !== scope) throw invalidRequest('NextToken does not belong to this request');
    return parsed.o;
  }
}
