import type { WardenMigration } from '../migration.js';

export const migration0001Core: WardenMigration = {
  name: '0001_core',
  async up(db) {
    await db.schema
      .createTable('system_state')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};
