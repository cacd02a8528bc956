import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { ACCESS_TOKEN_TYPE } from '../identity/access-token-issuer.js';
import type { SigningKeyRing } from '../identity/signing-key-ring.js';

export interface ClientTokenIssuerOptions {
  readonly keys: SigningKeyRing;
  readonly issuer: string;
  readonly audience: string;
  readonly ttlSeconds: number;
  readonly now: () => number;
}

/**
 * Signs client-credentials access tokens with the same keys, issuer and audience as login
 * tokens (RFC 9068 profile): sub = client_id = the client, scope = the granted permissions,
 * short-lived, no session and no refresh token.
 */
export class ClientTokenIssuer {
  constructor(private readonly options: ClientTokenIssuerOptions) {}

  /**
   * Issues a token for a client with exactly these scopes, expiring at the end of its lifetime
   * or when the client stops working (`notAfterMs`, its `expires_at`), whichever comes first.
   */
  async issue(
    clientId: string,
    scopes: readonly string[],
    options: { readonly notAfterMs?: number | null } = {},
  ): Promise<{ token: string; jti: string; expiresIn: number; expiresAt: number }> {
    const key = this.options.keys.active();
    const nowMs = this.options.now();
    const issuedAt = Math.floor(nowMs / 1000);
    // Warden refuses a token of an expired client anyway; a service that checks tokens against
    // the JWKS alone does not know the client, and reads only `exp`. Never past the client's
    // end, even by a second: a client ending within this second gets a token that ends with it.
    const clientEnd = options.notAfterMs === undefined || options.notAfterMs === null ? Number.POSITIVE_INFINITY : Math.floor(options.notAfterMs / 1000);
    const expiresAt = Math.min(issuedAt + this.options.ttlSeconds, clientEnd);
    const jti = randomUUID();
    // iat_ms, as on login tokens: the revocation marker written when the owner is deactivated
    // compares milliseconds, and a token from earlier in that same second must fall under it.
    const token = await new SignJWT({ client_id: clientId, scope: scopes.join(' '), iat_ms: nowMs })
      .setProtectedHeader({ alg: key.algorithm, kid: key.kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setSubject(clientId)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(expiresAt)
      .setJti(jti)
      .sign(key.privateKey);
    return { token, jti, expiresIn: Math.max(0, expiresAt - issuedAt), expiresAt };
  }
}
