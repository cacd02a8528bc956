import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/ratelimit/memory-store.js';
import type { RateLimitPolicy } from '../../src/ratelimit/policy.js';
import type { RateLimiter } from '../../src/ratelimit/rate-limiter.js';
import { limiterFor } from '../../src/ratelimit/rate-limit-service.js';
import { createRedisStore } from '../../src/ratelimit/redis-store.js';
import type { RateLimitStore } from '../../src/ratelimit/store.js';
import { createTestRedis, describeWithRedis, type TestRedis } from '../helpers/redis.js';

/**
 * `retry_after_ms` is the exact wait until the same request is allowed. For the token bucket it
 * is ceil((cost - tokens) / rate), and the refill after that wait is recomputed in floating
 * point, which can land a hair below `cost`: both stores compare with a tolerance relative to
 * the limit, so a caller waiting exactly the announced time is allowed.
 */

const T0 = 1_800_000_000_000;
const policy: RateLimitPolicy = {
  name: 'precision-bucket',
  algorithm: 'token-bucket',
  limit: 5,
  windowMs: 60_000,
};

async function waitsAsTold(makeStore: (now: () => number) => RateLimitStore): Promise<void> {
  let t = T0;
  const limiter: RateLimiter = limiterFor(
    makeStore(() => t),
    policy,
  );
  expect((await limiter.limit('k', 4)).allowed).toBe(true);
  t += 259;
  expect((await limiter.limit('k', 1)).allowed).toBe(true);
  const denied = await limiter.limit('k', 2);
  expect(denied.allowed).toBe(false);
  // The caller waits exactly what it was told and asks again.
  t += denied.retry_after_ms;
  expect(await limiter.limit('k', 2)).toMatchObject({ allowed: true });
}

describe('token bucket retry_after_ms', () => {
  it('memory: a request retried after exactly retry_after_ms is allowed', async () => {
    await waitsAsTold((now) => createMemoryStore({ now }));
  });
});

describeWithRedis('token bucket retry_after_ms', () => {
  let r: TestRedis;
  beforeAll(async () => {
    r = await createTestRedis();
  });
  afterAll(async () => {
    await r.cleanup();
  });
  it('redis: a request retried after exactly retry_after_ms is allowed', async () => {
    await waitsAsTold((now) => createRedisStore(r.redis, { prefix: `${r.prefix}precision-bucket:`, now }));
  });
});
