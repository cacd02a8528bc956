import type { RateLimitDecision } from './rate-limiter.js';
import type { ResolvedPolicy } from './policy.js';

/** Where counters live. One `consume` is one atomic decision. */
export interface RateLimitStore {
  readonly kind: 'memory' | 'redis';
  /** Decides and records one request of `cost` units for `key` under `policy`. */
  consume(policy: ResolvedPolicy, key: string, cost: number): Promise<RateLimitDecision>;
  /**
   * `consume` answered without waiting, by a store that decides without I/O (memory). The same
   * decision `consume` would make; absent on stores that must ask elsewhere (Redis).
   */
  readonly consumeNow?: (policy: ResolvedPolicy, key: string, cost: number) => RateLimitDecision;
  /** Forgets the key's counters and block under `policy`. */
  reset(policy: ResolvedPolicy, key: string): Promise<void>;
}

/**
 * The part of a counter's identity that depends on the policy alone; a store appends the
 * caller's key to it: `<algorithm>:<limit>:<windowMs>:<name length>:<name>:`.
 */
export function policyCounterId(policy: ResolvedPolicy): string {
  // Limit and window belong to the identity: a state is only meaningful under the window it was
  // counted in. When "5 per second" and "100 per hour" shared one counter, the windows' join
  // logic let the hourly check adopt the per-second window, and the hourly limit never held.
  // Every field before the key has a fixed format (no ':' in an algorithm, digits, a length
  // that delimits the name), and the caller's key comes last, so no key — whatever characters
  // it holds — and no policy name can spell another policy's counter.
  return `${policy.algorithm}:${policy.limit}:${policy.windowMs}:${policy.name.length}:${policy.name}:`;
}
