import { afterEach, beforeEach, expect, it } from 'vitest';
import { DatabaseBackedRevocationList, RedisRevocationList, type RevocationList } from '../../src/identity/revocation-list.js';
import { RevocationRows } from '../../src/identity/revocation-rows.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { createTestRedis, describeWithRedis, TEST_REDIS_URL, type TestRedis } from '../helpers/redis.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { bearer, login, seedUser } from './identity-helpers.js';

const NOW = 1_800_000_000_000;
const LIFETIME = 930_000;
const query = (issuedAtMs: number) => ({ jti: 'j1', userId: 'u1', issuedAtMs });

/** "Issued up to" markers only ever rise: an earlier moment written later must not un-revoke tokens. */
function raisedMarkerSuite(listFor: () => RevocationList): void {
  it('keeps the later moment when an earlier one is written after it', async () => {
    const list = listFor();
    await list.revokeUser('u1', { atMs: NOW + 2000, untilMs: NOW + 2000 + LIFETIME });
    await list.revokeUser('u1', { atMs: NOW + 1000, untilMs: NOW + 1000 + LIFETIME });
    expect(await list.isRevoked(query(NOW + 1500))).toBe(true);
    expect(await list.isRevoked(query(NOW + 2000))).toBe(true);
    expect(await list.isRevoked(query(NOW + 2001))).toBe(false);
  });

  it('still rises with a later moment', async () => {
    const list = listFor();
    await list.revokeUser('u1', { atMs: NOW + 1000, untilMs: NOW + 1000 + LIFETIME });
    await list.revokeUser('u1', { atMs: NOW + 3000, untilMs: NOW + 3000 + LIFETIME });
    expect(await list.isRevoked(query(NOW + 2500))).toBe(true);
    expect(await list.isRevoked(query(NOW + 3001))).toBe(false);
  });
}

describeEachDatabase('revocation markers in the database-backed list', (dialect) => {
  let storage: Storage;
  let clock: number;
  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    clock = NOW;
  });
  afterEach(async () => storage.close());

  raisedMarkerSuite(() => new DatabaseBackedRevocationList(storage.db, () => clock));

  it('stores the larger moment and the longer expiry, so a restart keeps them', async () => {
    const list = new DatabaseBackedRevocationList(storage.db, () => clock);
    await list.revokeUser('u1', { atMs: NOW + 2000, untilMs: NOW + 2000 + LIFETIME });
    await list.revokeUser('u1', { atMs: NOW + 1000, untilMs: NOW + 1000 + LIFETIME });
    const rows = await storage.db.selectFrom('revoked_tokens').select(['subject', 'not_before', 'expires_at']).execute();
    expect(rows.map((r) => ({ subject: r.subject, not_before: Number(r.not_before), expires_at: Number(r.expires_at) }))).toEqual([
      { subject: 'user:u1', not_before: NOW + 2000, expires_at: NOW + 2000 + LIFETIME },
    ]);
    const restarted = new DatabaseBackedRevocationList(storage.db, () => clock);
    await restarted.load();
    expect(await restarted.isRevoked(query(NOW + 1500))).toBe(true);
    // Another instance (its own map) writing an earlier moment does not lower the stored one.
    await restarted.revokeUser('u1', { atMs: NOW + 500, untilMs: NOW + 500 + LIFETIME });
    const again = new DatabaseBackedRevocationList(storage.db, () => clock);
    await again.load();
    expect(await again.isRevoked(query(NOW + 1999))).toBe(true);
  });
});

describeWithRedis('revocation markers in Redis', () => {
  let redis: TestRedis;
  let storage: Storage;
  beforeEach(async () => {
    redis = await createTestRedis();
    storage = await createTestStorage('sqlite');
  });
  afterEach(async () => {
    await redis.cleanup();
    await storage.close();
  });

  raisedMarkerSuite(() => new RedisRevocationList(redis.redis, redis.prefix, () => NOW, new RevocationRows(storage.db)));

  it('keeps the larger value and never shortens the key’s TTL', async () => {
    const list = new RedisRevocationList(redis.redis, redis.prefix, () => NOW, new RevocationRows(storage.db));
    await list.revokeUser('u1', { atMs: NOW + 2000, untilMs: NOW + 2000 + LIFETIME });
    await list.revokeUser('u1', { atMs: NOW + 1000, untilMs: NOW + 1000 + 10_000 });
    const key = `${redis.prefix}revoked:user:u1`;
    expect(await redis.redis.get(key)).toBe(String(NOW + 2000));
    expect(await redis.redis.pttl(key)).toBeGreaterThan(LIFETIME);
    // A later moment with a shorter life raises the value and keeps the longer TTL.
    await list.revokeUser('u1', { atMs: NOW + 3000, untilMs: NOW + 3000 + 10_000 });
    expect(await redis.redis.get(key)).toBe(String(NOW + 3000));
    expect(await redis.redis.pttl(key)).toBeGreaterThan(LIFETIME);
  });
});

describeWithRedis('token checks while Redis is down', () => {
  let proxy: TcpProxy;
  let t: TestApp;
  beforeEach(async () => {
    proxy = await startTcpProxy(TEST_REDIS_URL);
    t = await createTestApp({ env: { WARDEN_REDIS_URL: proxy.url, WARDEN_REDIS_KEY_PREFIX: `warden-test-revocation-${Date.now()}:` } });
  });
  afterEach(async () => {
    await t.close();
    await proxy.close();
  });

  it('answer 503 service_unavailable with Retry-After (fail closed), not a 500', async () => {
    const user = await seedUser(t);
    const tokens = await login(t.app, user.email);
    expect((await t.app.inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode).toBe(200);
    await proxy.cut();
    for (let i = 0; i < 2; i++) {
      const response = await t.app.inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) });
      expect(response.statusCode).toBe(503);
      // The denylist's own answer (not the rate limiter's, which fails open in this profile).
      expect(response.json()).toMatchObject({ code: 'service_unavailable', detail: expect.stringMatching(/denylist/) });
      expect(response.headers['retry-after']).toBe('1');
    }
    expect(t.logs.some((line) => line.msg === 'unhandled error')).toBe(false);
    // Routes of other plugin scopes during the same outage.
    for (const url of ['/v1/keys', '/v1/roles', '/v1/auth/sessions']) {
      expect((await t.app.inject({ url, headers: bearer(tokens.access_token) })).statusCode, url).toBe(503);
    }
    // The outage is said once, not with a stack per request.
    expect(t.logs.filter((line) => line.msg === 'request failed')).toEqual([]);
    expect(t.logs.filter((line) => String(line.msg).startsWith('answering 503'))).toHaveLength(1);
  });
});
