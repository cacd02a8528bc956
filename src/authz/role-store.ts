import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DatabaseSchema } from '../storage/index.js';
import type { RoleNode } from './role-graph.js';

/** A role as the domain sees it. */
export interface RoleRecord extends RoleNode {
  readonly description: string | undefined;
  readonly builtin: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A membership as the domain sees it. */
export interface MembershipRecord {
  readonly userId: string;
  readonly role: string;
  /** undefined = global */
  readonly scope: string | undefined;
  readonly createdAt: number;
}

type Db = Kysely<DatabaseSchema>;

function parseList(text: string): string[] {
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function toRole(row: DatabaseSchema['roles']): RoleRecord {
  return {
    name: row.name,
    description: row.description ?? undefined,
    permissions: parseList(row.permissions),
    inherits: parseList(row.inherits),
    builtin: row.is_builtin === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Reads and writes roles and memberships; no policy here (see authz-service). */
export const roleStore = {
  /** Every role, by name. Roles are few (thousands at most), so they are read whole. */
  async allRoles(db: Db): Promise<Map<string, RoleRecord>> {
    const rows = await db.selectFrom('roles').selectAll().orderBy('name').execute();
    return new Map(rows.map((row) => [row.name, toRole(row)]));
  },

  /** One role, or undefined. */
  async getRole(db: Db, name: string): Promise<RoleRecord | undefined> {
    const row = await db.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst();
    return row === undefined ? undefined : toRole(row);
  },

  /** Inserts a role; false when the name is taken. */
  async insertRole(db: Db, role: Omit<RoleRecord, 'builtin' | 'createdAt' | 'updatedAt'>, now: number): Promise<boolean> {
    const result = await db
      .insertInto('roles')
      .values({
        name: role.name,
        description: role.description ?? null,
        permissions: JSON.stringify(role.permissions),
        inherits: JSON.stringify(role.inherits),
        is_builtin: 0,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  },

  /** Replaces a role's description, permissions and parents. */
  async updateRole(db: Db, role: Omit<RoleRecord, 'builtin' | 'createdAt' | 'updatedAt'>, now: number): Promise<void> {
    await db
      .updateTable('roles')
      .set({
        description: role.description ?? null,
        permissions: JSON.stringify(role.permissions),
        inherits: JSON.stringify(role.inherits),
        updated_at: now,
      })
      .where('name', '=', role.name)
      .execute();
  },

  /** Deletes a role; true when it existed. */
  async deleteRole(db: Db, name: string): Promise<boolean> {
    const result = await db.deleteFrom('roles').where('name', '=', name).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  },

  /** How many memberships use the role. */
  async countMemberships(db: Db, role: string): Promise<number> {
    const row = await db.selectFrom('role_memberships').select((eb) => eb.fn.countAll<number | string>().as('n')).where('role_name', '=', role).executeTakeFirst();
    return Number(row?.n ?? 0);
  },

  /** The user's memberships that apply in `scope`: global ones plus those of that scope. */
  async membershipsFor(db: Db, userId: string, scope: string | undefined): Promise<MembershipRecord[]> {
    const rows = await db
      .selectFrom('role_memberships')
      .select(['user_id', 'role_name', 'scope', 'created_at'])
      .where('user_id', '=', userId)
      .where((eb) => (scope === undefined ? eb('scope', 'is', null) : eb.or([eb('scope', 'is', null), eb('scope', '=', scope)])))
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({ userId: r.user_id, role: r.role_name, scope: r.scope ?? undefined, createdAt: Number(r.created_at) }));
  },

  /** Every membership of a user, whatever the scope. */
  async allMembershipsOf(db: Db, userId: string): Promise<MembershipRecord[]> {
    const rows = await db.selectFrom('role_memberships').select(['user_id', 'role_name', 'scope', 'created_at']).where('user_id', '=', userId).orderBy('created_at').execute();
    return rows.map((r) => ({ userId: r.user_id, role: r.role_name, scope: r.scope ?? undefined, createdAt: Number(r.created_at) }));
  },

  /** Adds a membership unless the same one exists; true when added. */
  async addMembership(db: Db, input: { userId: string; role: string; scope: string | undefined; createdBy: string }, now: number): Promise<boolean> {
    return db.transaction().execute(async (trx) => {
      const existing = await trx
        .selectFrom('role_memberships')
        .select('id')
        .where('user_id', '=', input.userId)
        .where('role_name', '=', input.role)
        .where((eb) => (input.scope === undefined ? eb('scope', 'is', null) : eb('scope', '=', input.scope)))
        .executeTakeFirst();
      if (existing !== undefined) return false;
      await trx
        .insertInto('role_memberships')
        .values({ id: randomUUID(), user_id: input.userId, role_name: input.role, scope: input.scope ?? null, created_by: input.createdBy, created_at: now })
        .execute();
      return true;
    });
  },

  /** Removes a membership; true when it existed. */
  async removeMembership(db: Db, input: { userId: string; role: string; scope: string | undefined }): Promise<boolean> {
    const result = await db
      .deleteFrom('role_memberships')
      .where('user_id', '=', input.userId)
      .where('role_name', '=', input.role)
      .where((eb) => (input.scope === undefined ? eb('scope', 'is', null) : eb('scope', '=', input.scope)))
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  },

  /** The user's admin flag and existence: undefined when no such user. */
  async userFlags(db: Db, userId: string): Promise<{ isAdmin: boolean; isActive: boolean } | undefined> {
    const row = await db.selectFrom('users').select(['is_admin', 'is_active']).where('id', '=', userId).executeTakeFirst();
    return row === undefined ? undefined : { isAdmin: Number(row.is_admin) === 1, isActive: Number(row.is_active) === 1 };
  },
};
