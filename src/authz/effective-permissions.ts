import type { Kysely } from 'kysely';
import type { DatabaseSchema } from '../storage/index.js';
import { resolveRole, type RoleNode } from './role-graph.js';
import { roleStore } from './role-store.js';

/** One effective permission and where it came from. */
export interface ResolvedGrant {
  readonly permission: string;
  /** 'membership': a role assigned to the user; 'is_admin': the users.is_admin flag (admin role, global). */
  readonly source: 'membership' | 'is_admin';
  /** The role that lists the permission. */
  readonly role: string;
  /** The assigned role first, then each inherited role down to `role`. */
  readonly via: readonly string[];
  /** The scope of the membership; undefined = global. */
  readonly scope: string | undefined;
}

/**
 * Loads a subject's grants in a scope: global memberships always apply, scoped ones only in
 * their scope; `users.is_admin = 1` counts as the admin role globally. An unknown or
 * deactivated user holds nothing (fail closed).
 */
export async function loadGrants(
  db: Kysely<DatabaseSchema>,
  roles: ReadonlyMap<string, RoleNode>,
  subject: string,
  scope: string | undefined,
): Promise<ResolvedGrant[]> {
  const [flags, memberships] = await Promise.all([roleStore.userFlags(db, subject), roleStore.membershipsFor(db, subject, scope)]);
  if (flags === undefined || !flags.isActive) return [];
  const grants: ResolvedGrant[] = [];
  if (flags.isAdmin) {
    for (const r of resolveRole(roles, 'admin')) grants.push({ permission: r.permission, source: 'is_admin', role: r.role, via: r.via, scope: undefined });
    // The flag means "admin", even if someone edited the admin role down.
    if (!grants.some((g) => g.permission === '*:*')) grants.push({ permission: '*:*', source: 'is_admin', role: 'admin', via: ['admin'], scope: undefined });
  }
  for (const membership of memberships) {
    for (const r of resolveRole(roles, membership.role)) {
      grants.push({ permission: r.permission, source: 'membership', role: r.role, via: r.via, scope: membership.scope });
    }
  }
  return grants;
}

/** The distinct permission strings of a list of grants, in first-seen order. */
export function distinctPermissions(grants: readonly ResolvedGrant[]): string[] {
  return [...new Set(grants.map((g) => g.permission))];
}
