import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Kysely, SqliteDialect, sql, type Generated } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import {
  NodeSqliteDatabase,
  NodeSqliteError,
  isNodeSqliteAvailable,
  mayReturnRows,
  sqliteCodeName,
} from '../../src/storage/node-sqlite-adapter.js';
import { migrateToLatest, openDatabase } from '../../src/storage/index.js';

const available = isNodeSqliteAvailable();
if (!available) {
  console.warn(
    `SKIPPED: node:sqlite adapter tests need node:sqlite (Node 22.13+/24); this is Node ${process.versions.node}. ` +
      'Run `npm run test:node24` to cover them.',
  );
}

/** Whether better-sqlite3's native module loads on this Node (it is built for one ABI only). */
function betterSqliteLoads(): boolean {
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => {
      close(): void;
    };
    new Database(':memory:').close();
    return true;
  } catch {
    return false;
  }
}

describe('node:sqlite adapter helpers', () => {
  it('guesses which statements may return rows, erring towards yes', () => {
    expect(mayReturnRows('select 1')).toBe(true);
    expect(mayReturnRows('  /* c */ -- x\n SELECT * from t')).toBe(true);
    expect(mayReturnRows('with x as (select 1) select * from x')).toBe(true);
    expect(mayReturnRows('pragma journal_mode')).toBe(true);
    expect(mayReturnRows('insert into "t" ("a") values (?) returning "id"')).toBe(true);
    expect(mayReturnRows('insert into "t" ("a") values (?)')).toBe(false);
    expect(mayReturnRows('update "t" set "a" = ?')).toBe(false);
    expect(mayReturnRows('create table "t" ("a" text)')).toBe(false);
    expect(mayReturnRows('begin')).toBe(false);
  });

  it('names SQLite result codes the way better-sqlite3 does', () => {
    expect(sqliteCodeName(2067)).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(sqliteCodeName(1555)).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
    expect(sqliteCodeName(787)).toBe('SQLITE_CONSTRAINT_FOREIGNKEY');
    expect(sqliteCodeName(5)).toBe('SQLITE_BUSY');
    expect(sqliteCodeName(1)).toBe('SQLITE_ERROR');
    // An extended code not in the table falls back to its primary code.
    expect(sqliteCodeName(19 | (99 << 8))).toBe('SQLITE_CONSTRAINT');
  });
});

describe.skipIf(!available)('node:sqlite adapter', () => {
  const open: { close(): void }[] = [];

  afterEach(() => {
    for (const db of open.splice(0)) db.close();
  });

  function memory(): NodeSqliteDatabase {
    const db = new NodeSqliteDatabase(':memory:');
    open.push(db);
    db.exec('create table t (id integer primary key, name text not null unique, data blob, n integer)');
    return db;
  }

  it('marks row-returning statements as readers, including RETURNING', () => {
    const db = memory();
    expect(db.prepare('select * from t').reader).toBe(true);
    expect(db.prepare('pragma journal_mode').reader).toBe(true);
    expect(db.prepare('insert into t (name) values (?) returning id').reader).toBe(true);
    expect(db.prepare('insert into t (name) values (?)').reader).toBe(false);
    expect(db.prepare('delete from t').reader).toBe(false);
    expect(db.prepare('create table u (a text)').reader).toBe(false);
  });

  it('runs, reads and iterates with better-sqlite3-shaped results', () => {
    const db = memory();
    expect(db.prepare('insert into t (name, n) values (?, ?)').run(['a', 1])).toEqual({
      changes: 1,
      lastInsertRowid: 1,
    });
    expect(db.prepare('insert into t (name, n) values (?, ?)').run(['b', 2])).toEqual({
      changes: 1,
      lastInsertRowid: 2,
    });
    expect(db.prepare('update t set n = n + 1').run([]).changes).toBe(2);
    expect(db.prepare('insert into t (name) values (?) returning id, name').all(['c'])).toEqual([
      { id: 3, name: 'c' },
    ]);
    const rows = db.prepare('select id, name from t where id < ? order by id').all([3]);
    expect(rows).toStrictEqual([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ]);
    expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
    expect([...db.prepare('select name from t order by id').iterate([])]).toStrictEqual([
      { name: 'a' },
      { name: 'b' },
      { name: 'c' },
    ]);
  });

  it('binds undefined as NULL and returns blobs as Buffers', () => {
    const db = memory();
    db.prepare('insert into t (name, data, n) values (?, ?, ?)').run([
      'x',
      Buffer.from([1, 2, 3]),
      undefined,
    ]);
    const [row] = db.prepare('select data, n from t').all([]) as { data: unknown; n: unknown }[];
    expect(Buffer.isBuffer(row?.data)).toBe(true);
    expect(row?.data).toEqual(Buffer.from([1, 2, 3]));
    expect(row?.n).toBeNull();
  });

  it('throws SqliteError with better-sqlite3 codes', () => {
    const db = memory();
    db.prepare('insert into t (name) values (?)').run(['dup']);
    let caught: unknown;
    try {
      db.prepare('insert into t (name) values (?)').run(['dup']);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(NodeSqliteError);
    expect(caught).toMatchObject({ name: 'SqliteError', code: 'SQLITE_CONSTRAINT_UNIQUE' });
    expect((caught as Error).message).toContain('UNIQUE constraint failed: t.name');
    expect(() => db.prepare('selec 1')).toThrow(expect.objectContaining({ code: 'SQLITE_ERROR' }));
  });

  it('enforces foreign keys once the pragma is set', () => {
    const db = memory();
    db.exec('PRAGMA foreign_keys = ON');
    db.exec('create table child (id integer primary key, t_id integer not null references t (id))');
    expect(() => db.prepare('insert into child (t_id) values (?)').run([42])).toThrow(
      expect.objectContaining({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' }),
    );
  });

  it('works without StatementSync.columns() and iterate(), as on Node 22 before 22.16', () => {
    const { StatementSync } = createRequire(import.meta.url)('node:sqlite') as {
      StatementSync: { prototype: object };
    };
    const saved = ['columns', 'iterate'].map(
      (name) => [name, Object.getOwnPropertyDescriptor(StatementSync.prototype, name)] as const,
    );
    try {
      for (const [name] of saved) Reflect.deleteProperty(StatementSync.prototype, name);
      expect('columns' in StatementSync.prototype || 'iterate' in StatementSync.prototype).toBe(false);
      const db = memory();
      const insert = db.prepare('insert into t (name) values (?)');
      expect(insert.reader).toBe(false);
      expect(insert.run(['a'])).toEqual({ changes: 1, lastInsertRowid: 1 });
      const returning = db.prepare('insert into t (name) values (?) returning id');
      expect(returning.reader).toBe(true);
      expect(returning.all(['b'])).toEqual([{ id: 2 }]);
      expect([...db.prepare('select name from t order by id').iterate([])]).toEqual([
        { name: 'a' },
        { name: 'b' },
      ]);
    } finally {
      for (const [name, descriptor] of saved)
        if (descriptor) Object.defineProperty(StatementSync.prototype, name, descriptor);
    }
  });

  it('serves Kysely: queries, transactions and streaming', async () => {
    const db = new Kysely<{
      t: { id: Generated<number>; name: string; data: Buffer | null; n: number | null };
    }>({
      dialect: new SqliteDialect({ database: memory() }),
    });
    open.pop(); // Kysely closes it on destroy.
    try {
      const inserted = await db
        .insertInto('t')
        .values({ name: 'k', n: 5 })
        .returning('id')
        .executeTakeFirstOrThrow();
      expect(inserted.id).toBe(1);
      const result = await db.insertInto('t').values({ name: 'l' }).executeTakeFirstOrThrow();
      expect(result.insertId).toBe(2n);
      expect((await db.updateTable('t').set({ n: 1 }).executeTakeFirstOrThrow()).numUpdatedRows).toBe(2n);
      await expect(
        db.transaction().execute(async (trx) => {
          await trx.insertInto('t').values({ name: 'rolled back' }).execute();
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      const names: string[] = [];
      for await (const row of db.selectFrom('t').select('name').orderBy('id').stream()) names.push(row.name);
      expect(names).toEqual(['k', 'l']);
      const pragma = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
      expect(pragma.rows).toHaveLength(1);
    } finally {
      await db.destroy();
    }
  });
});

describe('openDatabase SQLite driver choice', () => {
  const dirs: string[] = [];

  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('uses node:sqlite only when better-sqlite3 cannot load, with the same pragmas and modes', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-node-sqlite-'));
    dirs.push(dir);
    const file = path.join(dir, 'data', 'warden.db');
    const storage = openDatabase(`sqlite:${file}`, { statementTimeoutMs: 4321 });
    try {
      expect(storage.sqliteDriver).toBe(betterSqliteLoads() ? 'better-sqlite3' : 'node:sqlite');
      expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const pragmas = await sql<{
        journal_mode: string;
        foreign_keys: number;
        timeout: number;
        synchronous: number;
      }>`
        select
          (select journal_mode from pragma_journal_mode) as journal_mode,
          (select foreign_keys from pragma_foreign_keys) as foreign_keys,
          (select timeout from pragma_busy_timeout) as timeout,
          (select synchronous from pragma_synchronous) as synchronous
      `.execute(storage.db);
      expect(pragmas.rows[0]).toEqual({
        journal_mode: 'wal',
        foreign_keys: 1,
        timeout: 4321,
        synchronous: 2,
      });
      await migrateToLatest(storage);
      await storage.ping();
    } finally {
      await storage.close();
    }
  });
});
