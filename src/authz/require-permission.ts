import type { FastifyContextConfig } from 'fastify';
import '../http/route-config.js';

/**
 * Route options that make the shared auth guard (src/http/auth-guard.ts) demand a
 * permission: `app.post('/v1/keys', { ...requirePermission('keys:write'), schema }, handler)`.
 * The guard authenticates, then asks `context.authorize` — which is `AuthzService.can` —
 * so the decision is the same one the framework-agnostic `can()` makes. Throws at route
 * definition time on a malformed permission, so a typo cannot leave a route guarded by
 * something nobody holds… or by nothing.
 */
export function requirePermission(permission: string): { config: FastifyContextConfig } {
  if (permission !== 'authenticated' && !/^[a-z][a-z0-9_.-]*:[a-z][a-z0-9_.-]*$/.test(permission)) {
    throw new TypeError(`requirePermission needs a concrete resource:action permission, got ${JSON.stringify(permission)}`);
  }
  return { config: { permission } };
}
