import { Redis } from 'ioredis';
import { afterEach, expect, it, vi } from 'vitest';
import { closeContext } from '../../src/server/create-context.js';
import type { AppContext } from '../../src/server/app-context.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createTestRedis, describeWithRedis, type TestRedis } from '../helpers/redis.js';

/**
 * docs/architecture.md: a heartbeat PING unanswered for two seconds (two, because Redis can stall
 * for a second during a fork) counts as a lost subscription and reconnects, and every reconnect
 * flushes every cache of the instance. The subscriber is a duplicate of the main connection,
 * whose options it inherits: the main connection's one-second command timeout must not cut the
 * PING short, or a 1–2 s stall already flushes every cache.
 */
describeWithRedis('invalidation subscriber of a production context', () => {
  let t: TestApp | undefined;
  let redis: TestRedis | undefined;
  let second: AppContext | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    if (second !== undefined) await closeContext(second);
    await t?.close();
    await redis?.cleanup();
  });

  it('does not time its heartbeat PING out sooner than the documented two seconds', async () => {
    redis = await createTestRedis();
    const duplicates: Redis[] = [];
    const duplicate = Redis.prototype.duplicate;
    vi.spyOn(Redis.prototype, 'duplicate').mockImplementation(function (
      this: Redis,
      ...args: Parameters<Redis['duplicate']>
    ) {
      const made = duplicate.apply(this, args);
      duplicates.push(made);
      return made;
    });
    t = await createTestApp({
      dialect: 'postgres',
      env: { WARDEN_REDIS_URL: redis.url, WARDEN_REDIS_KEY_PREFIX: redis.prefix },
    });
    const subscriber = duplicates.find((d) => d.options.connectionName === 'warden-invalidation');
    expect(subscriber).toBeDefined();
    expect(await t.context.invalidation.whenSubscribed(5000)).toBe(true);
    const timeout = subscriber?.options.commandTimeout;
    // No per-command timeout on the subscriber, or one no shorter than two heartbeats (1 s each).
    expect(typeof timeout !== 'number' || timeout >= 2000).toBe(true);
  });
});
