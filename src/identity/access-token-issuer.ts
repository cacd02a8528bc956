import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { SigningKeyRing } from './signing-key-ring.js';

/** The access-token `typ` (RFC 9068), so an ID token or other JWT cannot pass as an access token. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface AccessTokenIssuerOptions {
  readonly keys: SigningKeyRing;
  readonly issuer: string;
  readonly audience: string;
  readonly ttlSeconds: number;
  readonly now: () => number;
}

/** A freshly signed access token and the facts the caller needs about it. */
export interface IssuedAccessToken {
  readonly token: string;
  readonly jti: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
  readonly expiresIn: number;
}

/** Signs access tokens with the ring's active key: iss, aud, sub, iat, nbf, exp, jti, sid, and scope when restricted. */
export class AccessTokenIssuer {
  constructor(private readonly options: AccessTokenIssuerOptions) {}

  /** Issues a token for a user's session; `scope` restricts it to those permissions (omitted = the user's own). */
  async issue(claims: { userId: string; sessionId: string; scope?: readonly string[]; roles?: readonly string[] }): Promise<IssuedAccessToken> {
    const key = this.options.keys.active();
    const nowMs = this.options.now();
    const issuedAt = Math.floor(nowMs / 1000);
    const expiresAt = issuedAt + this.options.ttlSeconds;
    const jti = randomUUID();
    // iat_ms: iat has second precision; logout-all compares in milliseconds so that a login right
    // after a logout-all (same second) is not caught by it.
    const payload: Record<string, unknown> = { sid: claims.sessionId, iat_ms: nowMs };
    if (claims.scope !== undefined) payload.scope = claims.scope.join(' ');
    if (claims.roles !== undefined && claims.roles.length > 0) payload.roles = [...claims.roles];
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: key.algorithm, kid: key.kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setSubject(claims.userId)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(expiresAt)
      .setJti(jti)
      .sign(key.privateKey);
    return { token, jti, expiresAt, expiresIn: this.options.ttlSeconds };
  }
}
