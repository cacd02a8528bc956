import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, inject } from 'vitest';
import { migrateToLatest, openDatabase, type DialectName, type Storage } from '../../src/storage/index.js';
import { TEST_PG_URL } from './services.js';

export const DIALECTS: readonly DialectName[] = ['sqlite', 'postgres'];

/** A fresh, isolated database (own SQLite file, or own PostgreSQL schema) and how to remove it. */
export interface TestDatabase {
  readonly url: string;
  readonly dialect: DialectName;
  /** Drops the schema / deletes the file. */
  cleanup(): Promise<void>;
}

/** Creates an empty database of the given dialect that no other test sees. */
export async function createTestDatabase(dialect: DialectName): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-test-'));
    return {
      url: `sqlite:${path.join(dir, 'warden.db')}`,
      dialect,
      async cleanup() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `warden_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(TEST_PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    dialect,
    async cleanup() {
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

/** Opens a fresh, migrated database; `close()` also removes it. */
export async function createTestStorage(dialect: DialectName): Promise<Storage & { url: string }> {
  const database = await createTestDatabase(dialect);
  const storage = openDatabase(database.url, { poolSize: 5, statementTimeoutMs: 10_000 });
  await migrateToLatest(storage);
  return {
    ...storage,
    url: database.url,
    async close() {
      await storage.close();
      await database.cleanup();
    },
  };
}

/**
 * Declares the same suite once per database. PostgreSQL suites skip loudly when the server
 * is unreachable outside CI (global setup already failed the run in CI).
 */
export function describeEachDatabase(title: string, suite: (dialect: DialectName) => void): void {
  for (const dialect of DIALECTS) {
    const skip = dialect === 'postgres' && !inject('postgresAvailable');
    (skip ? describe.skip : describe)(`${title} [${dialect}]`, () => suite(dialect));
  }
}
