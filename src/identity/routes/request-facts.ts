import type { FastifyRequest } from 'fastify';
import { actorId } from '../../authz/audit-actor.js';
import { WardenError } from '../../errors/index.js';
import type { RequestFacts } from '../auth-service.js';
import type { IdentityService } from '../identity-service.js';
import type { AccessTokenClaims } from '../token-checks.js';
import type { Actor } from '../user-admin.js';

/** IP, user agent and request id of a request, for sessions and audit events. */
export function requestFacts(request: FastifyRequest): RequestFacts {
  const agent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof agent === 'string' ? agent : undefined, requestId: request.id };
}

/** The audit actor of an authenticated request (named as every route names it, `actorId`). */
export function actorOf(request: FastifyRequest): Actor {
  return { actor: actorId(request.principal), ...requestFacts(request) };
}

/** The user access token behind a request; 403 when the caller used another kind of credential. */
export function userClaims(request: FastifyRequest, identity: IdentityService): AccessTokenClaims {
  const claims = identity.claimsOf(request);
  if (claims === undefined || request.principal?.kind !== 'user') {
    throw new WardenError('forbidden', 'This endpoint needs a user access token (not an API key)');
  }
  return claims;
}
