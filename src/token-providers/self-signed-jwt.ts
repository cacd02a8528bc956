import { randomUUID } from 'node:crypto';
import { SignJWT, errors, jwtVerify, type CryptoKey, type JWTPayload, type KeyObject } from 'jose';
import type { IssuedToken, TokenSource } from './token-provider.js';

type SigningKey = CryptoKey | KeyObject | Uint8Array;

// The signer refuses a longer ttl, so no token it issued can legitimately be older than this.
const MAX_TTL_SECONDS = 86_400;
const TOKEN_TYPE = 'JWT';

export interface SelfSignedJwtOptions {
  /** Private key (or HMAC secret bytes for HS256). */
  readonly key: SigningKey;
  /** @default 'EdDSA' */
  readonly algorithm?: string;
  readonly issuer: string;
  readonly audience: string | readonly string[];
  /** @default issuer */
  readonly subject?: string;
  /** Space-joined into the `scope` claim. */
  readonly scopes?: readonly string[];
  /** Extra claims; reserved claims (iss, sub, aud, iat, exp, jti) cannot be overridden here. */
  readonly claims?: Record<string, unknown>;
  readonly keyId?: string;
  /** @default 300 */
  readonly ttlSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A token source that signs short-lived JWTs locally (service-to-service without a token endpoint). */
export function selfSignedJwt(options: SelfSignedJwtOptions): TokenSource {
  const ttl = options.ttlSeconds ?? 300;
  if (!(ttl > 0 && ttl <= MAX_TTL_SECONDS)) throw new TypeError(`ttlSeconds must be between 1 and ${MAX_TTL_SECONDS}`);
  const now = options.now ?? Date.now;
  return async (): Promise<IssuedToken> => {
    const issuedAt = Math.floor(now() / 1000);
    const payload: JWTPayload = { ...options.claims };
    if (options.scopes !== undefined && options.scopes.length > 0) payload.scope = options.scopes.join(' ');
    const jwt = new SignJWT(payload)
      .setProtectedHeader({ alg: options.algorithm ?? 'EdDSA', typ: TOKEN_TYPE, ...(options.keyId === undefined ? {} : { kid: options.keyId }) })
      .setIssuer(options.issuer)
      .setSubject(options.subject ?? options.issuer)
      .setAudience(options.audience as string | string[])
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(issuedAt + ttl)
      .setJti(randomUUID());
    return { value: await jwt.sign(options.key), expiresAt: (issuedAt + ttl) * 1000 };
  };
}

export interface VerifySelfSignedJwtOptions {
  readonly key: SigningKey;
  /** Allowed algorithms; never inferred from the token. */
  readonly algorithms: readonly string[];
  readonly issuer: string;
  readonly audience: string;
  /** Scopes the token must carry. */
  readonly requiredScopes?: readonly string[];
  /** @default 30 */
  readonly clockToleranceSeconds?: number;
  /** Oldest `iat` accepted, whatever `exp` says. @default 86400 (the signer's longest ttl) */
  readonly maxTokenAgeSeconds?: number;
  readonly now?: () => number;
}

/** Verifies a self-signed JWT (signature, algorithm, typ, iss, aud, exp/iat/jti, age, scopes); throws jose's typed errors. */
export async function verifySelfSignedJwt(token: string, options: VerifySelfSignedJwtOptions): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, options.key, {
    algorithms: [...options.algorithms],
    // jose checks exp only when present, so without this a token lacking exp never expires.
    // The signer always sets all three; a token missing one was not minted by selfSignedJwt.
    requiredClaims: ['exp', 'iat', 'jti'],
    // The signer always sets typ, so a JWT of another declared type (e.g. an RFC 9068 at+jwt)
    // signed with the same key, or one without typ, is not one of ours.
    typ: TOKEN_TYPE,
    issuer: options.issuer,
    audience: options.audience,
    clockTolerance: options.clockToleranceSeconds ?? 30,
    // Bounds a token whose exp is far in the future (signed with the key, but not by selfSignedJwt).
    maxTokenAge: options.maxTokenAgeSeconds ?? MAX_TTL_SECONDS,
    ...(options.now === undefined ? {} : { currentDate: new Date(options.now()) }),
  });
  const granted = new Set(typeof payload.scope === 'string' ? payload.scope.split(' ') : []);
  const missing = (options.requiredScopes ?? []).filter((s) => !granted.has(s));
  // A jose claim error like every other refusal here, so callers mapping jose's errors to 401 map
  // this one too (a plain Error would turn into a 500).
  if (missing.length > 0) throw new errors.JWTClaimValidationFailed(`token lacks the scopes: ${missing.join(', ')}`, payload, 'scope', 'check_failed');
  return payload;
}
