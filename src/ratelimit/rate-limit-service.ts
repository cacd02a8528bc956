import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createFailoverStore, type RateLimitFailurePolicy } from './failover-store.js';
import { createMemoryStore } from './memory-store.js';
import { assertCost, resolvePolicy, type RateLimitPolicy, type ResolvedPolicy } from './policy.js';
import { RateLimitMetrics } from './rate-limit-metrics.js';
import type { RateLimiter } from './rate-limiter.js';
import { createRedisStore } from './redis-store.js';
import type { RateLimitStore } from './store.js';

/** The rate limiting every domain uses (`context.rateLimits`). */
export interface RateLimitService {
  /** A limiter for one policy; policies with the same name, algorithm, limit and window share counters. Keep the name stable. */
  limiter(policy: RateLimitPolicy): RateLimiter;
  /** Where the counters live: `redis` (shared by every instance) or `memory` (this process). */
  readonly backend: 'memory' | 'redis';
  readonly metrics: RateLimitMetrics;
}

export interface RateLimitServiceOptions {
  /** Shared counters when present; else per-process memory. */
  readonly redis?: Redis | undefined;
  /** @default 'warden:' */
  readonly keyPrefix?: string;
  /** What happens when Redis fails. @default 'fail-closed' */
  readonly failurePolicy?: RateLimitFailurePolicy;
  /** How long one decision may wait for Redis. @default 250 */
  readonly redisTimeoutMs?: number;
  /** How long to skip Redis after a failure before probing again. @default 1000 */
  readonly redisRetryAfterMs?: number;
  /** Bound of each partition of the in-memory store (and of the fail-open fallback). @default 100_000 */
  readonly memoryMaxKeys?: number;
  readonly logger?: Logger;
  /** The clock, injectable for tests. @default Date.now */
  readonly now?: () => number;
}

/**
 * The memory partition of a policy. `/v1/ratelimit` counts identifiers its callers choose
 * (`svc:*`), and the HTTP limits count one key per address or caller (`http:*`): either can be
 * flooded with distinct keys. Each gets an LRU of its own, so such a flood forgets only its own
 * kind of counter, never Warden's login and OAuth lockouts or an API key's limit. (Warden's own
 * partition can still be flooded by login attempts for distinct accounts: its counts, not its
 * blocks, are then forgotten, as docs/ratelimit.md says.)
 */
export function memoryPartitionOf(policy: ResolvedPolicy): string {
  if (policy.name.startsWith('svc:')) return 'service';
  if (policy.name.startsWith('http:')) return 'http';
  return 'warden';
}

/** Builds the service: a Redis store with its failure policy when Redis is given, else memory. */
export function createRateLimitService(options: RateLimitServiceOptions = {}): RateLimitService {
  const metrics = new RateLimitMetrics();
  const memory = createMemoryStore({ maxKeys: options.memoryMaxKeys, now: options.now, partitionOf: memoryPartitionOf });
  let store: RateLimitStore = memory;
  const redis = options.redis;
  if (redis !== undefined) {
    const logger = options.logger;
    let lastLogged = 0;
    store = createFailoverStore({
      primary: createRedisStore(redis, { prefix: options.keyPrefix ?? 'warden:', now: options.now }),
      fallback: memory,
      policy: options.failurePolicy ?? 'fail-closed',
      timeoutMs: options.redisTimeoutMs ?? 250,
      retryAfterMs: options.redisRetryAfterMs,
      isReady: () => redis.status === 'ready',
      metrics,
      onError: (error) => {
        // One warning per 10 s at most: an outage must not flood the log.
        const at = Date.now();
        if (at - lastLogged < 10_000) return;
        lastLogged = at;
        logger?.warn({ err: { message: error.message }, failure_policy: options.failurePolicy ?? 'fail-closed' }, 'rate-limit store unavailable');
      },
    });
  }
  return {
    backend: store.kind,
    metrics,
    limiter(policy) {
      return limiterFor(store, policy);
    },
  };
}

/** A RateLimiter over a store for one policy. */
export function limiterFor(store: RateLimitStore, policy: RateLimitPolicy): RateLimiter {
  const resolved = resolvePolicy(policy);
  const consumeNow = store.consumeNow;
  return {
    limit(key, cost = 1) {
      assertCost(cost);
      return store.consume(resolved, key, cost);
    },
    ...(consumeNow === undefined
      ? {}
      : {
          limitNow(key: string, cost = 1) {
            assertCost(cost);
            return consumeNow(resolved, key, cost);
          },
        }),
    reset(key) {
      return store.reset(resolved, key);
    },
  };
}
