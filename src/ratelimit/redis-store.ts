import type { Redis } from 'ioredis';
import type { ResolvedPolicy } from './policy.js';
import type { RateLimitDecision } from './rate-limiter.js';
import { RATE_LIMIT_LUA } from './redis-script.js';
import type { RateLimitStore } from './store.js';

export interface RedisStoreOptions {
  /** Prefix of every key, e.g. `warden:`. */
  readonly prefix: string;
  /** The clock, injectable for tests. Processes sharing a Redis need roughly synchronised clocks (NTP). @default Date.now */
  readonly now?: () => number;
}

const COMMAND = 'wardenRateLimit';

type RedisWithRateLimit = Redis & {
  [COMMAND](stateKey: string, blockKey: string, ...args: (string | number)[]): Promise<[number, number, number, number]>;
};

/**
 * A store shared by every instance: one atomic Lua script per decision, sent with EVALSHA
 * (ioredis falls back to EVAL on NOSCRIPT). Keys look like `<prefix>rl:{<policy>:<key>}:<algo>`.
 */
export function createRedisStore(redis: Redis, options: RedisStoreOptions): RateLimitStore {
  const now = options.now ?? Date.now;
  if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 2, lua: RATE_LIMIT_LUA });
  const client = redis as RedisWithRateLimit;
  const keys = (policy: ResolvedPolicy, key: string): [string, string] => {
    // The hash tag holds policy and key so that both keys of one decision share a cluster slot.
    const tag = `${options.prefix}rl:{${policy.name}:${key}}`;
    return [`${tag}:${policy.algorithm}`, `${tag}:block`];
  };

  return {
    kind: 'redis',
    async consume(policy, key, cost): Promise<RateLimitDecision> {
      const [stateKey, blockKey] = keys(policy, key);
      const [allowed, remaining, resetMs, retryMs] = await client[COMMAND](
        stateKey,
        blockKey,
        policy.algorithm,
        now(),
        policy.limit,
        policy.windowMs,
        cost,
        policy.blockDurationMs,
      );
      return { allowed: allowed === 1, limit: policy.limit, remaining, reset_ms: resetMs, retry_after_ms: retryMs };
    },
    async reset(policy, key) {
      await redis.del(...keys(policy, key));
    },
  };
}
