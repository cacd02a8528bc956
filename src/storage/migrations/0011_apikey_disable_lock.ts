import type { WardenMigration } from '../migration.js';

/**
 * Who disabled an API key, and whether they did it with authority over the key's owner (not as
 * the owner): such a disable is a lock that only someone who manages the owner's keys can lift,
 * so an owner cannot undo an administrator's response to a leak. Existing rows get no lock
 * (NULL / 0): nobody knows who disabled them, and locking them now would strand keys their
 * owners disabled themselves.
 */
export const migration0011ApiKeyDisableLock: WardenMigration = {
  name: '0011_apikey_disable_lock',
  async up(db) {
    // One column per statement: SQLite's ALTER TABLE adds a single column at a time.
    await db.schema.alterTable('api_keys').addColumn('disabled_by', 'text').execute();
    await db.schema.alterTable('api_keys').addColumn('disabled_by_admin', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  },
};
