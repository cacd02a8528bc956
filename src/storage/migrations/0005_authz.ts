import type { WardenMigration } from '../migration.js';

/** The built-in roles; editable afterwards, deletable only while unassigned. */
const BUILTIN_ROLES = [
  { name: 'admin', description: 'Everything', permissions: ['*:*'], inherits: [] },
  { name: 'reader', description: 'Read everything', permissions: ['*:read'], inherits: [] },
  { name: 'member', description: 'Read everything and manage API keys', permissions: ['keys:write'], inherits: ['reader'] },
];

export const migration0005Authz: WardenMigration = {
  name: '0005_authz',
  async up(db) {
    await db.schema
      .createTable('roles')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('description', 'text')
      .addColumn('permissions', 'text', (c) => c.notNull())
      .addColumn('inherits', 'text', (c) => c.notNull())
      .addColumn('is_builtin', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('role_memberships')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('role_name', 'text', (c) => c.notNull().references('roles.name').onDelete('restrict'))
      .addColumn('scope', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('role_memberships_user_scope').on('role_memberships').columns(['user_id', 'scope']).execute();
    await db.schema.createIndex('role_memberships_role').on('role_memberships').column('role_name').execute();
    const now = Date.now();
    await db
      .insertInto('roles')
      .values(
        BUILTIN_ROLES.map((role) => ({
          name: role.name,
          description: role.description,
          permissions: JSON.stringify(role.permissions),
          inherits: JSON.stringify(role.inherits),
          is_builtin: 1,
          created_at: now,
          updated_at: now,
        })),
      )
      .execute();
  },
};
