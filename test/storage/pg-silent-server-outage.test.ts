import Fastify from 'fastify';
import { sql } from 'kysely';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { installErrorHandlers } from '../../src/http/error-handler.js';
import { isDatabaseOutage, openDatabase, type Storage } from '../../src/storage/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

let database: TestDatabase | undefined;
let proxy: TcpProxy | undefined;
const opened: Storage[] = [];

afterEach(async () => {
  for (const storage of opened.splice(0)) await storage.close().catch(() => undefined);
  await proxy?.close();
  proxy = undefined;
  await database?.cleanup();
  database = undefined;
});

async function proxiedStorage(options: Parameters<typeof openDatabase>[1]): Promise<Storage> {
  database = await createTestDatabase('postgres');
  const url = new URL(database.url);
  proxy = await startTcpProxy(`redis://${url.hostname}:${url.port || 5432}`);
  url.host = new URL(proxy.url).host;
  const storage = openDatabase(url.toString(), options);
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

// A PostgreSQL server gone silent (a partition, a failover leaving the old address dark) or too
// busy to answer within statement_timeout is an outage: 503 storage_unavailable with Retry-After
// (docs/architecture.md), as SQLite's busy_timeout is, never a 500 that clients and alerting
// take for a bug; and a batch job stops on it rather than blaming the item.
(inject('postgresAvailable') ? describe : describe.skip)(
  'a PostgreSQL server that went silent is an outage (503), not a bug (500)',
  () => {
    it('the query on the silent connection ("Query read timeout") and the one waiting for a pool connection ("timeout exceeded when trying to connect") are both database outages', async () => {
      const storage = await proxiedStorage({ poolSize: 1, statementTimeoutMs: 300 });
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
      const storage = await proxiedStorage({ poolSize: 1, statementTimeoutMs: 200 });
      const cancelled = await failure(sql`select pg_sleep(2)`.execute(storage.db));
      expect((cancelled as { code?: string }).code).toBe('57014');
      expect(isDatabaseOutage(cancelled)).toBe(true);
      expect(await answerFor(cancelled)).toEqual({ status: 503, code: 'storage_unavailable' });
    }, 20_000);
  },
);
