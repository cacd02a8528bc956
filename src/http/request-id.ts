import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { redactText } from '../redact/index.js';

const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * Uses the caller's X-Request-Id when it is a plain token (so traces join up across
 * services), otherwise a fresh UUID. A value the redactor would change (an API key, a
 * refresh token, a JWT sent by a confused client) is not adopted either: the id is echoed,
 * logged and stored in audit events, none of which may hold a credential.
 */
export function requestIdFrom(raw: IncomingMessage): string {
  const incoming = raw.headers['x-request-id'];
  if (typeof incoming === 'string' && ACCEPTABLE_ID.test(incoming) && redactText(incoming) === incoming) return incoming;
  return randomUUID();
}
