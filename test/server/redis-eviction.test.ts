import type { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { redisEvictionRisk } from '../../src/server/redis-eviction.js';
import { createTestRedis } from '../helpers/redis.js';

/** A Redis whose CONFIG GET answers these settings (as a flat name/value list, like Redis). */
const redisWith = (settings: Record<string, string> | Error): Pick<Redis, 'config'> =>
  ({
    config: async () => {
      if (settings instanceof Error) throw settings;
      return Object.entries(settings).flat();
    },
  }) as unknown as Pick<Redis, 'config'>;

describe('the start-up check of how Redis evicts keys', () => {
  it('warns when a memory limit comes with a policy that evicts keys, naming both and the fix', async () => {
    for (const policy of ['allkeys-lru', 'volatile-lru', 'volatile-ttl', 'allkeys-random']) {
      const risk = await redisEvictionRisk(redisWith({ maxmemory: '1073741824', 'maxmemory-policy': policy, 'maxmemory-samples': '5' }));
      expect(risk).toContain(`maxmemory-policy ${policy}`);
      expect(risk).toContain('noeviction');
    }
  });

  it('is quiet for noeviction, for no memory limit, and when CONFIG is refused (managed Redis)', async () => {
    expect(await redisEvictionRisk(redisWith({ maxmemory: '1073741824', 'maxmemory-policy': 'noeviction' }))).toBeUndefined();
    expect(await redisEvictionRisk(redisWith({ maxmemory: '0', 'maxmemory-policy': 'allkeys-lru' }))).toBeUndefined();
    expect(await redisEvictionRisk(redisWith(new Error("ERR unknown command 'CONFIG'")))).toBeUndefined();
  });

  it.skipIf(!inject('redisAvailable'))('reads a real Redis\'s settings through CONFIG GET', async () => {
    const redis = await createTestRedis();
    try {
      const [, limit] = (await redis.redis.config('GET', 'maxmemory')) as string[];
      const [, policy] = (await redis.redis.config('GET', 'maxmemory-policy')) as string[];
      const risk = await redisEvictionRisk(redis.redis);
      expect(risk === undefined).toBe(limit === '0' || policy === 'noeviction');
    } finally {
      await redis.cleanup();
    }
  });
});
