import type { RateLimitDecision } from './rate-limiter.js';
import type { ResolvedPolicy } from './policy.js';

/** Where counters live. One `consume` is one atomic decision. */
export interface RateLimitStore {
  readonly kind: 'memory' | 'redis';
  /** Decides and records one request of `cost` units for `key` under `policy`. */
  consume(policy: ResolvedPolicy, key: string, cost: number): Promise<RateLimitDecision>;
  /** Forgets the key's counters and block under `policy`. */
  reset(policy: ResolvedPolicy, key: string): Promise<void>;
}
