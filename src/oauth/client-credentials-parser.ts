import type { FastifyRequest } from 'fastify';
import { repeatsAuthorization } from '../http/auth-guard.js';
import { OAuthError } from './oauth-error.js';

/** Client credentials presented on a request, and how. */
export interface PresentedClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly method: 'client_secret_basic' | 'client_secret_post';
}

const BASIC_CHALLENGE = { 'www-authenticate': 'Basic realm="warden", charset="UTF-8"' };

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/**
 * Reads client authentication (RFC 6749 §2.3.1): HTTP Basic with form-encoded id and secret,
 * or `client_id`/`client_secret` form fields. Using both at once is refused, as the RFC
 * requires (with Basic, a body `client_id` is allowed only equal to the Basic id); so is a
 * missing or malformed credential.
 */
export function presentedClient(request: FastifyRequest, form: Record<string, string | undefined>): PresentedClient {
  const header = request.headers.authorization;
  // Node keeps the first of two Authorization headers; a proxy in front may act on the last.
  if (header !== undefined && repeatsAuthorization(request)) {
    throw new OAuthError('invalid_request', 'The request carries more than one Authorization header; send exactly one credential');
  }
  const basic = header === undefined ? undefined : /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (header !== undefined && basic === null) {
    throw new OAuthError('invalid_client', 'Unsupported client authentication', 401, BASIC_CHALLENGE);
  }
  const inForm = form.client_secret !== undefined;
  if (basic?.[1] !== undefined) {
    if (inForm) throw new OAuthError('invalid_request', 'Use one client authentication method, not both');
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 1) throw new OAuthError('invalid_client', 'Malformed Basic credentials', 401, BASIC_CHALLENGE);
    let presented: PresentedClient;
    try {
      presented = { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)), method: 'client_secret_basic' };
    } catch {
      throw new OAuthError('invalid_client', 'Malformed Basic credentials', 401, BASIC_CHALLENGE);
    }
    // §2.3: one client per request. A body client_id may only repeat the Basic one; a different
    // one would leave which client is meant to whichever the server happens to read.
    if (form.client_id !== undefined && form.client_id !== presented.clientId) {
      throw new OAuthError('invalid_request', 'client_id in the body differs from the client authenticated by HTTP Basic');
    }
    return presented;
  }
  if (form.client_id !== undefined && form.client_secret !== undefined) {
    return { clientId: form.client_id, clientSecret: form.client_secret, method: 'client_secret_post' };
  }
  throw new OAuthError('invalid_client', 'Client authentication is required', 401, BASIC_CHALLENGE);
}

/** The WWW-Authenticate challenge for invalid_client answers. */
export const INVALID_CLIENT_HEADERS = BASIC_CHALLENGE;
