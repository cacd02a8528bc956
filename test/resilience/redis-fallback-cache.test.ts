import { afterEach, beforeEach, expect, it } from 'vitest';
import { WardenError } from '../../src/errors/index.js';
import { createCircuitBreaker } from '../../src/resilience/circuit-breaker.js';
import { createRedisFallbackCache } from '../../src/resilience/fallback-cache.js';
import { Redis } from 'ioredis';
import { createTestRedis, describeWithRedis, type TestRedis } from '../helpers/redis.js';
import { fetchValue, startFakeUpstream, type FakeUpstream } from './upstream-server.js';

describeWithRedis('fallback cache in Redis, shared across instances', () => {
  let redis: TestRedis;
  let upstream: FakeUpstream;
  let clock = 1_700_000_000_000;
  beforeEach(async () => {
    redis = await createTestRedis();
    upstream = await startFakeUpstream();
    clock = 1_700_000_000_000;
  });
  afterEach(async () => {
    await upstream.close();
    await redis.cleanup();
  });

  // Each "instance" has its own breaker and its own Redis connection, like two processes.
  const instance = async (extra: { maxAgeMs?: number } = {}) => {
    const connection = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    const cache = createRedisFallbackCache({
      redis: connection,
      keyPrefix: redis.prefix,
      maxAgeMs: extra.maxAgeMs ?? 60_000,
      now: () => clock,
      ownsConnection: true,
    });
    const breaker = createCircuitBreaker({
      name: 'shared',
      opening: { kind: 'consecutive', failures: 1 },
      halfOpenAfterMs: 60_000,
      fallbackCache: cache,
      now: () => clock,
    });
    return { breaker, cache };
  };

  it('serves a value stored by instance A from instance B when B cannot reach the upstream', async () => {
    const a = await instance();
    const b = await instance();
    upstream.value = 7;
    expect(await a.breaker.call('report', (signal) => fetchValue(upstream.url, signal))).toEqual({
      source: 'live',
      value: { value: 7 },
    });

    upstream.mode = 'fail';
    clock += 2500;
    expect(await b.breaker.call('report', (signal) => fetchValue(upstream.url, signal))).toEqual({
      source: 'stale-cache',
      value: { value: 7 },
      ageMs: 2500,
      reason: 'upstream_error',
    });
    expect(b.breaker.state()).toBe('open');
    expect(await b.breaker.call('report', (signal) => fetchValue(upstream.url, signal))).toMatchObject({
      source: 'stale-cache',
      reason: 'circuit_open',
    });

    // Keys are stored hashed (the cache key may be derived from request data) and expire.
    const keys = await redis.redis.keys(`${redis.prefix}*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain('report');
    expect(await redis.redis.pttl(keys[0] ?? '')).toBeGreaterThan(0);
    await a.cache.close();
    await b.cache.close();
  });

  it('refuses entries older than the maximum age (503 when open)', async () => {
    const a = await instance({ maxAgeMs: 10_000 });
    await a.breaker.call('k', (signal) => fetchValue(upstream.url, signal));
    upstream.mode = 'fail';
    clock += 10_001;
    const error = await a.breaker
      .call('k', (signal) => fetchValue(upstream.url, signal))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WardenError);
    expect((error as WardenError).code).toBe('upstream_error');
    const open = await a.breaker
      .call('k', (signal) => fetchValue(upstream.url, signal))
      .catch((e: unknown) => e);
    expect((open as WardenError).code).toBe('circuit_open');
    expect((open as WardenError).status).toBe(503);
    await a.cache.close();
  });

  it('treats an unreachable cache as a miss and keeps the live path working', async () => {
    const broken = new Redis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    broken.on('error', () => undefined);
    const errors: Error[] = [];
    const cache = createRedisFallbackCache({ redis: broken, onError: (e) => errors.push(e) });
    const breaker = createCircuitBreaker({
      name: 'nocache',
      opening: { kind: 'consecutive', failures: 5 },
      fallbackCache: cache,
    });
    expect(await breaker.call('k', (signal) => fetchValue(upstream.url, signal))).toMatchObject({
      source: 'live',
    });
    upstream.mode = 'fail';
    const error = await breaker
      .call('k', (signal) => fetchValue(upstream.url, signal))
      .catch((e: unknown) => e);
    expect((error as WardenError).code).toBe('upstream_error');
    expect(errors.length).toBeGreaterThan(0);
    broken.disconnect();
  });
});
