import { Migrator, sql, type Migration, type MigrationProvider } from 'kysely';
import { MIGRATIONS } from './migrations/index.js';
import type { DialectName, WardenMigration } from './migration.js';
import type { Storage } from './open-database.js';
import { StorageUnavailableError } from './storage-unavailable.js';

export interface MigrationStatus {
  readonly name: string;
  readonly executedAt: Date | undefined;
}

async function migrator(storage: Storage, migrations: readonly WardenMigration[]): Promise<Migrator> {
  const dialect: DialectName = storage.dialect;
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const m of migrations) out[m.name] = { up: (db) => m.up(db, dialect) };
      return out;
    },
  };
  // Kysely looks for its bookkeeping tables in every schema unless told which one: on a
  // PostgreSQL server holding several Warden schemas, another schema's lock table would be
  // taken for ours. Pin them to the connection's current schema (the first on search_path).
  const schema =
    dialect === 'postgres' ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(storage.db)).rows[0]?.schema : undefined;
  return new Migrator({
    db: storage.db,
    provider,
    migrationTableName: 'warden_migrations',
    migrationLockTableName: 'warden_migrations_lock',
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
}

/** Applies every pending migration (each in a transaction; concurrent starters wait on a lock). Returns the names applied. */
export async function migrateToLatest(
  storage: Storage,
  migrations: readonly WardenMigration[] = MIGRATIONS,
): Promise<string[]> {
  // PostgreSQL serialises concurrent migrators with an advisory lock. Kysely's SQLite lock is
  // a no-op (it assumes one connection), so two processes starting on one file can race:
  // the loser's transaction rolls back, and a retry sees the winner's work and has nothing to do.
  // On PostgreSQL, Kysely's introspection (getTables) scans every schema of the database and
  // fails with "schema … does not exist" when another schema is dropped meanwhile (e.g. test
  // schemas of parallel runs); it runs before any migration, so a retry is safe there too.
  const attempts = storage.dialect === 'sqlite' ? 5 : 3;
  let outcome = await (await migrator(storage, migrations)).migrateToLatest();
  // The migration that failed, from whichever attempt got that far: a later attempt may fail
  // earlier, in the introspection race, and name none.
  let failed = failedMigration(outcome.results);
  for (let attempt = 1; attempt < attempts && outcome.error !== undefined; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    outcome = await (await migrator(storage, migrations)).migrateToLatest();
    failed = failedMigration(outcome.results) ?? failed;
  }
  const { error, results } = outcome;
  if (error !== undefined) {
    // The reason (the database's own message) goes to operators; the URL is not known here.
    throw new StorageUnavailableError(`Migration ${failed ?? 'unknown'} failed`, error);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Lists every known migration and when it was applied (undefined = pending). */
export async function migrationStatus(
  storage: Storage,
  migrations: readonly WardenMigration[] = MIGRATIONS,
): Promise<MigrationStatus[]> {
  // The same introspection race as migrateToLatest's (another schema dropped meanwhile): a
  // read, so retrying it is always safe.
  for (let attempt = 1; ; attempt++) {
    try {
      const infos = await (await migrator(storage, migrations)).getMigrations();
      return infos.map((info) => ({ name: info.name, executedAt: info.executedAt }));
    } catch (error) {
      if (attempt >= 3 || !isSchemaDroppedMeanwhile(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}

function failedMigration(results: readonly { status: string; migrationName: string }[] | undefined): string | undefined {
  return results?.find((r) => r.status === 'Error')?.migrationName;
}

/** PostgreSQL's invalid_schema_name (3F000), which Kysely's scan of every schema meets when one is dropped under it. */
function isSchemaDroppedMeanwhile(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '3F000';
}
