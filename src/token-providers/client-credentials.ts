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

/** Real token responses are a few KB; a larger body is refused rather than buffered. */
const MAX_RESPONSE_BYTES = 256 * 1024;

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64. */
function basicAuth(clientId: string, clientSecret: string): string {
  const encode = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

/**
 * Replaces the secret in text a server sent back, in every form it was sent in: raw, URI- and
 * form-encoded, and inside the Basic header's base64. Some servers echo their input, and an
 * echo of any of these forms is the secret.
 */
function secretRedactor(clientId: string, clientSecret: string): (text: string) => string {
  const basic = basicAuth(clientId, clientSecret);
  const forms = [
    basic.slice('Basic '.length),
    clientSecret,
    encodeURIComponent(clientSecret),
    new URLSearchParams({ s: clientSecret }).toString().slice(2),
  ].filter((form, i, all) => form !== '' && all.indexOf(form) === i);
  return (text) => forms.reduce((out, form) => out.split(form).join('[REDACTED]'), text);
}

/** A server-sent string as it may appear in an error: redacted, printable ASCII, clipped. */
function errorText(value: string, redact: (text: string) => string, maxLength: number): string {
  return redact(value).replace(/[^\x20-\x7e]/g, '?').slice(0, maxLength);
}

/** The body as JSON, read up to MAX_RESPONSE_BYTES; undefined when it is not JSON. */
async function readJsonBody(response: Response): Promise<Record<string, unknown> | undefined> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    if (response.body !== null) {
      for await (const chunk of response.body) {
        size += chunk.byteLength;
        if (size > MAX_RESPONSE_BYTES) {
          await response.body.cancel().catch(() => undefined);
          throw new TokenEndpointError(response.status, 'invalid_response', `response larger than ${MAX_RESPONSE_BYTES / 1024} KiB`);
        }
        chunks.push(chunk);
      }
    }
  } catch (error) {
    if (error instanceof TokenEndpointError) throw error;
    // The timeout aborts the body too: a stalled body is the network's fault, retryable.
    const name = (error as Error).name;
    throw new TokenEndpointError(0, 'network_error', name === 'TimeoutError' || name === 'AbortError' ? 'timed out' : 'unreachable');
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
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

/**
 * `expires_in` in seconds: RFC 6749 says a number, some servers send a numeric string. Zero or
 * less means expired already (0, never "no expiry": the token would be cached forever).
 */
function expiresInSeconds(value: unknown): number | undefined {
  const seconds = typeof value === 'string' && /^-?\d{1,10}$/.test(value) ? Number(value) : value;
  return typeof seconds === 'number' && Number.isFinite(seconds) ? Math.max(0, seconds) : undefined;
}

/** A token source for the OAuth 2.0 client-credentials grant (RFC 6749 §4.4) against any compliant server. */
export function clientCredentials(options: ClientCredentialsOptions): TokenSource {
  assertTokenUrl(options.tokenUrl);
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const method = options.authMethod ?? 'client_secret_basic';
  const redact = secretRedactor(options.clientId, options.clientSecret);
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
    // A non-JSON body is reported below by status.
    const body = (await readJsonBody(response)) ?? {};
    if (!response.ok) {
      // Some servers echo what they were sent; the secret must not reach our error messages and logs.
      const error = typeof body.error === 'string' && body.error !== '' ? errorText(body.error, redact, 64) : 'server_error';
      const description = typeof body.error_description === 'string' ? errorText(body.error_description, redact, 200) : undefined;
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
