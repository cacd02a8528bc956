export { openDatabase, type Storage, type OpenDatabaseOptions } from './open-database.js';
export { StorageUnavailableError, databaseFailureReason, isDatabaseOutage } from './storage-unavailable.js';
export { migrateDatabase, migrateToLatest, migrationStatementTimeoutMs, migrationStatus, requireMigrated, unknownMigrationsWarning, type MigrationOutcome, type MigrationStatus } from './migrate.js';
export { SchemaNotMigratedError } from './schema-not-migrated.js';
export { inTransaction } from './transaction.js';
export { MIGRATIONS } from './migrations/index.js';
export type { DatabaseSchema } from './schema.js';
export type { DialectName, WardenMigration } from './migration.js';
export type { ListPage } from './keyset-cursor.js';
