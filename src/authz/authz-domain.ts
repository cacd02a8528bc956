import type { AppContext } from '../server/app-context.js';
import { AuthzService } from './authz-service.js';

/**
 * Builds the authorization domain on a context: the service, the guard's authorizer (the
 * same `can()`), and its shutdown. Called once by createContext.
 */
export function createAuthz(context: AppContext, options: { now?: () => number; cacheTtlMs?: number } = {}): AuthzService {
  const authz = new AuthzService({
    db: context.storage.db,
    invalidation: context.invalidation,
    audit: () => context.audit,
    ...options,
  });
  context.authorize = (principal, permission, scope) => authz.can(principal, permission, scope);
  context.onClose.push(() => authz.close());
  return authz;
}
