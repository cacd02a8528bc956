import type { FastifyRequest } from 'fastify';
import { WardenError } from '../errors/index.js';

/** Who is calling: established by an authenticator, consumed by guards and handlers. */
export interface Principal {
  /** What kind of credential proved the identity. */
  readonly kind: 'user' | 'api_key' | 'client';
  /** The subject: user id, API key owner id, or OAuth client id. */
  readonly subject: string;
  /** Permissions the credential carries, wildcards allowed (see authz/permission-match). */
  readonly permissions: readonly string[];
  /**
   * A user token whose `permissions` cap it even when empty (a `scope` claim). Without it, a
   * user's empty list means an unrestricted token, whose user's roles decide.
   */
  readonly restricted?: boolean;
  /** The credential's own id (JWT jti, API key id) for revocation and audit. */
  readonly credentialId: string;
  /** API key id when kind = 'api_key'. */
  readonly keyId?: string;
  /** Access-token expiry (epoch seconds) for logout's denylist TTL. */
  readonly expiresAt?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth guard on every non-public route. */
    principal?: Principal;
  }
}

/** The caller of a guarded route; 401 if there is none (a route that forgot its guard fails closed). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === undefined) throw new WardenError('unauthorized');
  return request.principal;
}
