import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { WardenError } from '../../src/errors/index.js';
import type { RateLimitFailurePolicy } from '../../src/ratelimit/failover-store.js';
import { createRateLimitService, type RateLimitService } from '../../src/ratelimit/rate-limit-service.js';
import type { RateLimiter } from '../../src/ratelimit/rate-limiter.js';
import { describeWithRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/** Fails the test instead of hanging it: a decision must settle well within this bound. */
const HANG_BOUND_MS = 5000;

function settles<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the decision hung')), HANG_BOUND_MS)),
  ]);
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i += 1) await new Promise((r) => setTimeout(r, 50));
  if (!condition()) throw new Error('condition never became true');
}

async function outcome(limiter: RateLimiter): Promise<boolean | string> {
  try {
    return (await settles(limiter.limit('client'))).allowed;
  } catch (error) {
    if (error instanceof WardenError) return `${error.status}:${error.code}`;
    throw error;
  }
}

for (const policy of ['fail-open', 'fail-closed'] as const satisfies readonly RateLimitFailurePolicy[]) {
  describeWithRedis(`Redis failure with ${policy}`, () => {
    let proxy: TcpProxy;
    let redis: Redis;
    let service: RateLimitService;
    let prefix: string;

    beforeEach(async () => {
      proxy = await startTcpProxy(TEST_REDIS_URL);
      // The same client options as the service's own connection (create-context.ts).
      redis = new Redis(proxy.url, { enableAutoPipelining: true, maxRetriesPerRequest: 1, commandTimeout: 1000, retryStrategy: () => 50 });
      redis.on('error', () => undefined);
      await until(() => redis.status === 'ready');
      prefix = `warden-test:${randomBytes(6).toString('hex')}:`;
      service = createRateLimitService({ redis, keyPrefix: prefix, failurePolicy: policy, redisTimeoutMs: 200, redisRetryAfterMs: 200 });
    });

    afterEach(async () => {
      redis.disconnect();
      await proxy.close();
      const cleaner = new Redis(TEST_REDIS_URL);
      const keys = await cleaner.keys(`${prefix}*`);
      if (keys.length > 0) await cleaner.del(...keys);
      cleaner.disconnect();
    });

    const expected = policy === 'fail-open' ? true : '503:service_unavailable';

    it('a cut connection: no hang, the policy applies, and Redis is used again once it is back', async () => {
      // Sliding: a fixed window's edge passing during the outage would reset the count asserted on.
      const limiter = service.limiter({ name: 'outage', algorithm: 'sliding-window', limit: 3, windowMs: 600_000 });
      expect(await outcome(limiter)).toBe(true);
      expect(await outcome(limiter)).toBe(true);

      await proxy.cut();
      // Several decisions during the outage, including ones racing the disconnect.
      const during = await Promise.all([outcome(limiter), outcome(limiter)]);
      expect(during).toEqual([expected, expected]);
      expect(await outcome(limiter)).toBe(expected);
      const errors = await service.metrics.storeErrors.get();
      expect(errors.values.length === 0 || errors.values.every((v) => v.labels.policy_applied === policy)).toBe(true);

      await proxy.restore();
      await until(() => redis.status === 'ready');
      await new Promise((r) => setTimeout(r, 250));
      // Back on Redis: its counter (2 of 3 used before the outage) decides again.
      expect(await outcome(limiter)).toBe(true);
      expect(await outcome(limiter)).toBe(false);
    });

    it('a hung Redis (connected, never answers): the decision times out and the policy applies', async () => {
      const limiter = service.limiter({ name: 'hung', algorithm: 'sliding-window', limit: 3, windowMs: 600_000 });
      expect(await outcome(limiter)).toBe(true);
      proxy.blackhole();
      expect(await outcome(limiter)).toBe(expected);
      // While paused after the failure, decisions do not even wait for the timeout.
      expect(await outcome(limiter)).toBe(expected);
      const errors = await service.metrics.storeErrors.get();
      expect(errors.values.reduce((sum, v) => sum + v.value, 0)).toBeGreaterThanOrEqual(1);
    });
  });
}
