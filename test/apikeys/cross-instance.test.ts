import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import { openDatabase } from '../../src/storage/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, describeEachDatabase, type TestDatabase } from '../helpers/databases.js';
import { createTestRedis, describeWithRedis, type TestRedis } from '../helpers/redis.js';
import { insertUser } from './fixtures.js';

describeWithRedis('API key revocation across instances', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let a: TestApp;
  let b: TestApp;

  beforeEach(async () => {
    database = await createTestDatabase('postgres');
    redis = await createTestRedis();
    // A cache TTL of a minute: only the pub/sub message can make B see the revocation.
    const env = { WARDEN_DATABASE_URL: database.url, WARDEN_REDIS_URL: redis.url, WARDEN_REDIS_KEY_PREFIX: redis.prefix, WARDEN_API_KEY_CACHE_TTL_MS: '60000' };
    a = await createTestApp({ dialect: 'postgres', env });
    b = await createTestApp({ dialect: 'postgres', env });
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    await redis.cleanup();
    await database.cleanup();
  });

  it('a key revoked on instance A is refused by instance B, whose cache held it', async () => {
    const ownerId = await insertUser(a.context.storage.db, { admin: true });
    const issued = await (a.context.apiKeys as ApiKeys).service.create({ name: 'x', ownerId, permissions: ['keys:read'] }, { actor: 'system' });
    const call = (app: TestApp): Promise<number> =>
      app.app.inject({ method: 'GET', url: '/v1/keys', headers: { 'x-api-key': issued.key } }).then((r) => r.statusCode);
    expect(await call(b)).toBe(200);
    expect(await call(b)).toBe(200);
    await (a.context.apiKeys as ApiKeys).service.revoke(issued.record.id, { actor: 'system' });
    expect(await call(a)).toBe(401);
    await vi.waitFor(async () => expect(await call(b)).toBe(401), { timeout: 5000, interval: 20 });
  });
});

describeEachDatabase('API key usage on shutdown', (dialect) => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase(dialect);
  });
  afterEach(async () => database.cleanup());

  it('flushes buffered usage when the app closes, losing nothing', async () => {
    const t = await createTestApp({ dialect, env: { WARDEN_DATABASE_URL: database.url } });
    const ownerId = await insertUser(t.context.storage.db, { admin: true });
    const issued = await (t.context.apiKeys as ApiKeys).service.create({ name: 'x', ownerId, permissions: ['keys:read'] }, { actor: 'system' });
    for (let i = 0; i < 7; i += 1) {
      expect((await t.app.inject({ method: 'GET', url: '/v1/keys', headers: { 'x-api-key': issued.key }, remoteAddress: '192.0.2.4' })).statusCode).toBe(200);
    }
    const before = await t.context.storage.db.selectFrom('api_keys').select('usage_count').where('id', '=', issued.record.id).executeTakeFirstOrThrow();
    expect(Number(before.usage_count)).toBe(0);
    await t.close();
    const storage = openDatabase(database.url, { poolSize: 1, statementTimeoutMs: 10_000 });
    try {
      const row = await storage.db.selectFrom('api_keys').selectAll().where('id', '=', issued.record.id).executeTakeFirstOrThrow();
      expect(Number(row.usage_count)).toBe(7);
      expect(row.last_used_ip).toBe('192.0.2.4');
    } finally {
      await storage.close();
    }
  });
});
