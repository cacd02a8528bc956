import { createRequire } from 'node:module';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/*
 * A fallback SQLite driver on Node's built-in `node:sqlite` (`DatabaseSync`, Node 22.5+ / 24),
 * shaped like the part of better-sqlite3 that Kysely's SqliteDialect uses. openDatabase only
 * picks it when better-sqlite3 cannot load (native module built for another Node ABI, or not
 * built at all). It keeps better-sqlite3's observable behaviour where Warden could notice:
 * plain-object rows, Buffer blobs, `undefined` bound as NULL, errors named `SqliteError` with
 * `code` = `SQLITE_*`. Known differences: an integer column beyond ±2^53 throws a RangeError
 * (better-sqlite3 silently loses precision), and missing parameters bind NULL instead of
 * throwing.
 */

// @types/node 20 has no `node:sqlite` declarations: the minimal surface used here.
interface NodeSqliteColumnInfo {
  readonly name: string;
}
type NodeSqliteRow = Record<string, unknown>;
interface NodeSqliteRunResult {
  readonly changes: number | bigint;
  readonly lastInsertRowid: number | bigint;
}
interface NodeSqliteStatementSync {
  all(...parameters: unknown[]): NodeSqliteRow[];
  run(...parameters: unknown[]): NodeSqliteRunResult;
  /** Node 22.13+ / 23.4+. */
  iterate?(...parameters: unknown[]): IterableIterator<NodeSqliteRow>;
  /** Node 22.16+ / 23.11+. */
  columns?(): NodeSqliteColumnInfo[];
}
interface NodeSqliteDatabaseSync {
  exec(sql: string): void;
  prepare(sql: string): NodeSqliteStatementSync;
  close(): void;
}
interface NodeSqliteModule {
  readonly DatabaseSync: new (path: string) => NodeSqliteDatabaseSync;
}

let cachedModule: NodeSqliteModule | null | undefined;

/** `node:sqlite`, or undefined on a Node without it (20, or 22 before 22.13 without the flag). */
function loadNodeSqlite(): NodeSqliteModule | undefined {
  if (cachedModule === undefined) {
    try {
      cachedModule = createRequire(import.meta.url)('node:sqlite') as NodeSqliteModule;
    } catch {
      cachedModule = null;
    }
  }
  return cachedModule ?? undefined;
}

/** Whether this Node has a usable `node:sqlite`. */
export function isNodeSqliteAvailable(): boolean {
  return loadNodeSqlite() !== undefined;
}

/** A SQLite error shaped like better-sqlite3's `SqliteError` (`code` like `SQLITE_CONSTRAINT_UNIQUE`). */
export class NodeSqliteError extends Error {
  readonly code: string;
  /** SQLite's extended result code. */
  readonly errcode: number;

  constructor(message: string, code: string, errcode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SqliteError';
    this.code = code;
    this.errcode = errcode;
  }
}

/** The Kysely-facing database: `prepare` and `close`, plus `exec` for pragmas. */
export class NodeSqliteDatabase implements SqliteDatabase {
  readonly #db: NodeSqliteDatabaseSync;

  /** Opens `file` (or `:memory:`); throws when `node:sqlite` is unavailable or the file cannot open. */
  constructor(file: string) {
    const sqlite = loadNodeSqlite();
    if (sqlite === undefined) throw new Error('node:sqlite is not available on this Node.js version');
    this.#db = translateErrors(() => new sqlite.DatabaseSync(file));
  }

  /** Runs one or more statements that return nothing (e.g. `PRAGMA foreign_keys = ON`). */
  exec(sql: string): void {
    translateErrors(() => this.#db.exec(sql));
  }

  prepare(sql: string): SqliteStatement {
    return new NodeSqliteStatement(
      translateErrors(() => this.#db.prepare(sql)),
      sql,
    );
  }

  close(): void {
    translateErrors(() => this.#db.close());
  }
}

class NodeSqliteStatement implements SqliteStatement {
  readonly reader: boolean;
  readonly #statement: NodeSqliteStatementSync;

  constructor(statement: NodeSqliteStatementSync, sql: string) {
    this.#statement = statement;
    this.reader =
      typeof statement.columns === 'function' ? statement.columns().length > 0 : mayReturnRows(sql);
  }

  all(parameters: ReadonlyArray<unknown>): unknown[] {
    return translateErrors(() => this.#statement.all(...bindable(parameters)).map(toPlainRow));
  }

  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    return translateErrors(() => {
      const { changes, lastInsertRowid } = this.#statement.run(...bindable(parameters));
      return { changes, lastInsertRowid };
    });
  }

  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    const statement = this.#statement;
    const values = bindable(parameters);
    const rows: Iterator<NodeSqliteRow> = translateErrors(() =>
      typeof statement.iterate === 'function'
        ? statement.iterate(...values)
        : statement.all(...values)[Symbol.iterator](),
    );
    return (function* () {
      for (;;) {
        const next = translateErrors(() => rows.next());
        if (next.done === true) return;
        yield toPlainRow(next.value);
      }
    })();
  }
}

/**
 * Whether a statement may return rows, for Node versions without `StatementSync.columns()`.
 * Errs towards true: `all()` on a row-less statement still executes it (only the affected-row
 * count is lost), while `run()` on a row-returning one would drop its rows.
 */
export function mayReturnRows(sql: string): boolean {
  const text = sql.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ').trim();
  if (/^(select|values|pragma|with|explain)\b/i.test(text)) return true;
  return /\breturning\b/i.test(text);
}

/** better-sqlite3 binds `undefined` as NULL; node:sqlite refuses it. */
function bindable(parameters: ReadonlyArray<unknown>): unknown[] {
  return parameters.map((value) => (value === undefined ? null : value));
}

/** Plain-prototype rows with Buffer blobs, as better-sqlite3 returns them. */
function toPlainRow(row: NodeSqliteRow): NodeSqliteRow {
  const out: NodeSqliteRow = {};
  for (const key of Object.keys(row)) {
    let value = row[key];
    if (value instanceof Uint8Array && !Buffer.isBuffer(value)) {
      value = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
    if (key === '__proto__')
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
  }
  return out;
}

function translateErrors<T>(action: () => T): T {
  try {
    return action();
  } catch (error) {
    throw toSqliteError(error);
  }
}

function toSqliteError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const { code, errcode } = error as Error & { code?: unknown; errcode?: unknown };
  if (code !== 'ERR_SQLITE_ERROR' || typeof errcode !== 'number') return error;
  return new NodeSqliteError(error.message, sqliteCodeName(errcode), errcode, { cause: error });
}

const PRIMARY_CODES: Readonly<Record<number, string>> = {
  1: 'ERROR',
  2: 'INTERNAL',
  3: 'PERM',
  4: 'ABORT',
  5: 'BUSY',
  6: 'LOCKED',
  7: 'NOMEM',
  8: 'READONLY',
  9: 'INTERRUPT',
  10: 'IOERR',
  11: 'CORRUPT',
  12: 'NOTFOUND',
  13: 'FULL',
  14: 'CANTOPEN',
  15: 'PROTOCOL',
  16: 'EMPTY',
  17: 'SCHEMA',
  18: 'TOOBIG',
  19: 'CONSTRAINT',
  20: 'MISMATCH',
  21: 'MISUSE',
  22: 'NOLFS',
  23: 'AUTH',
  24: 'FORMAT',
  25: 'RANGE',
  26: 'NOTADB',
  27: 'NOTICE',
  28: 'WARNING',
};

const EXTENDED_CODES: Readonly<Record<number, string>> = {
  261: 'BUSY_RECOVERY',
  517: 'BUSY_SNAPSHOT',
  773: 'BUSY_TIMEOUT',
  262: 'LOCKED_SHAREDCACHE',
  518: 'LOCKED_VTAB',
  264: 'READONLY_RECOVERY',
  520: 'READONLY_CANTLOCK',
  776: 'READONLY_ROLLBACK',
  1032: 'READONLY_DBMOVED',
  1288: 'READONLY_CANTINIT',
  1544: 'READONLY_DIRECTORY',
  267: 'CORRUPT_VTAB',
  523: 'CORRUPT_SEQUENCE',
  779: 'CORRUPT_INDEX',
  270: 'CANTOPEN_NOTEMPDIR',
  526: 'CANTOPEN_ISDIR',
  782: 'CANTOPEN_FULLPATH',
  1038: 'CANTOPEN_CONVPATH',
  275: 'CONSTRAINT_CHECK',
  531: 'CONSTRAINT_COMMITHOOK',
  787: 'CONSTRAINT_FOREIGNKEY',
  1043: 'CONSTRAINT_FUNCTION',
  1299: 'CONSTRAINT_NOTNULL',
  1555: 'CONSTRAINT_PRIMARYKEY',
  1811: 'CONSTRAINT_TRIGGER',
  2067: 'CONSTRAINT_UNIQUE',
  2323: 'CONSTRAINT_VTAB',
  2579: 'CONSTRAINT_ROWID',
  2835: 'CONSTRAINT_PINNED',
  3091: 'CONSTRAINT_DATATYPE',
  516: 'ABORT_ROLLBACK',
  266: 'IOERR_READ',
  522: 'IOERR_SHORT_READ',
  778: 'IOERR_WRITE',
  1034: 'IOERR_FSYNC',
  1290: 'IOERR_DIR_FSYNC',
  1546: 'IOERR_TRUNCATE',
  1802: 'IOERR_FSTAT',
  2058: 'IOERR_UNLOCK',
  2314: 'IOERR_RDLOCK',
  2570: 'IOERR_DELETE',
  3082: 'IOERR_NOMEM',
  3338: 'IOERR_ACCESS',
  3594: 'IOERR_CHECKRESERVEDLOCK',
  3850: 'IOERR_LOCK',
  4106: 'IOERR_CLOSE',
  4618: 'IOERR_SHMOPEN',
  4874: 'IOERR_SHMSIZE',
  5386: 'IOERR_SHMMAP',
  5642: 'IOERR_SEEK',
  5898: 'IOERR_DELETE_NOENT',
  6410: 'IOERR_GETTEMPPATH',
  6666: 'IOERR_CONVPATH',
};

/** better-sqlite3's naming: `SQLITE_` + the extended code's name, else the primary code's. */
export function sqliteCodeName(errcode: number): string {
  const name = EXTENDED_CODES[errcode] ?? PRIMARY_CODES[errcode & 0xff];
  return name === undefined ? `SQLITE_UNKNOWN_${errcode}` : `SQLITE_${name}`;
}
