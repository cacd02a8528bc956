import { expect, it } from 'vitest';
import { createFailoverStore } from '../../src/ratelimit/failover-store.js';
import { createMemoryStore } from '../../src/ratelimit/memory-store.js';
import { limiterFor } from '../../src/ratelimit/rate-limit-service.js';
import type { RateLimitStore } from '../../src/ratelimit/store.js';

/**
 * A block the memory fallback started during a Redis outage is looked for (a cost-0 decision
 * against memory) only while it may be in force: after an outage in which the fallback blocked
 * nothing, or once the longest wait it announced has passed, a decision costs one primary call
 * again, as on the hot path it was tuned for.
 */
it('after an outage in which the fallback blocked nothing, a recovered Redis is not followed by memory looks', async () => {
  let down = false;
  const redisLike = createMemoryStore();
  const primary: RateLimitStore = {
    kind: 'redis',
    consume: (policy, key, cost) =>
      down ? Promise.reject(new Error('ECONNREFUSED')) : redisLike.consume(policy, key, cost),
    reset: (policy, key) => redisLike.reset(policy, key),
  };
  const memory = createMemoryStore();
  let fallbackCalls = 0;
  const fallback: RateLimitStore = {
    kind: 'memory',
    consume: (policy, key, cost) => {
      fallbackCalls += 1;
      return memory.consume(policy, key, cost);
    },
    reset: (policy, key) => memory.reset(policy, key),
  };
  let monotonic = 0;
  const store = createFailoverStore({
    primary,
    fallback,
    policy: 'fail-open',
    timeoutMs: 1000,
    retryAfterMs: 1000,
    clock: () => monotonic,
  });
  const limiter = limiterFor(store, { name: 'default', limit: 1000, windowMs: 60_000, blockDurationMs: 0 });

  down = true;
  expect((await limiter.limit('ip:198.51.100.1')).allowed).toBe(true); // one decision in memory, allowed
  down = false;
  monotonic += 2_000;
  fallbackCalls = 0;
  for (let i = 0; i < 100; i += 1)
    expect((await limiter.limit(`ip:198.51.100.${i % 50}`)).allowed).toBe(true);
  expect(fallbackCalls).toBe(0);
});

it('while Redis is still down and a block is in force, the fallback decides once per request, not twice', async () => {
  const memory = createMemoryStore();
  let fallbackCalls = 0;
  const store = createFailoverStore({
    primary: {
      kind: 'redis',
      consume: () => Promise.reject(new Error('ECONNREFUSED')),
      reset: () => Promise.resolve(),
    },
    fallback: {
      kind: 'memory',
      consume: (policy, key, cost) => {
        fallbackCalls += 1;
        return memory.consume(policy, key, cost);
      },
      reset: (policy, key) => memory.reset(policy, key),
    },
    policy: 'fail-open',
    timeoutMs: 1000,
    retryAfterMs: 60_000,
    clock: () => 0,
  });
  const lockout = limiterFor(store, {
    name: 'login-ip',
    limit: 1,
    windowMs: 60_000,
    blockDurationMs: 900_000,
  });
  expect((await lockout.limit('ip:203.0.113.9')).allowed).toBe(true);
  expect((await lockout.limit('ip:203.0.113.9')).allowed).toBe(false);
  // Other keys, allowed by the fallback itself: its answer stands without a second look.
  fallbackCalls = 0;
  for (let i = 0; i < 10; i += 1) expect((await lockout.limit(`ip:198.51.100.${i}`)).allowed).toBe(true);
  expect(fallbackCalls).toBe(10);
});
