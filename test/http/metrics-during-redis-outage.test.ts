/*
 * GET /metrics keeps answering its scraper while Redis is down, in the production profile
 * (fail-closed rate limits): its per-IP limit, which only slows token guessing, is counted in
 * the instance's memory, so the outage — when warden_ratelimit_store_errors_total matters —
 * does not turn the scrape into a 503. The limit itself still applies, per instance.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetricsRegistry, metrics } from '../../src/http/metrics.js';
import { rateLimits } from '../../src/ratelimit/rate-limit-plugin.js';
import type { RateLimitService } from '../../src/ratelimit/rate-limit-service.js';
import { RateLimitMetrics } from '../../src/ratelimit/rate-limit-metrics.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { createTestRedis, describeWithRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { eventually, spawnService } from '../helpers/spawned-service.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const METRICS_TOKEN = 'b7e3c1f09a2d4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e3f';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describeWithRedis('GET /metrics while Redis is down, production defaults', () => {
  it('still serves the metrics token its scrape, with the store-error metrics, rather than 503 from the fail-closed rate limit', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-metrics-outage-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const testRedis = await createTestRedis();
    cleanups.push(() => testRedis.cleanup());
    const proxy = await startTcpProxy(TEST_REDIS_URL);
    cleanups.push(() => proxy.close());

    const service = spawnService({
      WARDEN_ENV: 'production',
      WARDEN_DATA_DIR: dir,
      WARDEN_DATABASE_URL: `sqlite:${path.join(dir, 'w.db')}`,
      WARDEN_SECRET_KEY: TEST_SECRET_KEY,
      WARDEN_REDIS_URL: proxy.url,
      WARDEN_REDIS_KEY_PREFIX: testRedis.prefix,
      WARDEN_METRICS_TOKEN: METRICS_TOKEN,
      WARDEN_PORT: '0',
    });
    cleanups.push(() => service.kill());
    const [, url] = await service.waitFor(/Warden listening on (\S+)/);
    const scrape = (): Promise<Response> => fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect((await scrape()).status).toBe(200);

    await proxy.cut();
    // /readyz notices the outage (the load balancer stops routing here)…
    expect(await eventually(async () => (await fetch(`${url}/readyz`)).status === 503)).toBe(true);
    // …and the operator's scraper is exactly what must keep working now.
    const during = await scrape();
    const text = await during.text();
    expect(during.status, text.slice(0, 300)).toBe(200);
    expect(text).toContain('warden_ratelimit_store_errors_total');
  }, 60_000);
});

describe('the /metrics rate limit', () => {
  it('is counted in this process even when the service keeps its counters elsewhere, and still refuses past its budget', async () => {
    // A service whose shared store is down: every decision it is asked for fails.
    const asked: string[] = [];
    const service: RateLimitService = {
      backend: 'redis',
      metrics: new RateLimitMetrics(),
      limiter(policy) {
        asked.push(policy.name);
        return {
          limit: () => Promise.reject(new Error('the shared store is down')),
          reset: () => Promise.reject(new Error('the shared store is down')),
        };
      },
    };
    const app = Fastify();
    cleanups.push(() => app.close());
    await app.register(rateLimits, { service, defaultPolicies: [{ limit: 2, windowMs: 60_000, blockDurationMs: 0 }], authPolicies: [], algorithm: 'fixed-window' });
    await app.register(metrics, { registry: createMetricsRegistry(), token: METRICS_TOKEN });
    await app.ready();

    const scrape = () => app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect((await scrape()).statusCode).toBe(200);
    expect((await scrape()).statusCode).toBe(200);
    const third = await scrape();
    expect(third.statusCode).toBe(429);
    expect(third.headers['ratelimit-policy']).toContain('"default:GET /metrics-60s"');
    expect(asked.filter((name) => name.includes('/metrics'))).toEqual([]);
  });
});
