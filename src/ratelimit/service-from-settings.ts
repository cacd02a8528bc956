import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Settings } from '../config/index.js';
import { createRateLimitService, type RateLimitService } from './rate-limit-service.js';

/** The context's rate-limit service, configured from the WARDEN_RATELIMIT_* settings. */
export function rateLimitServiceFromSettings(settings: Settings, redis: Redis | undefined, logger: Logger): RateLimitService {
  return createRateLimitService({
    redis,
    keyPrefix: settings.redisKeyPrefix,
    // fail-open without the explicit allowance is refused in production (production-checks.ts);
    // elsewhere it would silently mean per-instance limits, so treat it as fail-closed.
    failurePolicy: settings.rateLimitFailurePolicy === 'fail-open' && settings.rateLimitAllowMemoryFallback ? 'fail-open' : 'fail-closed',
    redisTimeoutMs: settings.rateLimitRedisTimeoutMs,
    memoryMaxKeys: settings.rateLimitMemoryMaxKeys,
    logger,
  });
}
