import { statSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MIGRATIONS,
  inTransaction,
  migrateToLatest,
  migrationStatus,
  openDatabase,
  type Storage,
  type WardenMigration,
} from '../../src/storage/index.js';
import { createTestDatabase, describeEachDatabase, type TestDatabase } from '../helpers/databases.js';

describeEachDatabase('storage', (dialect) => {
  let database: TestDatabase;
  let storage: Storage;

  afterEach(async () => {
    await storage.close();
    await database.cleanup();
  });

  async function open(): Promise<Storage> {
    database = await createTestDatabase(dialect);
    storage = openDatabase(database.url, { poolSize: 3 });
    return storage;
  }

  it('applies every migration once, and reports status', async () => {
    await open();
    const before = await migrationStatus(storage);
    expect(before.every((m) => m.executedAt === undefined)).toBe(true);
    expect(await migrateToLatest(storage)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await migrateToLatest(storage)).toEqual([]);
    const after = await migrationStatus(storage);
    expect(after.map((m) => m.name)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(after.every((m) => m.executedAt instanceof Date)).toBe(true);
  });

  it('lets concurrent starters migrate without applying anything twice', async () => {
    await open();
    const second = openDatabase(database.url, { poolSize: 3 });
    try {
      await Promise.all([migrateToLatest(storage), migrateToLatest(second)]);
      const status = await migrationStatus(storage);
      expect(status.every((m) => m.executedAt instanceof Date)).toBe(true);
    } finally {
      await second.close();
    }
  });

  it('names the migration that failed and leaves the earlier ones applied', async () => {
    await open();
    await migrateToLatest(storage);
    const broken: WardenMigration = {
      name: '9999_broken',
      async up(db) {
        await sql`this is not sql`.execute(db);
      },
    };
    await expect(migrateToLatest(storage, [...MIGRATIONS, broken])).rejects.toThrow('Migration 9999_broken failed');
    const status = await migrationStatus(storage, [...MIGRATIONS, broken]);
    expect(status.find((m) => m.name === '9999_broken')?.executedAt).toBeUndefined();
    expect(status.find((m) => m.name === '0001_core')?.executedAt).toBeInstanceOf(Date);
  });

  it('returns bigint epoch-ms columns as numbers on both dialects', async () => {
    await open();
    await migrateToLatest(storage);
    const now = 1_790_000_000_123;
    await storage.db.insertInto('system_state').values({ key: 'k', value: 'v', updated_at: now }).execute();
    const row = await storage.db.selectFrom('system_state').selectAll().where('key', '=', 'k').executeTakeFirstOrThrow();
    expect(row.updated_at).toBe(now);
    expect(typeof row.updated_at).toBe('number');
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    await open();
    await migrateToLatest(storage);
    await inTransaction(storage.db, async (trx) => {
      await trx.insertInto('system_state').values({ key: 'kept', value: '1', updated_at: 1 }).execute();
    });
    await expect(
      inTransaction(storage.db, async (trx) => {
        await trx.insertInto('system_state').values({ key: 'dropped', value: '1', updated_at: 1 }).execute();
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const keys = (await storage.db.selectFrom('system_state').select('key').execute()).map((r) => r.key);
    expect(keys).toContain('kept');
    expect(keys).not.toContain('dropped');
  });

  it('stores SQL-looking values as plain data', async () => {
    await open();
    await migrateToLatest(storage);
    const hostile = "x'); DROP TABLE system_state; --";
    await storage.db.insertInto('system_state').values({ key: hostile, value: hostile, updated_at: 1 }).execute();
    const row = await storage.db.selectFrom('system_state').selectAll().where('key', '=', hostile).executeTakeFirstOrThrow();
    expect(row.value).toBe(hostile);
  });

  it('answers ping while reachable', async () => {
    await open();
    await expect(storage.ping()).resolves.toBeUndefined();
  });
});

describe('sqlite specifics', () => {
  it('creates a missing data directory 0700 and the database file 0600, with WAL and foreign keys on', async () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'warden-sqlite-')), 'nested', 'data');
    const file = path.join(dir, 'warden.db');
    const storage = openDatabase(`sqlite:${file}`);
    try {
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const journal = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(storage.db);
      expect(journal.rows[0]?.journal_mode).toBe('wal');
      const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(storage.db);
      expect(fk.rows[0]?.foreign_keys).toBe(1);
      const busy = await sql<{ timeout: number }>`pragma busy_timeout`.execute(storage.db);
      expect(busy.rows[0]?.timeout).toBeGreaterThan(0);
    } finally {
      await storage.close();
    }
  });
});

describe('postgres specifics', () => {
  it('fails ping with storage_unavailable when the server is unreachable', async () => {
    const storage = openDatabase('postgres://postgres@127.0.0.1:1/none', { statementTimeoutMs: 1000 });
    try {
      await expect(storage.ping()).rejects.toMatchObject({ code: 'storage_unavailable' });
    } finally {
      await storage.close();
    }
  });
});
