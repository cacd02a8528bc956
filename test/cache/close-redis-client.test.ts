import { Redis } from 'ioredis';
import { afterEach, expect, it, vi } from 'vitest';
import { closeRedisClient } from '../../src/cache/invalidation-bus.js';
import { describeWithRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * Closing a Redis client never waits on Redis for ever: a ready client is sent QUIT, but one
 * whose Redis has gone silent (QUIT never answered) is disconnected after a short wait, so that
 * one silent connection cannot use up the shutdown's flush deadline before the audit flush.
 */
describeWithRedis('closeRedisClient', () => {
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  it('returns and leaves the client disconnected when Redis stops answering', async () => {
    proxy = await startTcpProxy(TEST_REDIS_URL);
    const client = new Redis(proxy.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    proxy.blackhole();
    await closeRedisClient(client);
    await vi.waitFor(() => expect(client.status).toBe('end'), { timeout: 5_000 });
  }, 15_000);
});
