import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { dialectOf } from '../storage/dialect-of.js';
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

/** The fields of a role a change may set; a field left out keeps its stored value. */
export interface RoleChanges {
  /** null clears it. */
  readonly description?: string | null;
  readonly permissions?: readonly string[];
  readonly inherits?: readonly string[];
}

type Db = Kysely<DatabaseSchema>;

/*
 * PostgreSQL advisory-lock classes (the first key of the two-key form, a key space of its own
 * that the one-key locks of Kysely's migrator cannot collide with): one lock for every role-table
 * write, and one per user (second key: a hash of the id) for membership inserts. A hash
 * collision only makes two users' inserts wait for each other.
 */
const ROLE_WRITES_LOCK = 0x57524f4c;
const MEMBERSHIP_INSERTS_LOCK = 0x57524d42;

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

  /** Sets the fields of a role that `changes` names (and its updated_at); true when the role exists. */
  async updateRole(db: Db, name: string, changes: RoleChanges, now: number): Promise<boolean> {
    // Only what the change names is written: a stale copy of the other fields must never be
    // written back over someone else's edit of them.
    const result = await db
      .updateTable('roles')
      .set({
        ...(changes.description === undefined ? {} : { description: changes.description }),
        ...(changes.permissions === undefined ? {} : { permissions: JSON.stringify(changes.permissions) }),
        ...(changes.inherits === undefined ? {} : { inherits: JSON.stringify(changes.inherits) }),
        updated_at: now,
      })
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /**
   * Makes role-table writes wait for each other until `trx` ends. PostgreSQL takes an advisory
   * lock (READ COMMITTED would otherwise let two writers act on the same read). SQLite needs
   * none: Kysely runs one transaction at a time on its single connection, and when another
   * process (the CLI) commits between this transaction's read and its write, SQLite refuses
   * the write (SQLITE_BUSY_SNAPSHOT) rather than let it act on the stale read.
   */
  async lockRoleWrites(trx: Db): Promise<void> {
    if (dialectOf(trx) === 'postgres') await sql`select pg_advisory_xact_lock(${sql.lit(ROLE_WRITES_LOCK)}, 0)`.execute(trx);
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

  /** Adds a membership unless the same one exists, inside the caller's transaction; true when added. */
  async addMembership(trx: Db, input: { userId: string; role: string; scope: string | undefined; createdBy: string }, now: number): Promise<boolean> {
    // Two inserts of one membership must not both see "none yet" (there is no unique index:
    // NULL scopes are distinct in one), so inserts for one user wait for each other; the
    // read below then runs after the other's commit and sees its row.
    if (dialectOf(trx) === 'postgres') {
      await sql`select pg_advisory_xact_lock(${sql.lit(MEMBERSHIP_INSERTS_LOCK)}, hashtext(${input.userId}))`.execute(trx);
    }
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
