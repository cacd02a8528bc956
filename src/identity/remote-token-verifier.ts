import { createLocalJWKSet, createRemoteJWKSet, customFetch, errors, jwksCache, type JSONWebKeySet, type JWKSCacheInput, type JWTVerifyGetKey } from 'jose';
import { isLoopbackHost } from '../http/loopback-host.js';
import { KeySourceUnavailableError, preCheckToken, verifySignatureAndClaims, type AccessTokenClaims, type TokenVerification } from './token-checks.js';

export interface RemoteTokenVerifierOptions {
  /** Warden's JWKS, e.g. https://auth.example.com/.well-known/jwks.json */
  readonly jwksUrl: string | URL;
  /** Must equal WARDEN_JWT_ISSUER. */
  readonly issuer: string;
  /** Must equal WARDEN_JWT_AUDIENCE. */
  readonly audience: string;
  /** Accepted algorithms (keep it to the one Warden signs with). @default ['EdDSA'] */
  readonly algorithms?: readonly ('EdDSA' | 'ES256' | 'RS256')[];
  /** @default 30 */
  readonly clockSkewSeconds?: number;
  /** @default 8192 */
  readonly maxBytes?: number;
  /** Optional denylist hook (e.g. a Redis lookup shared with Warden); revoked tokens fail with token_revoked. */
  readonly isRevoked?: (claims: AccessTokenClaims) => Promise<boolean>;
  /** Minimum time between JWKS refetches on an unknown kid. @default 30_000 */
  readonly jwksCooldownMs?: number;
  /**
   * How long a fetched key set is used before it is fetched again, whatever the tokens' kids:
   * this bounds how long a key retired in Warden (`keys rotate-signing --retire-previous`, after
   * a leak) is still trusted here. Warden serves its JWKS with `max-age=60`. @default 60_000
   */
  readonly jwksMaxAgeMs?: number;
  /**
   * While the JWKS cannot be fetched, the last key set is still used until it is this old (so a
   * short Warden outage does not fail every request here); after that, tokens get a 503. A
   * retired key stays trusted that long only while the fetch keeps failing. 0 = never use a
   * stale set. @default 300_000
   */
  readonly jwksMaxStaleMs?: number;
  /** Largest JWKS response accepted, in bytes (a larger one fails the fetch, so tokens are refused). @default 65_536 */
  readonly maxJwksBytes?: number;
  /**
   * Allow a plain-http JWKS URL on a non-loopback host. Whoever can alter that response can sign
   * tokens this verifier accepts, so only for a network you trust end to end. @default false
   */
  readonly allowInsecureHttp?: boolean;
  /** The clock. @default Date.now */
  readonly now?: () => number;
}

/** A verifier for services other than Warden: knows only the JWKS URL. */
export interface RemoteTokenVerifier {
  /**
   * The verdict on a token. Rejects (no verdict) when the JWKS cannot be loaded
   * (`KeySourceUnavailableError`) or `isRevoked` throws: deny the request (the guard answers 503).
   */
  verify(token: string): Promise<TokenVerification>;
}

/**
 * Verifies Warden access tokens anywhere, with only the JWKS URL: the same ordered checks and
 * codes as Warden itself (size, shape, algorithm allow-list, kid, signature, iss/aud/typ,
 * exp/nbf with skew). The key set is fetched and cached by jose and refetched on an unknown kid
 * (so rotations are picked up). What it cannot know by itself — logout and deactivation — is
 * left to `isRevoked`; without it, a revoked token stays usable until its exp (15 min by default).
 */
export function createRemoteTokenVerifier(options: RemoteTokenVerifierOptions): RemoteTokenVerifier {
  const url = typeof options.jwksUrl === 'string' ? new URL(options.jwksUrl) : options.jwksUrl;
  assertTrustworthyJwksUrl(url, options.allowInsecureHttp === true);
  assertBounds(options);
  const cooldownMs = options.jwksCooldownMs ?? 30_000;
  const maxAgeMs = options.jwksMaxAgeMs ?? 60_000;
  // A set younger than its max age is fresh, not stale: a failed refetch (for an unknown kid)
  // must not refuse it, whatever jwksMaxStaleMs says.
  const usableForMs = Math.max(options.jwksMaxStaleMs ?? 300_000, maxAgeMs);
  // jose keeps the last key set it fetched, and when, in this object.
  const held: JWKSCacheInput = {};
  const remote = createRemoteJWKSet(url, {
    cooldownDuration: cooldownMs,
    cacheMaxAge: maxAgeMs,
    [jwksCache]: held,
    [customFetch]: sizeCappedFetch(options.maxJwksBytes ?? 65_536),
  });
  // jose's cooldown starts from the last successful fetch: while the JWKS keeps failing, every
  // request would fetch it again, a storm driven by client traffic against a struggling Warden.
  const retryAfterFailureMs = Math.min(cooldownMs, 5_000);
  let failedAt: number | undefined;
  let stale: { readonly from: JSONWebKeySet; readonly getKey: JWTVerifyGetKey } | undefined;
  const unavailable = (cause: unknown): KeySourceUnavailableError =>
    new KeySourceUnavailableError(`the JSON Web Key Set at ${url.origin} could not be loaded`, { cause });
  /** The key from the last key set fetched, when it is recent enough to stand in for one that cannot be fetched. */
  const fromStaleSet: JWTVerifyGetKey = async (header, token) => {
    const { jwks: set, uat } = held as Partial<{ jwks: JSONWebKeySet; uat: number }>;
    if (set === undefined || uat === undefined || Date.now() - uat > usableForMs) throw unavailable(undefined);
    if (stale?.from !== set) stale = { from: set, getKey: createLocalJWKSet(set) };
    try {
      return await stale.getKey(header, token);
    } catch (error) {
      // Not knowing the kid proves nothing while the current set cannot be seen.
      if (error instanceof errors.JWKSNoMatchingKey) throw unavailable(error);
      throw error;
    }
  };
  // A key set that was fetched but has no key for the token's kid is a verdict (token_unknown_kid);
  // one that could not be fetched is an outage, which must not read as a forged token.
  const jwks: JWTVerifyGetKey = async (header, token) => {
    if (failedAt !== undefined && Date.now() - failedAt < retryAfterFailureMs) return fromStaleSet(header, token);
    try {
      const key = await remote(header, token);
      failedAt = undefined;
      return key;
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      failedAt = Date.now();
      try {
        return await fromStaleSet(header, token);
      } catch (staleError) {
        throw staleError instanceof KeySourceUnavailableError && staleError.cause === undefined ? unavailable(error) : staleError;
      }
    }
  };
  const algorithms = options.algorithms ?? ['EdDSA'];
  const now = options.now ?? Date.now;
  return {
    async verify(token) {
      const pre = preCheckToken(token, { maxBytes: options.maxBytes ?? 8192, algorithms });
      if (!pre.ok) return { valid: false, code: pre.code };
      const result = await verifySignatureAndClaims(token, jwks, {
        algorithm: pre.alg,
        issuer: options.issuer,
        audience: options.audience,
        clockSkewSeconds: options.clockSkewSeconds ?? 30,
        nowMs: now(),
      });
      if (!result.valid) return result;
      if (options.isRevoked !== undefined && (await options.isRevoked(result.claims))) return { valid: false, code: 'token_revoked' };
      return result;
    },
  };
}

// The JWKS decides which signatures are trusted: fetched over plain http from another host, anyone
// on the path could substitute their own key and mint tokens.
function assertTrustworthyJwksUrl(url: URL, allowInsecureHttp: boolean): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && (allowInsecureHttp || isLoopbackHost(url.hostname))) return;
  throw new TypeError(`jwksUrl must be https (plain http only for a loopback host, or with allowInsecureHttp): got ${url.protocol}//${url.host}`);
}

// jose reads the whole JWKS body into memory; a hostile or broken endpoint could send gigabytes.
/**
 * The numeric options are security bounds, each checked as `value > bound`: NaN (what
 * `Number(process.env.UNSET)` gives) or Infinity would switch the bound off without a word.
 */
function assertBounds(options: RemoteTokenVerifierOptions): void {
  const bounds: [name: string, value: number | undefined, positive: boolean][] = [
    ['clockSkewSeconds', options.clockSkewSeconds, false],
    ['maxBytes', options.maxBytes, true],
    ['maxJwksBytes', options.maxJwksBytes, true],
    ['jwksCooldownMs', options.jwksCooldownMs, false],
    ['jwksMaxAgeMs', options.jwksMaxAgeMs, false],
    ['jwksMaxStaleMs', options.jwksMaxStaleMs, false],
  ];
  for (const [name, value, positive] of bounds) {
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0 || (positive && value === 0)) {
      throw new TypeError(`${name} must be a finite ${positive ? 'positive' : 'non-negative'} number, not ${String(value)}`);
    }
  }
}

// Reads at most `maxBytes` and fails the fetch beyond (fail closed: tokens are then refused).
function sizeCappedFetch(maxBytes: number): (url: string, init: RequestInit) => Promise<Response> {
  return async (url, init) => {
    const response = await fetch(url, init);
    // jose refuses anything but 200 without reading the body.
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      return response;
    }
    const tooLarge = (): errors.JOSEError => new errors.JOSEError(`the JSON Web Key Set response is larger than ${maxBytes} bytes`);
    if (Number(response.headers.get('content-length') ?? 0) > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    // Leaving the loop by throwing cancels the stream (the iterator's return()).
    for await (const chunk of response.body ?? []) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge();
      chunks.push(chunk);
    }
    return new Response(Buffer.concat(chunks), { status: 200, headers: response.headers });
  };
}
