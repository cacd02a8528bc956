export type { RateLimiter, RateLimitDecision } from './rate-limiter.js';
export {
  RATE_LIMIT_ALGORITHMS,
  SLIDING_LOG_MAX_LIMIT,
  resolvePolicy,
  parsePolicyList,
  type RateLimitAlgorithm,
  type RateLimitPolicy,
  type ResolvedPolicy,
} from './policy.js';
export type { RateLimitStore } from './store.js';
export { createMemoryStore, type MemoryStoreOptions } from './memory-store.js';
export { createRedisStore, type RedisStoreOptions } from './redis-store.js';
export { createFailoverStore, RATE_LIMIT_FAILURE_POLICIES, type FailoverStoreOptions, type RateLimitFailurePolicy } from './failover-store.js';
export { createRateLimitService, limiterFor, type RateLimitService, type RateLimitServiceOptions } from './rate-limit-service.js';
export { rateLimits, type RateLimitPluginOptions, type RouteRateLimit, type RateLimitKey } from './rate-limit-plugin.js';
export { rateLimitHeader, rateLimitPolicyHeader, retryAfterSeconds } from './rate-limit-headers.js';
export { clientAddressKey } from './client-key.js';
