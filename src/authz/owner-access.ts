import { WardenError } from '../errors/index.js';
import type { Principal } from '../http/principal.js';
import type { AppContext } from '../server/app-context.js';

/** What a caller does with another owner's credentials: look at them, or change them. */
export type OwnerAccess = 'read' | 'write';

/**
 * Whether a principal may act on credentials (API keys, OAuth clients) owned by `ownerId`:
 * its own always; another owner's only with `users:read` (to look) or `users:write` (to
 * create, rotate, disable or revoke), because managing someone's credentials is managing
 * that user. `keys:*` / `clients:*` alone cover only the caller's own.
 */
export async function mayActForOwner(context: Pick<AppContext, 'authorize'>, principal: Principal, ownerId: string, access: OwnerAccess): Promise<boolean> {
  if (actsAsOwner(principal, ownerId)) return true;
  return managesOwners(context, principal, access);
}

/**
 * Whether the principal reaches `ownerId`'s credentials as their owner (the user, or one of the
 * user's API keys); an OAuth client never does. Otherwise its access comes from managing users.
 */
export function actsAsOwner(principal: Principal, ownerId: string): boolean {
  return principal.kind !== 'client' && ownerId === principal.subject;
}

/**
 * Whether the principal holds what acting on another owner's credentials needs (`users:read` /
 * `users:write`), whether or not it owns the ones at hand: an owner holding it may do to their
 * own credentials whatever a manager may (e.g. lift a disable an administrator made).
 */
export async function managesOwners(context: Pick<AppContext, 'authorize'>, principal: Principal, access: OwnerAccess): Promise<boolean> {
  return context.authorize(principal, access === 'read' ? 'users:read' : 'users:write');
}

/** Throws 403 unless `mayActForOwner`. */
export async function assertMayActForOwner(context: Pick<AppContext, 'authorize'>, principal: Principal, ownerId: string, access: OwnerAccess): Promise<void> {
  if (!(await mayActForOwner(context, principal, ownerId, access))) {
    throw new WardenError('forbidden', `Acting on another owner's credentials needs users:${access}`);
  }
}
