export {
  createCircuitBreaker,
  degradedHeader,
  DEGRADED_HEADER,
  type BreakerResult,
  type BreakerState,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  type DegradedReason,
  type OpeningPolicy,
} from './circuit-breaker.js';
export {
  createMemoryFallbackCache,
  createRedisFallbackCache,
  type CachedResult,
  type FallbackCache,
  type FallbackCacheOptions,
  type RedisFallbackCacheOptions,
} from './fallback-cache.js';
export { createLogTriage, type LogTriage, type LogTriageOptions, type LogTriageResult } from './log-triage.js';
export { filterErrorLines, isErrorLine } from './error-line-filter.js';
