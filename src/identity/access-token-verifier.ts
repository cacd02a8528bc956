import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { RevocationList } from './revocation-list.js';
import type { SigningKeyRing } from './signing-key-ring.js';
import { preCheckToken, verifySignatureAndClaims, type AccessTokenClaims, type TokenVerification } from './token-checks.js';
import type { UserStatusCache } from './user-status-cache.js';

export interface AccessTokenVerifierOptions {
  readonly keys: SigningKeyRing;
  readonly revocations: RevocationList;
  readonly users: UserStatusCache;
  /** The configured algorithm: the only one accepted. */
  readonly algorithm: string;
  readonly issuer: string;
  readonly audience: string;
  readonly clockSkewSeconds: number;
  readonly maxBytes: number;
  readonly now: () => number;
  /**
   * Whether an OAuth client's tokens may still be honoured (set by the OAuth domain). Without
   * it, client tokens are refused: fail closed.
   */
  readonly clientStatus?: () => ((clientId: string) => Promise<boolean>) | undefined;
  /** Verified tokens kept to skip signature checks. @default 10_000 */
  readonly cacheSize?: number;
}

/** A fully verified token's claims and the key id it was signed with. */
interface VerifiedEntry {
  readonly claims: AccessTokenClaims;
  readonly kid: string;
}

/**
 * Warden's own access-token check, in a fixed order: size → shape → header/alg allow-list →
 * kid → (cache | signature + iss/aud/typ/exp/nbf) → revoked jti / logout-all → user (or OAuth client) active.
 * Verified claims are cached by SHA-256 of the token until exp (PERFORMANCE.md); revocation and
 * the user's status are checked on every call, cache hit or not.
 *
 * A cache hit skips the shape and header checks too: the hit means these exact bytes passed
 * every check before (the key is a collision-resistant hash of the whole token), so parsing
 * the header again could only repeat the earlier answer, at a third of the cost of a hit.
 * Only the size check runs first, so that a huge token is refused before it is hashed.
 */
export class AccessTokenVerifier {
  private readonly verified: LRUCache<string, VerifiedEntry>;

  constructor(private readonly options: AccessTokenVerifierOptions) {
    this.verified = new LRUCache({ max: options.cacheSize ?? 10_000 });
  }

  /** Verifies a token; an invalid one is a `{valid: false, code}` value, never an exception. */
  async verify(token: string): Promise<TokenVerification> {
    const options = this.options;
    const now = options.now();
    if (token.length > options.maxBytes) return { valid: false, code: 'token_too_large' };
    const cacheKey = hash('sha256', token, 'base64url');
    let entry = this.verified.get(cacheKey);
    // A cached entry is only as good as its exp (minus nothing: skew applies to freshly verified tokens too).
    if (entry !== undefined && entry.claims.exp * 1000 + options.clockSkewSeconds * 1000 <= now) {
      this.verified.delete(cacheKey);
      entry = undefined;
    }
    let claims: AccessTokenClaims;
    if (entry === undefined) {
      const pre = preCheckToken(token, { maxBytes: options.maxBytes, algorithms: [options.algorithm] });
      if (!pre.ok) return { valid: false, code: pre.code };
      const key = await options.keys.find(pre.kid);
      if (key === undefined) return { valid: false, code: 'token_unknown_kid' };
      if (key.algorithm !== pre.alg) return { valid: false, code: 'token_algorithm_not_allowed' };
      const result = await verifySignatureAndClaims(token, key.verifyKey, {
        algorithm: key.algorithm,
        issuer: options.issuer,
        audience: options.audience,
        clockSkewSeconds: options.clockSkewSeconds,
        nowMs: now,
      });
      if (!result.valid) return result;
      claims = result.claims;
      const ttl = claims.exp * 1000 + options.clockSkewSeconds * 1000 - now;
      if (ttl > 0) this.verified.set(cacheKey, { claims, kid: pre.kid }, { ttl });
    } else {
      claims = entry.claims;
      // The kid may have been retired since the token was cached.
      if ((await options.keys.find(entry.kid)) === undefined) return { valid: false, code: 'token_unknown_kid' };
    }
    if (await options.revocations.isRevoked({ jti: claims.jti, userId: claims.sub, issuedAtMs: claims.issuedAtMs, sessionId: claims.sid })) return { valid: false, code: 'token_revoked' };
    if (claims.clientId !== undefined) {
      const clientActive = options.clientStatus?.();
      if (clientActive === undefined || !(await clientActive(claims.clientId))) return { valid: false, code: 'token_revoked' };
      return { valid: true, claims };
    }
    const status = await options.users.get(claims.sub);
    if (!status.exists || !status.isActive) return { valid: false, code: 'user_inactive' };
    // A token that says "admin" of a user who is no longer one predates the demotion, whatever
    // the clocks of the instances that issued it and wrote the demotion's marker say.
    if (!status.isAdmin && claims.roles.includes('admin')) return { valid: false, code: 'token_revoked' };
    return { valid: true, claims, user: status };
  }
}
