import { Migrator, sql, type Kysely, type Migration, type MigrationProvider, type MigrationResult } from 'kysely';
import { MIGRATIONS } from './migrations/index.js';
import type { DialectName, WardenMigration } from './migration.js';
import type { Storage } from './open-database.js';
import type { DatabaseSchema } from './schema.js';
import { SchemaNotMigratedError } from './schema-not-migrated.js';
import { StorageUnavailableError } from './storage-unavailable.js';

export interface MigrationStatus {
  readonly name: string;
  readonly executedAt: Date | undefined;
  /** False for a migration the database records but this build does not have (applied by a newer build). */
  readonly known: boolean;
}

/** What a migration run found and did. */
export interface MigrationOutcome {
  /** This build's migrations applied by this run, in order. */
  readonly applied: readonly string[];
  /**
   * Migrations the database records that this build does not know, applied by a newer build
   * during a rolling upgrade. Non-empty only when every migration of this build is applied
   * too: this build then applies nothing and runs on the newer schema.
   */
  readonly unknown: readonly string[];
}

const MIGRATION_TABLE = 'warden_migrations';
const MIGRATION_LOCK_TABLE = 'warden_migrations_lock';

/** Kysely's bookkeeping table and the catalogs that tell whether it exists yet. */
type BookkeepingTables = {
  warden_migrations: { name: string; timestamp: string };
  sqlite_master: { type: string; name: string };
  'information_schema.tables': { table_schema: string; table_name: string };
};

/** Where the bookkeeping lives: the dialect, and on PostgreSQL the schema it is pinned to. */
interface Target {
  readonly dialect: DialectName;
  readonly schema: string | undefined;
}

async function targetOf(storage: Storage): Promise<Target> {
  // Kysely looks for its bookkeeping tables in every schema unless told which one: on a
  // PostgreSQL server holding several Warden schemas, another schema's lock table would be
  // taken for ours. Pin them to the connection's current schema (the first on search_path).
  if (storage.dialect === 'sqlite') return { dialect: 'sqlite', schema: undefined };
  const row = (await sql<{ schema: string | null }>`select current_schema() as schema`.execute(storage.db)).rows[0];
  return { dialect: 'postgres', schema: row?.schema ?? undefined };
}

function migrator(db: Kysely<DatabaseSchema>, target: Target, migrations: readonly WardenMigration[]): Migrator {
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const m of migrations) out[m.name] = { up: (trx) => m.up(trx, target.dialect) };
      return out;
    },
  };
  return new Migrator({
    db,
    provider,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
    ...(target.schema === undefined ? {} : { migrationTableSchema: target.schema }),
  });
}

/** The migrations the database records as applied, by name, with when (none before the first run). */
async function executedMigrations(db: Kysely<DatabaseSchema>, target: Target): Promise<Map<string, Date>> {
  const meta = db.withTables<BookkeepingTables>();
  let exists: boolean;
  if (target.dialect === 'sqlite') {
    exists = (await meta.selectFrom('sqlite_master').select('name').where('type', '=', 'table').where('name', '=', MIGRATION_TABLE).executeTakeFirst()) !== undefined;
  } else {
    // No current schema (none of search_path exists): nothing can have been migrated there.
    exists =
      target.schema !== undefined &&
      (await meta
        .selectFrom('information_schema.tables')
        .select('table_name')
        .where('table_schema', '=', target.schema)
        .where('table_name', '=', MIGRATION_TABLE)
        .executeTakeFirst()) !== undefined;
  }
  if (!exists) return new Map();
  const rows = await (target.schema === undefined ? meta.selectFrom(MIGRATION_TABLE) : meta.withSchema(target.schema).selectFrom(MIGRATION_TABLE))
    .select(['name', 'timestamp'])
    .execute();
  return new Map(rows.map((r) => [r.name, new Date(r.timestamp)]));
}

/**
 * How the applied migrations relate to this build's. `ahead`: every one of this build's is
 * applied and the database also has later ones (a newer build ran): nothing to do. `mismatch`:
 * the database lacks one of this build's migrations before one it has applied, or has
 * unknown ones while this build's are pending: a different line of builds, never safe to
 * migrate over. `ordinary`: only pending migrations at the end, if any, for Kysely to apply.
 */
type Comparison = { readonly kind: 'ordinary' } | { readonly kind: 'ahead'; readonly unknown: string[] } | { readonly kind: 'mismatch'; readonly reason: string };

function compare(migrations: readonly WardenMigration[], executed: ReadonlyMap<string, Date>): Comparison {
  const known = migrations.map((m) => m.name).sort();
  const knownSet = new Set(known);
  const unknown = [...executed.keys()].filter((name) => !knownSet.has(name)).sort();
  const pending = known.filter((name) => !executed.has(name));
  const lastApplied = [...executed.keys()].sort().at(-1);
  const gaps = lastApplied === undefined ? [] : pending.filter((name) => name < lastApplied);
  const lastKnown = known.at(-1);
  const between = lastKnown === undefined ? [] : unknown.filter((name) => name < lastKnown);
  if (gaps.length > 0 || between.length > 0 || (unknown.length > 0 && pending.length > 0)) {
    const parts = [
      ...(unknown.length > 0 ? [`applied but unknown to this build: ${unknown.join(', ')}`] : []),
      ...(pending.length > 0 ? [`not applied: ${pending.join(', ')}`] : []),
    ];
    return { kind: 'mismatch', reason: `the database's migrations do not fit this build's (${parts.join('; ')})` };
  }
  return unknown.length > 0 ? { kind: 'ahead', unknown } : { kind: 'ordinary' };
}

/** One try at migrating: what Kysely reported (error, per-migration results) and what the database had beyond this build. */
interface Attempt {
  readonly error?: unknown;
  readonly results?: readonly MigrationResult[];
  readonly unknown: readonly string[];
  /** A mismatch between the database and this build: retrying cannot help. */
  readonly final?: boolean;
}

async function migrateOn(db: Kysely<DatabaseSchema>, target: Target, migrations: readonly WardenMigration[]): Promise<Attempt> {
  const comparison = compare(migrations, await executedMigrations(db, target));
  if (comparison.kind === 'ahead') return { results: [], unknown: comparison.unknown };
  if (comparison.kind === 'mismatch') return { error: new Error(comparison.reason), unknown: [], final: true };
  const { error, results } = await migrator(db, target, migrations).migrateToLatest();
  return { error, results, unknown: [] };
}

// This process's SQLite migrations, one after another. better-sqlite3 (and node:sqlite) wait
// for a lock synchronously, so a second connection of this process blocking in BEGIN
// IMMEDIATE would stop the event loop the first one needs to finish: it would only time out.
// Other processes on the same file are serialised by BEGIN IMMEDIATE itself.
let sqliteMigrations: Promise<unknown> = Promise.resolve();

/**
 * Runs `work` on one connection inside BEGIN IMMEDIATE, committing when `succeeded` says so
 * and rolling back otherwise (or when it throws). Kysely's SqliteAdapter declares no
 * transactional DDL, so its Migrator would run each statement on its own with a no-op lock;
 * SQLite DDL is transactional, and IMMEDIATE takes the write lock before reading what is
 * applied, so a concurrent starter waits (busy_timeout) and then finds nothing to do.
 */
function inSqliteWriteTransaction<T>(db: Kysely<DatabaseSchema>, work: (conn: Kysely<DatabaseSchema>) => Promise<T>, succeeded: (result: T) => boolean): Promise<T> {
  const turn = sqliteMigrations.then(() =>
    db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      let result: T;
      try {
        result = await work(conn);
        if (succeeded(result)) {
          await sql`commit`.execute(conn);
          return result;
        }
      } catch (error) {
        await rollback(conn);
        throw error;
      }
      await rollback(conn);
      return result;
    }),
  );
  sqliteMigrations = turn.catch(() => undefined);
  return turn;
}

async function rollback(conn: Kysely<DatabaseSchema>): Promise<void> {
  try {
    await sql`rollback`.execute(conn);
  } catch {
    // SQLite has already rolled back (e.g. after a failed COMMIT or an I/O error): the
    // transaction is gone either way, and the original failure is what gets reported.
  }
}

async function attempt(storage: Storage, migrations: readonly WardenMigration[]): Promise<Attempt> {
  try {
    const target = await targetOf(storage);
    if (target.dialect === 'sqlite') {
      return await inSqliteWriteTransaction(storage.db, (conn) => migrateOn(conn, target, migrations), (outcome) => outcome.error === undefined);
    }
    // PostgreSQL: Kysely's PostgresAdapter runs all pending migrations in one transaction,
    // under a session advisory lock.
    return await migrateOn(storage.db, target, migrations);
  } catch (error) {
    // BEGIN IMMEDIATE still busy after busy_timeout, the bookkeeping read failing: retried.
    return { error, unknown: [] };
  }
}

/**
 * Applies every pending migration of `migrations`, all in one transaction on both dialects (a
 * failure leaves the database as it was); concurrent starters wait for each other. A database
 * a newer build has migrated further is left as it is (`unknown` names what it has beyond).
 */
export async function migrateDatabase(storage: Storage, migrations: readonly WardenMigration[] = MIGRATIONS): Promise<MigrationOutcome> {
  // On SQLite a starter that waited longer than busy_timeout for another's BEGIN IMMEDIATE
  // gets SQLITE_BUSY; a retry finds the other's work done. On PostgreSQL, Kysely's
  // introspection (getTables) scans every schema of the database and fails with "schema …
  // does not exist" when another schema is dropped meanwhile (e.g. test schemas of parallel
  // runs); it runs before any migration, so a retry is safe there too.
  const attempts = storage.dialect === 'sqlite' ? 5 : 3;
  let outcome = await attempt(storage, migrations);
  // The migration that failed, from whichever attempt got that far: a later attempt may fail
  // earlier, in the introspection race, and name none.
  let failed = failedMigration(outcome.results);
  for (let n = 1; n < attempts && outcome.error !== undefined && outcome.final !== true; n++) {
    await new Promise((resolve) => setTimeout(resolve, 20 * n));
    outcome = await attempt(storage, migrations);
    failed = failedMigration(outcome.results) ?? failed;
  }
  const { error, results, unknown } = outcome;
  if (error !== undefined) {
    // The reason (the database's own message) goes to operators; the URL is not known here.
    const message = outcome.final === true ? 'The database migrations do not match this build' : `Migration ${failed ?? 'unknown'} failed`;
    throw new StorageUnavailableError(message, error);
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName), unknown };
}

/**
 * The statement timeout to open a database with for migrating it: none on PostgreSQL, where
 * one statement (an index on a large table) may take longer than a request may, and a second
 * starter waits for the first's migration lock inside one statement; the configured one on
 * SQLite, where it is the wait for the write lock, retried (see migrateDatabase).
 */
export function migrationStatementTimeoutMs(url: string, configuredMs: number): number {
  return url.startsWith('postgres') ? 0 : configuredMs;
}

/** Applies every pending migration (see migrateDatabase). Returns the names applied. */
export async function migrateToLatest(storage: Storage, migrations: readonly WardenMigration[] = MIGRATIONS): Promise<string[]> {
  return [...(await migrateDatabase(storage, migrations)).applied];
}

/**
 * Lists every known migration and when it was applied (undefined = pending), then the ones
 * the database has and this build does not know (`known: false`).
 */
export async function migrationStatus(
  storage: Storage,
  migrations: readonly WardenMigration[] = MIGRATIONS,
): Promise<MigrationStatus[]> {
  const target = await targetOf(storage);
  const executed = await executedMigrations(storage.db, target);
  const known = migrations.map((m) => m.name).sort();
  const knownSet = new Set(known);
  return [
    ...known.map((name) => ({ name, executedAt: executed.get(name), known: true })),
    ...[...executed]
      .filter(([name]) => !knownSet.has(name))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, executedAt]) => ({ name, executedAt, known: false })),
  ];
}

/**
 * For commands that do not migrate: resolves when every migration of this build is applied
 * (naming any a newer build added), and throws SchemaNotMigratedError naming the pending ones
 * otherwise.
 */
export async function requireMigrated(storage: Storage, migrations: readonly WardenMigration[] = MIGRATIONS): Promise<MigrationOutcome> {
  const status = await migrationStatus(storage, migrations);
  const pending = status.filter((m) => m.known && m.executedAt === undefined).map((m) => m.name);
  if (pending.length > 0) throw new SchemaNotMigratedError(pending);
  return { applied: [], unknown: status.filter((m) => !m.known).map((m) => m.name) };
}

/** The warning an instance or command gives when it runs on a database a newer build migrated. */
export function unknownMigrationsWarning(unknown: readonly string[]): string {
  return `the database has migrations this build does not know (${unknown.join(', ')}): a newer Warden applied them; running on it without migrating`;
}

function failedMigration(results: readonly { status: string; migrationName: string }[] | undefined): string | undefined {
  return results?.find((r) => r.status === 'Error')?.migrationName;
}
