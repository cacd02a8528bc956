import { LRUCache } from 'lru-cache';
import { isLoopbackHost } from '../http/loopback-host.js';
import { authorizedFetch } from '../token-providers/authorized-fetch.js';
import type { TokenProvider } from '../token-providers/token-provider.js';
import { isPermission } from '../authz/permission-match.js';

/** Options of `createRemotePermissionCheck`. */
export interface RemotePermissionCheckOptions {
  /** Warden's base URL, e.g. `https://auth.example.com` (the check is `POST <url>/v1/authz/check`). */
  readonly wardenUrl: string | URL;
  /**
   * This service's own credential, holding `authz:read`: an API key (`staticToken(key)`) or an
   * OAuth client's tokens (`new RotatingToken(clientCredentials({…, scopes: ['authz:read']}))`).
   */
  readonly credential: TokenProvider;
  /** How long an answer (allowed or not) is reused, in ms; 0 = ask every time. @default 5000 (at most 60000) */
  readonly cacheTtlMs?: number;
  /** Most answers kept. @default 10000 */
  readonly maxCacheEntries?: number;
  /** Give up on Warden after this long (the check then fails: fail closed). @default 2000 */
  readonly timeoutMs?: number;
  /**
   * Allow a plain-http Warden URL on a non-loopback host. The credential travels in every
   * request and the answers grant access, so only for a network you trust end to end. @default false
   */
  readonly allowInsecureHttp?: boolean;
  /** The fetch to use (e.g. one with a custom agent). @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** Asks Warden whether a user holds a permission now, from the user's roles. */
export interface RemotePermissionCheck {
  /**
   * True when Warden says `subject` (a user id) holds `permission` (in `scope`, when given).
   * Rejects with `RemotePermissionCheckError` when Warden gives no clear answer: callers must
   * treat that as a refusal.
   */
  check(subject: string, permission: string, scope?: string): Promise<boolean>;
}

/** Warden could not answer a permission check (unreachable, timed out, refused the credential…). */
export class RemotePermissionCheckError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RemotePermissionCheckError';
  }
}

const MAX_CACHE_TTL_MS = 60_000;
const MAX_ANSWER_BYTES = 4096;
// What Warden's /v1/authz/check accepts as a scope; a subject is 1–100 characters without
// control characters (isCheckableSubject). Anything else could never be allowed, so it is
// refused here without a round trip (and without turning a strange token into a 503).
const SCOPE = /^[A-Za-z0-9_.:-]{1,128}$/;

function isCheckableSubject(subject: string): boolean {
  const characters = [...subject];
  if (characters.length < 1 || characters.length > 100) return false;
  return characters.every((character) => {
    const code = character.codePointAt(0) ?? 0;
    return code >= 0x20 && code !== 0x7f;
  });
}

/**
 * The permission check for services other than Warden: `POST /v1/authz/check` with this
 * service's credential, answers cached briefly (`cacheTtlMs`), concurrent identical questions
 * sharing one request. Every failure rejects, and nothing but a 200 `{"allowed": true}` allows.
 * The credential is only ever sent to `wardenUrl` (redirects are refused) and never appears in
 * an error message.
 */
export function createRemotePermissionCheck(options: RemotePermissionCheckOptions): RemotePermissionCheck {
  const base = typeof options.wardenUrl === 'string' ? new URL(options.wardenUrl) : new URL(options.wardenUrl.href);
  assertTrustworthyWardenUrl(base, options.allowInsecureHttp === true);
  if (!base.pathname.endsWith('/')) base.pathname = `${base.pathname}/`;
  const endpoint = new URL('v1/authz/check', base);
  const ttl = options.cacheTtlMs ?? 5000;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_CACHE_TTL_MS) throw new RangeError(`cacheTtlMs must be an integer from 0 to ${MAX_CACHE_TTL_MS}`);
  const timeoutMs = options.timeoutMs ?? 2000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new RangeError('timeoutMs must be a positive integer');
  const cache = ttl === 0 ? undefined : new LRUCache<string, boolean>({ max: options.maxCacheEntries ?? 10_000, ttl });
  const inFlight = new Map<string, Promise<boolean>>();
  const send = authorizedFetch(options.credential, options.fetch === undefined ? {} : { fetch: options.fetch });

  const ask = async (subject: string, permission: string, scope: string | undefined): Promise<boolean> => {
    let response: Response;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      // The bound covers fetching this service's credential too (a token endpoint that hangs),
      // not only the request to Warden.
      response = await untilAborted(
        send(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(scope === undefined ? { subject, permission } : { subject, permission, scope }),
          redirect: 'error',
          signal,
        }),
        signal,
      );
    } catch (error) {
      throw new RemotePermissionCheckError(`Warden's permission check at ${endpoint.origin} did not answer`, { cause: error });
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      // 401/403 here mean this service's credential is wrong or lacks authz:read.
      throw new RemotePermissionCheckError(`Warden's permission check at ${endpoint.origin} answered HTTP ${response.status}`);
    }
    const answer = await readAnswer(response);
    if (answer === undefined) throw new RemotePermissionCheckError(`Warden's permission check at ${endpoint.origin} gave no {"allowed": boolean} answer`);
    return answer;
  };

  return {
    async check(subject, permission, scope) {
      // Nothing Warden could grant: answered here, as Warden would refuse it (400) and the guard
      // would take that for an outage (503 on every request).
      if (!isCheckableSubject(subject) || !isPermission(permission) || (scope !== undefined && !SCOPE.test(scope))) return false;
      const cacheKey = `${subject}\u0000${permission}\u0000${scope ?? ''}`;
      const cached = cache?.get(cacheKey);
      if (cached !== undefined) return cached;
      let pending = inFlight.get(cacheKey);
      if (pending === undefined) {
        pending = ask(subject, permission, scope).then(
          (allowed) => {
            inFlight.delete(cacheKey);
            cache?.set(cacheKey, allowed);
            return allowed;
          },
          (error: unknown) => {
            // Failures are not remembered: the next request asks again.
            inFlight.delete(cacheKey);
            throw error;
          },
        );
        inFlight.set(cacheKey, pending);
      }
      return pending;
    },
  };
}

// The credential goes to this URL and its answers grant access: plain http only where no one
// else is on the path, and never a URL that carries credentials of its own.
function assertTrustworthyWardenUrl(url: URL, allowInsecureHttp: boolean): void {
  if (url.username !== '' || url.password !== '') throw new TypeError('wardenUrl must not contain credentials; pass them as `credential`');
  if (url.search !== '' || url.hash !== '') throw new TypeError('wardenUrl must be a base URL without query or fragment');
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && (allowInsecureHttp || isLoopbackHost(url.hostname))) return;
  throw new TypeError(`wardenUrl must be https (plain http only for a loopback host, or with allowInsecureHttp): got ${url.protocol}//${url.host}`);
}

/** `allowed` of a small JSON answer, or undefined when the answer is anything else. */
async function readAnswer(response: Response): Promise<boolean | undefined> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    // Leaving the loop early cancels the stream (the iterator's return()).
    for await (const chunk of response.body ?? []) {
      size += chunk.byteLength;
      if (size > MAX_ANSWER_BYTES) return undefined;
      chunks.push(chunk);
    }
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || !('allowed' in parsed)) return undefined;
    return typeof parsed.allowed === 'boolean' ? parsed.allowed : undefined;
  } catch {
    return undefined;
  }
}

/** `work`'s outcome, or the signal's reason as soon as it aborts (the work itself runs on). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(signal.reason);
    if (signal.aborted) {
      abort();
      return;
    }
    signal.addEventListener('abort', abort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    );
  });
}
