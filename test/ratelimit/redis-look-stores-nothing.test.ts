import { afterEach, beforeEach, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/ratelimit/memory-store.js';
import { RATE_LIMIT_ALGORITHMS, type RateLimitPolicy } from '../../src/ratelimit/policy.js';
import { limiterFor } from '../../src/ratelimit/rate-limit-service.js';
import { createRedisStore } from '../../src/ratelimit/redis-store.js';
import { createTestRedis, describeWithRedis, type TestRedis } from '../helpers/redis.js';

/**
 * docs/ratelimit.md: a look at a key without a counter (cost 0, as the login throttle does before
 * it verifies a password) stores nothing, and the Lua script implements the same arithmetic as
 * memory-algorithms.ts. A state written by a look would create a key per look (every login
 * check, every failed_auth look) and start a window that a take from a clock a little behind
 * then joins, so Redis and memory would answer the same calls differently.
 */
const T0 = 1_800_000_000_000;

describeWithRedis('a look at a key without a counter', () => {
  let r: TestRedis;
  beforeEach(async () => {
    r = await createTestRedis();
  });
  afterEach(async () => {
    await r.cleanup();
  });

  for (const algorithm of RATE_LIMIT_ALGORITHMS) {
    it(`${algorithm}: stores nothing in Redis, as in memory`, async () => {
      const store = createRedisStore(r.redis, { prefix: r.prefix, now: () => T0 + 3150 });
      const limiter = limiterFor(store, { name: 'look', algorithm, limit: 2, windowMs: 1000 });
      expect(await limiter.limit('fresh', 0)).toMatchObject({ allowed: true, remaining: 2 });
      expect(await r.redis.keys(`${r.prefix}*`)).toEqual([]);
    });
  }

  it('memory and Redis give the same answer to a take from a clock 300 ms behind a look', async () => {
    let now = 0;
    const clock = (): number => now;
    const policy: RateLimitPolicy = {
      name: 'look-then-take',
      algorithm: 'fixed-window',
      limit: 2,
      windowMs: 1000,
    };
    const memory = limiterFor(createMemoryStore({ now: clock }), policy);
    const redis = limiterFor(createRedisStore(r.redis, { prefix: r.prefix, now: clock }), policy);
    now = T0 + 3150; // a look by an instance whose clock is 300 ms ahead, at a fresh key
    expect(await redis.limit('k', 0)).toEqual(await memory.limit('k', 0));
    now = T0 + 2850; // then a take by one whose clock is behind it, still in window [2000, 3000)
    const fromMemory = await memory.limit('k', 1);
    expect(fromMemory).toMatchObject({ allowed: true, remaining: 1, reset_ms: 150 });
    expect(await redis.limit('k', 1)).toEqual(fromMemory);
  });
});
