export { openDatabase, type Storage, type OpenDatabaseOptions } from './open-database.js';
export { StorageUnavailableError, databaseFailureReason } from './storage-unavailable.js';
export { migrateToLatest, migrationStatus, type MigrationStatus } from './migrate.js';
export { inTransaction } from './transaction.js';
export { MIGRATIONS } from './migrations/index.js';
export type { DatabaseSchema } from './schema.js';
export type { DialectName, WardenMigration } from './migration.js';
export type { ListPage } from './keyset-cursor.js';
