import type { WardenMigration } from '../migration.js';

/**
 * A permanent mark of where an imported API key came from, so that re-running an import finds
 * the key even after its first use re-hashed it (the legacy hash is gone then) or it was
 * revoked. Nullable: keys issued by Warden have none. The unique index also stops two imports
 * running at once from inserting the same entry twice (several NULLs are allowed on both
 * SQLite and PostgreSQL).
 */
export const migration0009ApiKeyImportFingerprint: WardenMigration = {
  name: '0009_apikey_import_fingerprint',
  async up(db) {
    // SQLite cannot add a UNIQUE column with ALTER TABLE, hence the separate index (both dialects).
    await db.schema.alterTable('api_keys').addColumn('import_fingerprint', 'text').execute();
    await db.schema.createIndex('api_keys_import_fingerprint').on('api_keys').column('import_fingerprint').unique().execute();
  },
};
