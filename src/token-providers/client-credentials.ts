import { isLoopbackHost } from '../http/loopback-host.js';
import { TokenEndpointError } from './token-endpoint-error.js';
import type { IssuedToken, TokenSource } from './token-provider.js';

export interface ClientCredentialsOptions {
  /** The RFC 6749 token endpoint, e.g. https://auth.example.com/oauth/token */
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes?: readonly string[];
  /** Extra form parameters, e.g. `audience` for some providers. */
  readonly extraParams?: Record<string, string>;
  /** RFC 6749 §2.3.1: HTTP Basic (`client_secret_basic`, default) or form fields (`client_secret_post`). */
  readonly authMethod?: 'client_secret_basic' | 'client_secret_post';
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default Date.now */
  readonly now?: () => number;
}

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64. */
function basicAuth(clientId: string, clientSecret: string): string {
  const encode = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

/** RFC 6749 §3.2 requires TLS at the token endpoint; plain http is allowed to this machine only (tests, sidecars). */
function assertTokenUrl(tokenUrl: string): void {
  let url: URL;
  try {
    url = new URL(tokenUrl);
  } catch {
    throw new TypeError('tokenUrl is not a valid URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) throw new TypeError('tokenUrl must be https (plain http only to a loopback address)');
  if (url.username !== '' || url.password !== '') throw new TypeError('tokenUrl must not carry credentials; use clientId and clientSecret');
}

/** `expires_in` in seconds: RFC 6749 says a number, some servers send a numeric string. */
function expiresInSeconds(value: unknown): number | undefined {
  const seconds = typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : value;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}

/** A token source for the OAuth 2.0 client-credentials grant (RFC 6749 §4.4) against any compliant server. */
export function clientCredentials(options: ClientCredentialsOptions): TokenSource {
  assertTokenUrl(options.tokenUrl);
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const method = options.authMethod ?? 'client_secret_basic';
  return async (): Promise<IssuedToken> => {
    const form = new URLSearchParams({ grant_type: 'client_credentials', ...options.extraParams });
    if (options.scopes !== undefined && options.scopes.length > 0) form.set('scope', options.scopes.join(' '));
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (method === 'client_secret_basic') headers.authorization = basicAuth(options.clientId, options.clientSecret);
    else {
      form.set('client_id', options.clientId);
      form.set('client_secret', options.clientSecret);
    }
    const requestedAt = now();
    let response: Response;
    try {
      response = await fetchImpl(options.tokenUrl, {
        method: 'POST',
        headers,
        body: form.toString(),
        // A redirect would re-send the client secret (a 307/308 repeats the POST body) to another URL.
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new TokenEndpointError(0, 'network_error', (error as Error).name === 'TimeoutError' ? 'timed out' : 'unreachable');
    }
    let body: Record<string, unknown> = {};
    try {
      body = (await response.json()) as Record<string, unknown>;
    } catch {
      // A non-JSON body is reported below by status.
    }
    if (!response.ok) {
      const error = typeof body.error === 'string' ? body.error : 'server_error';
      // Some servers echo what they were sent; the secret must not reach our error messages and logs.
      const description = typeof body.error_description === 'string' ? body.error_description.split(options.clientSecret).join('[REDACTED]').slice(0, 200) : undefined;
      throw new TokenEndpointError(response.status, error, description);
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      throw new TokenEndpointError(response.status, 'invalid_response', 'no access_token in the response');
    }
    if (typeof body.token_type !== 'string' || body.token_type.toLowerCase() !== 'bearer') {
      throw new TokenEndpointError(response.status, 'invalid_response', 'token_type is not Bearer');
    }
    // expires_in counts from when the server issued the token; measure from the request so
    // that network time shortens, never extends, the token's believed lifetime.
    // A numeric string must not be read as "never expires": the cached token would outlive its validity.
    const expiresIn = expiresInSeconds(body.expires_in);
    return { value: body.access_token, expiresAt: expiresIn === undefined ? undefined : requestedAt + expiresIn * 1000 };
  };
}
