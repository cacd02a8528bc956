import type { WardenMigration } from '../migration.js';

export const migration0006ApiKeys: WardenMigration = {
  name: '0006_apikeys',
  async up(db) {
    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('prefix', 'text', (c) => c.notNull())
      .addColumn('environment', 'text', (c) => c.notNull())
      .addColumn('key_hash', 'text', (c) => c.notNull())
      .addColumn('hash_scheme', 'text', (c) => c.notNull())
      .addColumn('pepper_version', 'integer', (c) => c.notNull())
      .addColumn('lookup_hash', 'text', (c) => c.unique())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('permissions', 'text', (c) => c.notNull())
      .addColumn('metadata', 'text', (c) => c.notNull())
      .addColumn('rate_limit', 'integer')
      .addColumn('rate_limit_window_ms', 'bigint')
      .addColumn('is_enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .addColumn('revoked_reason', 'text')
      .addColumn('rotated_from', 'text')
      .addColumn('replaced_by', 'text')
      .addColumn('usage_count', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('last_used_at', 'bigint')
      .addColumn('last_used_ip', 'text')
      .execute();
    await db.schema.createIndex('api_keys_prefix').on('api_keys').column('prefix').execute();
    await db.schema.createIndex('api_keys_owner_created').on('api_keys').columns(['owner_id', 'created_at']).execute();
    await db.schema.createIndex('api_keys_created_id').on('api_keys').columns(['created_at', 'id']).execute();
  },
};
