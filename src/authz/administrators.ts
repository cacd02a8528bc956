import type { Transaction } from 'kysely';
import type { Principal } from '../http/principal.js';
import type { AppContext } from '../server/app-context.js';
import { dialectOf } from '../storage/dialect-of.js';
import type { DatabaseSchema } from '../storage/index.js';
import { permissionCovers } from './permission-match.js';
import { resolveRole } from './role-graph.js';
import { roleStore } from './role-store.js';

/**
 * The permission that guards administrators: making or unmaking one, taking one's account away
 * (deactivating, reactivating, deleting), and changing one's API keys or OAuth clients.
 */
export const USERS_ADMIN = 'users:admin';

/** Whether the principal holds `users:admin`; no principal, or a failing check, denies. */
export async function holdsUsersAdmin(context: Pick<AppContext, 'authorize'>, principal: Principal | undefined): Promise<boolean> {
  try {
    return principal !== undefined && (await context.authorize(principal, USERS_ADMIN));
  } catch {
    return false;
  }
}

/**
 * Whether a user is an administrator: the `is_admin` flag, or a global role granting
 * `users:admin` (`users:*`, `*:*`, the `admin` role). Read from the flag and the memberships
 * rather than the effective permissions, which are empty for a deactivated user: reactivating
 * one gives the role back just the same. A scoped membership does not count (Warden's own
 * routes are checked globally), and an unknown user is none. `user.isAdmin`, when the caller
 * has read the user already, spares reading the flag again.
 */
export async function isAdministrator(context: Pick<AppContext, 'authz' | 'storage'>, user: { readonly id: string; readonly isAdmin?: boolean }): Promise<boolean> {
  const db = context.storage.db;
  const flagged = user.isAdmin ?? (await roleStore.userFlags(db, user.id))?.isAdmin;
  if (flagged === true) return true;
  const authz = context.authz;
  // Without the authorization domain, roles grant nothing (the authorizer matches the
  // credential's own list), so only the flag makes an administrator.
  if (authz === undefined) return false;
  // The store, not authz.memberships(): an unknown user is simply no administrator here.
  const [memberships, roles] = await Promise.all([roleStore.allMembershipsOf(db, user.id), authz.roles()]);
  return memberships.some(
    (membership) => membership.scope === undefined && resolveRole(roles, membership.role).some((granted) => permissionCovers(granted.permission, USERS_ADMIN)),
  );
}

/** Thrown by `refuseAdministratorTarget` when the user is an administrator at the moment of the write. */
export class AdministratorTargetError extends Error {
  constructor() {
    super('the target is an administrator');
  }
}

/**
 * Inside the transaction that is about to change or delete `userId`: holds off every way of
 * making the user an administrator until it ends (the role-write lock, which role and membership
 * writes take, then the user's row), and throws AdministratorTargetError if the user is one now.
 * A check made before the write could be overtaken by a promotion committed in between.
 */
export async function refuseAdministratorTarget(trx: Transaction<DatabaseSchema>, userId: string): Promise<void> {
  // This order only: a membership insert holds the role-write lock while its foreign key waits on the user's row.
  await roleStore.lockRoleWrites(trx);
  if (dialectOf(trx) === 'postgres') await trx.selectFrom('users').select('id').where('id', '=', userId).forUpdate().execute();
  const flags = await roleStore.userFlags(trx, userId);
  if (flags === undefined) return;
  if (flags.isAdmin) throw new AdministratorTargetError();
  const [memberships, roles] = await Promise.all([roleStore.allMembershipsOf(trx, userId), roleStore.allRoles(trx)]);
  const granted = memberships.some(
    (membership) => membership.scope === undefined && resolveRole(roles, membership.role).some((grant) => permissionCovers(grant.permission, USERS_ADMIN)),
  );
  if (granted) throw new AdministratorTargetError();
}
