import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, type CryptoKey, type JWTPayload, type KeyObject } from 'jose';
import type { IssuedToken, TokenSource } from './token-provider.js';

type SigningKey = CryptoKey | KeyObject | Uint8Array;

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
  if (!(ttl > 0 && ttl <= 86_400)) throw new TypeError('ttlSeconds must be between 1 and 86400');
  const now = options.now ?? Date.now;
  return async (): Promise<IssuedToken> => {
    const issuedAt = Math.floor(now() / 1000);
    const payload: JWTPayload = { ...options.claims };
    if (options.scopes !== undefined && options.scopes.length > 0) payload.scope = options.scopes.join(' ');
    const jwt = new SignJWT(payload)
      .setProtectedHeader({ alg: options.algorithm ?? 'EdDSA', typ: 'JWT', ...(options.keyId === undefined ? {} : { kid: options.keyId }) })
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
  readonly now?: () => number;
}

/** Verifies a self-signed JWT (signature, algorithm, iss, aud, time, scopes); throws jose's typed errors. */
export async function verifySelfSignedJwt(token: string, options: VerifySelfSignedJwtOptions): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, options.key, {
    algorithms: [...options.algorithms],
    issuer: options.issuer,
    audience: options.audience,
    clockTolerance: options.clockToleranceSeconds ?? 30,
    ...(options.now === undefined ? {} : { currentDate: new Date(options.now()) }),
  });
  const granted = new Set(typeof payload.scope === 'string' ? payload.scope.split(' ') : []);
  const missing = (options.requiredScopes ?? []).filter((s) => !granted.has(s));
  if (missing.length > 0) throw new Error(`token lacks the scopes: ${missing.join(', ')}`);
  return payload;
}
