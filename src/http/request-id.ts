import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * Uses the caller's X-Request-Id when it is a plain token (so traces join up across
 * services), otherwise a fresh UUID; a hostile value never reaches the logs.
 */
export function requestIdFrom(raw: IncomingMessage): string {
  const incoming = raw.headers['x-request-id'];
  if (typeof incoming === 'string' && ACCEPTABLE_ID.test(incoming)) return incoming;
  return randomUUID();
}
