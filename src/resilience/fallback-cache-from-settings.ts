import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Settings } from '../config/index.js';
import { createMemoryFallbackCache, createRedisFallbackCache, type FallbackCache } from './fallback-cache.js';

/** The breakers' fallback cache: Redis (shared) when WARDEN_BREAKER_CACHE_URL is set, else memory. */
export function fallbackCacheFromSettings(settings: Settings, logger: Logger): FallbackCache {
  const maxAgeMs = settings.breakerCacheMaxAgeMs;
  if (settings.breakerCacheUrl === undefined) return createMemoryFallbackCache({ maxAgeMs });
  const redis = new Redis(settings.breakerCacheUrl, {
    maxRetriesPerRequest: 1,
    commandTimeout: 500,
    connectTimeout: 2000,
    enableAutoPipelining: true,
  });
  // Only the message: a connection error can carry the URL, and the URL can carry a password.
  redis.on('error', (error: Error) =>
    logger.warn({ err: { message: error.message } }, 'breaker cache redis error'),
  );
  return createRedisFallbackCache({
    redis,
    maxAgeMs,
    keyPrefix: `${settings.redisKeyPrefix}breaker:`,
    ownsConnection: true,
    onError: (error) =>
      logger.warn({ err: { message: error.message } }, 'breaker cache unavailable; treating as a miss'),
  });
}
