import { chmodSync, closeSync, fchmodSync, fstatSync, lstatSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { DialectName } from './migration.js';
import { NodeSqliteDatabase, isNodeSqliteAvailable } from './node-sqlite-adapter.js';
import { resolvePostgresTls, type PostgresTls } from './postgres-tls.js';
import { tightenToOwnerOnly } from './owner-only-mode.js';
import { createPrivateDirs } from './private-dirs.js';
import type { DatabaseSchema } from './schema.js';
import { StorageUnavailableError } from './storage-unavailable.js';

/** How much later than the server's statement_timeout the client gives up on a query. */
const QUERY_TIMEOUT_MARGIN_MS = 5_000;

/** The largest busy_timeout SQLite takes (a signed 32-bit count of milliseconds). */
const SQLITE_MAX_BUSY_TIMEOUT_MS = 2_147_483_647;

export interface OpenDatabaseOptions {
  /** PostgreSQL pool size. @default 10 */
  readonly poolSize?: number;
  /** PostgreSQL statement_timeout and SQLite busy_timeout, in ms. @default 10000 */
  readonly statementTimeoutMs?: number;
  /** Called when an idle PostgreSQL connection fails (instead of crashing the process). */
  readonly onBackgroundError?: (error: Error) => void;
}

/** An open database: the typed query builder plus what it takes to check and close it. */
export interface Storage {
  readonly db: Kysely<DatabaseSchema>;
  readonly dialect: DialectName;
  /**
   * The SQLite driver in use (undefined on PostgreSQL): better-sqlite3, or the built-in
   * node:sqlite when better-sqlite3 cannot load on this Node (e.g. built for another ABI).
   */
  readonly sqliteDriver?: SqliteDriverName;
  /** Resolves when the database answers; rejects with a StorageUnavailableError (storage_unavailable) saying why otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type SqliteDriverName = 'better-sqlite3' | 'node:sqlite';

const PG_INT8 = 20;
const PG_NUMERIC = 1700;

/** Opens SQLite (`sqlite:<path>`) or PostgreSQL (`postgres://…`) behind one Kysely code path. */
export function openDatabase(url: string, options: OpenDatabaseOptions = {}): Storage {
  const timeoutMs = options.statementTimeoutMs ?? 10_000;
  let db: Kysely<DatabaseSchema>;
  let dialect: DialectName;
  let sqliteDriver: SqliteDriverName | undefined;
  if (url.startsWith('sqlite:')) {
    dialect = 'sqlite';
    const driver = resolveSqliteDriver();
    sqliteDriver = driver.name;
    db = new Kysely<DatabaseSchema>({ dialect: new SqliteDialect({ database: openSqliteFile(url, driver, timeoutMs) }) });
  } else if (/^postgres(ql)?:\/\//.test(url)) {
    dialect = 'postgres';
    let tls: PostgresTls;
    try {
      // sslmode as libpq means it (the docs promise that), not as pg 8 does; PGSSLMODE is read
      // here because pg would otherwise apply its own meaning to it.
      tls = resolvePostgresTls(url, process.env.PGSSLMODE);
    } catch (error) {
      throw new StorageUnavailableError('The database cannot be opened', error, url);
    }
    const pool = new pg.Pool({
      connectionString: tls.connectionString,
      max: options.poolSize ?? 10,
      // statement_timeout bounds a stuck query; the connect timeout bounds an unreachable server.
      statement_timeout: timeoutMs === 0 ? undefined : timeoutMs,
      // The server enforces statement_timeout only while it answers: a server gone silent
      // without closing the socket (a partition, a failover leaving the old address dark) would
      // leave queries waiting for the kernel (~15 min). The client gives up a little later than
      // the server would, and keepalive notices a dead peer on idle connections.
      query_timeout: timeoutMs === 0 ? undefined : timeoutMs + QUERY_TIMEOUT_MARGIN_MS,
      keepAlive: true,
      connectionTimeoutMillis: Math.min(timeoutMs === 0 ? 10_000 : timeoutMs, 10_000),
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
          // Timestamps (epoch ms) and counters are int8: return numbers, exact below 2^53.
          if (oid === PG_INT8 || oid === PG_NUMERIC) return (value: string) => Number(value);
          return pg.types.getTypeParser(oid, format as 'text');
        }) as typeof pg.types.getTypeParser,
      },
    });
    pool.on('error', (error) => options.onBackgroundError?.(error));
    // Every locking pattern here (the audit chain's head row, role writes, refresh rotation)
    // waits on a row and then re-reads what the other writer committed: READ COMMITTED.
    // A server default of REPEATABLE READ or SERIALIZABLE (ALTER DATABASE … SET
    // default_transaction_isolation) would fail the waiter with 40001 instead. pg queues
    // queries per client, so this runs before anything else on the new connection.
    pool.on('connect', (client) => {
      // pg-pool handles 'error' only on idle clients: a connection lost while checked out (inside
      // a transaction, during a statement: a server restart, a failover, pg_terminate_backend)
      // would emit an unhandled 'error' and end the process. The query in flight fails on its
      // own, and pg-pool drops the dead client when it is released.
      client.on('error', (error: Error) => options.onBackgroundError?.(error));
      client.query('SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED').catch((error: Error) => options.onBackgroundError?.(error));
    });
    db = new Kysely<DatabaseSchema>({ dialect: new PostgresDialect({ pool }) });
  } else {
    throw new TypeError('database URL must start with sqlite: or postgres://');
  }

  return {
    db,
    dialect,
    sqliteDriver,
    async ping() {
      try {
        await sql`select 1`.execute(db);
      } catch (error) {
        throw new StorageUnavailableError('The database is unreachable', error, url);
      }
    },
    async close() {
      await db.destroy();
    },
  };
}

/**
 * Opens the SQLite file of `url` with Warden's pragmas. A path that cannot be created or opened,
 * or a file that is not a database, is a StorageUnavailableError naming the reason, as an
 * unreachable PostgreSQL server is, rather than an unexpected error.
 */
function openSqliteFile(url: string, driver: ResolvedSqliteDriver, timeoutMs: number): BetterSqlite3.Database | NodeSqliteDatabase {
  let native: BetterSqlite3.Database | NodeSqliteDatabase | undefined;
  try {
    const file = prepareSqliteFile(url.slice('sqlite:'.length));
    native = driver.name === 'better-sqlite3' ? new driver.Database(file) : new NodeSqliteDatabase(file);
    const opened = native;
    // The same pragmas on both drivers (better-sqlite3's pragma() is `PRAGMA …` underneath).
    const pragma = (text: string): void => {
      if (opened instanceof NodeSqliteDatabase) opened.exec(`PRAGMA ${text}`);
      else opened.pragma(text);
    };
    pragma('journal_mode = WAL');
    pragma('foreign_keys = ON');
    // 0 is "no timeout", as on PostgreSQL: wait for the write lock as long as SQLite allows.
    pragma(`busy_timeout = ${timeoutMs === 0 ? SQLITE_MAX_BUSY_TIMEOUT_MS : Math.max(1, Math.floor(timeoutMs))}`);
    // FULL: a committed security event survives power loss; group commit keeps it cheap.
    pragma('synchronous = FULL');
    return native;
  } catch (error) {
    try {
      native?.close();
    } catch {
      // Closing is only tidying up after the failure reported below.
    }
    throw new StorageUnavailableError('The database cannot be opened', error, url);
  }
}

type ResolvedSqliteDriver =
  | { readonly name: 'better-sqlite3'; readonly Database: typeof BetterSqlite3 }
  | { readonly name: 'node:sqlite' };

let resolvedSqliteDriver: ResolvedSqliteDriver | undefined;

/**
 * better-sqlite3 when its native module loads on this Node; otherwise (built for another
 * Node ABI, or not built) the built-in node:sqlite when present; otherwise better-sqlite3's
 * load error. Probed once on an in-memory database, so errors about the real file still
 * surface from the driver chosen.
 */
function resolveSqliteDriver(): ResolvedSqliteDriver {
  if (resolvedSqliteDriver !== undefined) return resolvedSqliteDriver;
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
    new Database(':memory:').close();
    resolvedSqliteDriver = { name: 'better-sqlite3', Database };
  } catch (error) {
    if (!isNodeSqliteAvailable()) throw error;
    resolvedSqliteDriver = { name: 'node:sqlite' };
  }
  return resolvedSqliteDriver;
}

/**
 * Makes the SQLite file private before SQLite opens it: missing directories are created 0700,
 * the file is created 0600, and an existing file (and its -wal/-shm) open to group or others is
 * tightened to 0600.
 */
function prepareSqliteFile(file: string): string {
  if (file === ':memory:') return file;
  createPrivateDirs(path.dirname(path.resolve(file)));
  const fd = openSync(file, 'a', 0o600);
  try {
    // Through the descriptor, so the mode checked and changed is that of the file opened.
    tightenToOwnerOnly(fstatSync(fd).mode, () => fchmodSync(fd, 0o600));
  } finally {
    closeSync(fd);
  }
  for (const companion of [`${file}-wal`, `${file}-shm`]) {
    let stats;
    try {
      stats = lstatSync(companion);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    // lstat, and only regular files: a symlink planted next to the database is not followed.
    if (stats.isFile()) tightenToOwnerOnly(stats.mode, () => chmodSync(companion, 0o600));
  }
  return file;
}
