import type { WardenMigration } from '../migration.js';

/**
 * Indexes for two queries that scanned whole tables: the list of every OAuth client, paged
 * newest first by (created_at, id), and the hourly pruning of expired refresh tokens and
 * sessions by `expires_at`. Each refresh leaves a row until it expires, so on a busy service
 * those tables are the largest and a full scan every hour holds SQLite's write lock for long.
 */
export const migration0012ListingAndExpiryIndexes: WardenMigration = {
  name: '0012_listing_and_expiry_indexes',
  async up(db) {
    await db.schema.createIndex('oauth_clients_created_id').on('oauth_clients').columns(['created_at', 'id']).execute();
    await db.schema.createIndex('refresh_tokens_expires_at').on('refresh_tokens').column('expires_at').execute();
    await db.schema.createIndex('auth_sessions_expires_at').on('auth_sessions').column('expires_at').execute();
  },
};
