import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { whenRedisReady } from '../../src/server/redis-ready.js';
import { describeWithRedis, TEST_REDIS_URL } from '../helpers/redis.js';

describeWithRedis('whenRedisReady: start-up waits for Redis before listening', () => {
  it('resolves true once a fresh connection is ready, so a first command does not meet a connecting client', async () => {
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      expect(redis.status).not.toBe('ready');
      await expect(whenRedisReady(redis, 5000)).resolves.toBe(true);
      expect(redis.status).toBe('ready');
      expect(redis.listenerCount('ready')).toBe(0);
      // Already ready: answers at once.
      await expect(whenRedisReady(redis, 1)).resolves.toBe(true);
    } finally {
      redis.disconnect();
    }
  });
});

it('resolves false after the timeout when Redis cannot be reached, and leaves no listener behind', async () => {
  // Port 1 refuses connections; the client keeps retrying in the background.
  const redis = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  redis.on('error', () => undefined);
  try {
    await expect(whenRedisReady(redis, 200)).resolves.toBe(false);
    expect(redis.status).not.toBe('ready');
    expect(redis.listenerCount('ready')).toBe(0);
  } finally {
    redis.disconnect();
  }
});
