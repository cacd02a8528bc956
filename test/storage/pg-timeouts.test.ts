import Fastify from 'fastify';
import { sql } from 'kysely';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { installErrorHandlers } from '../../src/http/error-handler.js';
import { withCheckedDatabase } from '../../src/server/secret-key-check.js';
import {
  isDatabaseOutage,
  migrateDatabase,
  migrationStatementTimeoutMs,
  migrationStatus,
  openDatabase,
  type Storage,
  type WardenMigration,
} from '../../src/storage/index.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const opened: Storage[] = [];
let database: TestDatabase | undefined;
let proxy: TcpProxy | undefined;

afterEach(async () => {
  for (const storage of opened.splice(0)) await storage.close().catch(() => undefined);
  await proxy?.close();
  proxy = undefined;
  await database?.cleanup();
  database = undefined;
});

/** The test database's URL, through a proxy the test can cut or black-hole. */
async function proxiedUrl(): Promise<string> {
  database ??= await createTestDatabase('postgres');
  const url = new URL(database.url);
  proxy = await startTcpProxy(`redis://${url.hostname}:${url.port || 5432}`);
  url.host = new URL(proxy.url).host;
  return url.toString();
}

function open(url: string, options: Parameters<typeof openDatabase>[1]): Storage {
  const storage = openDatabase(url, options);
  opened.push(storage);
  return storage;
}

/** What a request whose database call failed with `error` is answered. */
async function answerFor(error: unknown): Promise<{ status: number; code: unknown }> {
  const app = Fastify({ logger: false });
  installErrorHandlers(app, () => []);
  app.get('/x', async () => {
    throw error;
  });
  const response = await app.inject({ method: 'GET', url: '/x' });
  await app.close();
  return { status: response.statusCode, code: (response.json() as { code?: unknown }).code };
}

const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected the query to fail');
    },
    (error: unknown) => error,
  );

(inject('postgresAvailable') ? describe : describe.skip)(
  'PostgreSQL connections that fail or go silent',
  () => {
    it('a connection lost inside a transaction fails that transaction only, reported, not the process', async () => {
      const reported: Error[] = [];
      const storage = open(await proxiedUrl(), {
        poolSize: 2,
        statementTimeoutMs: 5_000,
        onBackgroundError: (error) => reported.push(error),
      });
      await storage.ping();
      const transaction = storage.db.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx);
        await proxy?.cut();
        await new Promise((resolve) => setTimeout(resolve, 100));
        await sql`select 1`.execute(trx);
      });
      await expect(transaction).rejects.toThrow();
      expect(reported.length).toBeGreaterThan(0);
    });

    it('a query on a server that stopped answering fails after the statement timeout and a margin, not when the kernel gives up', async () => {
      const storage = open(await proxiedUrl(), { poolSize: 1, statementTimeoutMs: 500 });
      await storage.ping();
      proxy?.blackhole();
      await expect(sql`select 1`.execute(storage.db)).rejects.toThrow(/timeout/i);
    }, 20_000);

    it('migrations run without a statement timeout: a long statement completes, and a second starter waits for the first', async () => {
      database = await createTestDatabase('postgres');
      const url = database.url;
      expect(migrationStatementTimeoutMs(url, 300)).toBe(0);
      expect(migrationStatementTimeoutMs('sqlite:/tmp/x.db', 300)).toBe(300);
      const first = open(url, { poolSize: 2, statementTimeoutMs: migrationStatementTimeoutMs(url, 300) });
      const second = open(url, { poolSize: 2, statementTimeoutMs: migrationStatementTimeoutMs(url, 300) });
      const slow: WardenMigration = {
        name: '0001_slow_index',
        async up(db) {
          await db.schema.createTable('big').addColumn('id', 'integer').execute();
          // Stands for a CREATE INDEX on a large table: longer than the configured 300 ms.
          await sql`select pg_sleep(0.7)`.execute(db);
        },
      };
      const starting = migrateDatabase(first, [slow]);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const [a, b] = await Promise.allSettled([starting, migrateDatabase(second, [slow])]);
      // Whichever takes the lock first (usually the earlier start; on a loaded machine its
      // connection may come later) applies it; the other waits and finds nothing left to do.
      expect([a.status, b.status]).toEqual(['fulfilled', 'fulfilled']);
      const applied = [a, b].map((result) => (result.status === 'fulfilled' ? result.value.applied : undefined));
      expect(applied.sort((x, y) => (x?.length ?? 0) - (y?.length ?? 0))).toEqual([[], ['0001_slow_index']]);
      expect((await migrationStatus(second, [slow])).map((m) => m.executedAt !== undefined)).toEqual([true]);
    });

    it('the start-up check migrates on a connection without a statement timeout, and checks only with one', async () => {
      database = await createTestDatabase('postgres');
      const { settings } = loadSettings({
        env: {
          WARDEN_DATABASE_URL: database.url,
          WARDEN_SECRET_KEY: TEST_SECRET_KEY,
          WARDEN_DB_STATEMENT_TIMEOUT_MS: '3000',
        },
        envFile: false,
        generateDevSecrets: false,
      });
      const timeoutIn = async (storage: Storage) =>
        (await sql<{ statement_timeout: string }>`show statement_timeout`.execute(storage.db)).rows[0]
          ?.statement_timeout;
      expect(await withCheckedDatabase(settings, TEST_SECRET_KEY, timeoutIn, { migrate: true })).toBe('0');
      expect(await withCheckedDatabase(settings, TEST_SECRET_KEY, timeoutIn)).toBe('3s');
    });
  },
);

describe('SQLite with WARDEN_DB_STATEMENT_TIMEOUT_MS=0', () => {
  it('waits for the write lock as long as SQLite allows ("0 = none"), not 1 ms', async () => {
    const db = await createTestDatabase('sqlite');
    try {
      const storage = open(db.url, { statementTimeoutMs: 0 });
      const rows = await sql<{ timeout: number }>`pragma busy_timeout`.execute(storage.db);
      expect(Object.values(rows.rows[0] ?? {})[0]).toBe(2_147_483_647);
    } finally {
      await db.cleanup();
    }
  });
});

// A PostgreSQL server gone silent (a partition, a failover leaving the old address dark) or too
// busy to answer within statement_timeout is an outage: 503 storage_unavailable with Retry-After
// (docs/architecture.md), as SQLite's busy_timeout is, never a 500 that clients and alerting
// take for a bug; and a batch job stops on it rather than blaming the item.
(inject('postgresAvailable') ? describe : describe.skip)(
  'a PostgreSQL server that went silent is an outage (503), not a bug (500)',
  () => {
    it('the query on the silent connection ("Query read timeout") and the one waiting for a pool connection ("timeout exceeded when trying to connect") are both database outages', async () => {
      const storage = open(await proxiedUrl(), { poolSize: 1, statementTimeoutMs: 300 });
      await storage.ping();
      proxy?.blackhole();
      const stuck = failure(sql`select 1`.execute(storage.db));
      const waiting = failure(sql`select 1`.execute(storage.db));
      const [readTimeout, poolTimeout] = await Promise.all([stuck, waiting]);
      expect(String(readTimeout)).toMatch(/timeout/i);
      expect(String(poolTimeout)).toMatch(/timeout/i);
      expect(isDatabaseOutage(readTimeout), String(readTimeout)).toBe(true);
      expect(isDatabaseOutage(poolTimeout), String(poolTimeout)).toBe(true);
      expect(await answerFor(readTimeout)).toEqual({ status: 503, code: 'storage_unavailable' });
      expect(await answerFor(poolTimeout)).toEqual({ status: 503, code: 'storage_unavailable' });
    }, 20_000);

    it("a statement cut off by statement_timeout (SQLSTATE 57014) is answered like SQLite's busy_timeout (SQLITE_BUSY): 503", async () => {
      const storage = open(await proxiedUrl(), { poolSize: 1, statementTimeoutMs: 200 });
      const cancelled = await failure(sql`select pg_sleep(2)`.execute(storage.db));
      expect((cancelled as { code?: string }).code).toBe('57014');
      expect(isDatabaseOutage(cancelled)).toBe(true);
      expect(await answerFor(cancelled)).toEqual({ status: 503, code: 'storage_unavailable' });
    }, 20_000);
  },
);
