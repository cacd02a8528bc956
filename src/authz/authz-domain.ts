import type { AppContext } from '../server/app-context.js';
import { AuthzService } from './authz-service.js';

/**
 * The permission cache's TTL: the setting when given; else 30 s when Redis carries every
 * instance's (and the CLI's) invalidations, and 1 s without it, where a change made by
 * another process (`warden roles revoke` beside a running server) is heard by no one and
 * only the TTL bounds how long it goes unseen.
 */
export function authzCacheTtlMs(configured: number | undefined, sharedBus: boolean): number {
  return configured ?? (sharedBus ? 30_000 : 1_000);
}

/**
 * Builds the authorization domain on a context: the service, the guard's authorizer (`can()`,
 * synchronous when the cache answers), and its shutdown. Called once by createContext. The
 * cache TTL comes from WARDEN_AUTHZ_CACHE_TTL_MS unless `options.cacheTtlMs` overrides it.
 */
export function createAuthz(context: AppContext, options: { now?: () => number; cacheTtlMs?: number } = {}): AuthzService {
  const authz = new AuthzService({
    db: context.storage.db,
    invalidation: context.invalidation,
    audit: () => context.audit,
    cacheTtlMs: options.cacheTtlMs ?? authzCacheTtlMs(context.settings.authzCacheTtlMs, context.redis !== undefined),
    now: options.now,
  });
  context.authorize = (principal, permission, scope) => authz.canCached(principal, permission, scope) ?? authz.can(principal, permission, scope);
  context.onClose.push(() => authz.close());
  return authz;
}
