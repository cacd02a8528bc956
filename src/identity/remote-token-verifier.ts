import { createRemoteJWKSet } from 'jose';
import { preCheckToken, verifySignatureAndClaims, type AccessTokenClaims, type TokenVerification } from './token-checks.js';

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
  /** The clock. @default Date.now */
  readonly now?: () => number;
}

/** A verifier for services other than Warden: knows only the JWKS URL. */
export interface RemoteTokenVerifier {
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
  const jwks = createRemoteJWKSet(typeof options.jwksUrl === 'string' ? new URL(options.jwksUrl) : options.jwksUrl, {
    cooldownDuration: options.jwksCooldownMs ?? 30_000,
  });
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
