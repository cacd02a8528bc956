import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, inject } from 'vitest';
import { TEST_REDIS_URL } from './services.js';

export { TEST_REDIS_URL };

/** A Redis connection plus a key prefix of its own; `cleanup()` deletes every key under it. */
export interface TestRedis {
  readonly redis: Redis;
  readonly prefix: string;
  readonly url: string;
  cleanup(): Promise<void>;
}

/** Connects to the test Redis with a fresh prefix (`warden-test:<random>:`). */
export async function createTestRedis(): Promise<TestRedis> {
  const prefix = `warden-test:${randomBytes(6).toString('hex')}:`;
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  return {
    redis,
    prefix,
    url: TEST_REDIS_URL,
    async cleanup() {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}

/** describe() that skips loudly when Redis is unreachable outside CI. */
export function describeWithRedis(title: string, suite: () => void): void {
  (inject('redisAvailable') ? describe : describe.skip)(`${title} [redis]`, suite);
}
