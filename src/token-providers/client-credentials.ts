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

/** A token source for the OAuth 2.0 client-credentials grant (RFC 6749 §4.4) against any compliant server. */
export function clientCredentials(options: ClientCredentialsOptions): TokenSource {
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
      const description = typeof body.error_description === 'string' ? body.error_description.slice(0, 200) : undefined;
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
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : undefined;
    return { value: body.access_token, expiresAt: expiresIn === undefined ? undefined : requestedAt + expiresIn * 1000 };
  };
}
