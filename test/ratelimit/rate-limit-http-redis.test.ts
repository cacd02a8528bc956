import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import type { RouteModule } from '../../src/server/routes/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeWithRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const routes: RouteModule = async (app) => {
  app.get('/v1/ping', { config: { public: true } }, async () => ({ ok: true }));
};

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i += 1) await new Promise((r) => setTimeout(r, 50));
  if (!condition()) throw new Error('condition never became true');
}

let t: TestApp | undefined;
let proxy: TcpProxy | undefined;
let prefix = '';
afterEach(async () => {
  await proxy?.restore();
  await t?.close();
  await proxy?.close();
  t = undefined;
  proxy = undefined;
  const cleaner = new Redis(TEST_REDIS_URL);
  const keys = await cleaner.keys(`${prefix}*`);
  if (keys.length > 0) await cleaner.del(...keys);
  cleaner.disconnect();
});

describeWithRedis('the HTTP API when Redis fails', () => {
  for (const [policy, status] of [
    ['fail-closed', 503],
    ['fail-open', 200],
  ] as const) {
    it(`${policy}: answers ${status} without hanging while Redis is cut, and limits via Redis again afterwards`, async () => {
      proxy = await startTcpProxy(TEST_REDIS_URL);
      prefix = `warden-test:${randomBytes(6).toString('hex')}:`;
      t = await createTestApp({
        env: {
          WARDEN_REDIS_URL: proxy.url,
          WARDEN_REDIS_KEY_PREFIX: prefix,
          WARDEN_RATELIMIT_DEFAULT: '3/10m',
          WARDEN_RATELIMIT_FAILURE_POLICY: policy,
          WARDEN_RATELIMIT_REDIS_TIMEOUT_MS: '200',
        },
        routes: [routes],
      });
      const redis = t.context.redis;
      if (redis === undefined) throw new Error('redis expected');
      await until(() => redis.status === 'ready');
      expect(t.context.rateLimits.backend).toBe('redis');
      expect((await t.app.inject({ url: '/v1/ping' })).statusCode).toBe(200);

      await proxy.cut();
      const during = await t.app.inject({ url: '/v1/ping' });
      expect(during.statusCode).toBe(status);
      if (status === 503) {
        expect(during.json()).toMatchObject({ code: 'service_unavailable' });
        expect(during.headers['retry-after']).toBe('1');
      }

      await proxy.restore();
      await until(() => redis.status === 'ready');
      await new Promise((r) => setTimeout(r, 1100));
      // Redis' counter holds the one request from before the outage: 2 more pass, then 429.
      expect((await t.app.inject({ url: '/v1/ping' })).statusCode).toBe(200);
      expect((await t.app.inject({ url: '/v1/ping' })).statusCode).toBe(200);
      expect((await t.app.inject({ url: '/v1/ping' })).statusCode).toBe(429);
    });
  }
});
