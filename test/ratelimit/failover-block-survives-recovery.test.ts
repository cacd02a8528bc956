import { afterAll, beforeAll, expect, it } from 'vitest';
import { createFailoverStore } from '../../src/ratelimit/failover-store.js';
import { createMemoryStore } from '../../src/ratelimit/memory-store.js';
import { limiterFor } from '../../src/ratelimit/rate-limit-service.js';
import { createRedisStore } from '../../src/ratelimit/redis-store.js';
import type { RateLimitStore } from '../../src/ratelimit/store.js';
import { createTestRedis, describeWithRedis, type TestRedis } from '../helpers/redis.js';

/**
 * fail-open: while Redis is down, decisions go to the per-process memory store. A lockout
 * (blockDurationMs) that starts there must outlive the outage: the Redis counter never saw
 * those requests, so once Redis answers again the memory store is still asked for a block in
 * force (login-account, login-ip and the day lock all rely on blocks).
 */
describeWithRedis('a block started during a fail-open outage', () => {
  let r: TestRedis;
  beforeAll(async () => {
    r = await createTestRedis();
  });
  afterAll(async () => {
    await r.cleanup();
  });

  it('still holds after Redis comes back (until its duration ends)', async () => {
    let t = 1_800_000_000_000;
    const now = (): number => t;
    let monotonic = 0;
    const redisStore = createRedisStore(r.redis, { prefix: `${r.prefix}failover-block:`, now });
    let down = false;
    // The real Redis store, behind a switch that simulates the outage.
    const primary: RateLimitStore = {
      kind: 'redis',
      consume: (policy, key, cost) =>
        down ? Promise.reject(new Error('ECONNREFUSED')) : redisStore.consume(policy, key, cost),
      reset: (policy, key) =>
        down ? Promise.reject(new Error('ECONNREFUSED')) : redisStore.reset(policy, key),
    };
    const store = createFailoverStore({
      primary,
      fallback: createMemoryStore({ now }),
      policy: 'fail-open',
      timeoutMs: 1000,
      retryAfterMs: 1000,
      clock: () => monotonic,
    });
    // "5 failures per 15 minutes, then locked out for 15 minutes" (login-ip style).
    const lockout = limiterFor(store, {
      name: 'login-ip',
      limit: 5,
      windowMs: 900_000,
      blockDurationMs: 900_000,
    });

    down = true;
    for (let i = 0; i < 5; i += 1) expect((await lockout.limit('ip:203.0.113.9')).allowed).toBe(true);
    const locked = await lockout.limit('ip:203.0.113.9');
    expect(locked.allowed).toBe(false);
    expect(locked.retry_after_ms).toBeGreaterThanOrEqual(900_000);

    // Redis is back 5 s later; the failover store probes it after its pause.
    down = false;
    t += 5_000;
    monotonic += 5_000;
    const afterRecovery = await lockout.limit('ip:203.0.113.9');
    // The lockout announced at least 900 s; 5 s later the same address must still be locked out.
    expect(afterRecovery.allowed).toBe(false);
    expect(afterRecovery.retry_after_ms).toBeGreaterThan(0);
  });
});
