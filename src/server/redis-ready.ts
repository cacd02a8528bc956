import type { Redis } from 'ioredis';

/**
 * Resolves true once `redis` is connected, or false after `timeoutMs` (never rejects).
 * Start-up waits on it so that the first requests do not meet a store that is still
 * connecting (a fail-closed limiter answers those with 503).
 */
export function whenRedisReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ready);
    };
    const onReady = (): void => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
  });
}
