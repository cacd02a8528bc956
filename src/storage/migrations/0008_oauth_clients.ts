import type { WardenMigration } from '../migration.js';

export const migration0008OAuthClients: WardenMigration = {
  name: '0008_oauth_clients',
  async up(db) {
    await db.schema
      .createTable('oauth_clients')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('secret_hash', 'text', (c) => c.notNull())
      .addColumn('previous_secret_hash', 'text')
      .addColumn('previous_secret_expires_at', 'bigint')
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .addColumn('last_used_at', 'bigint')
      .execute();
    await db.schema.createIndex('oauth_clients_owner').on('oauth_clients').columns(['owner_id', 'created_at']).execute();
  },
};
