import { LRUCache } from 'lru-cache';
import { step, type AlgorithmState } from './memory-algorithms.js';
import type { ResolvedPolicy } from './policy.js';
import type { RateLimitDecision } from './rate-limiter.js';
import { policyCounterId, type RateLimitStore } from './store.js';

export interface MemoryStoreOptions {
  /**
   * At most this many keys are tracked; the least recently used are forgotten first, so a
   * flood of distinct keys costs bounded memory (it can evict a quiet key's counter early,
   * which errs towards allowing that key). @default 100_000
   */
  readonly maxKeys?: number;
  /** The clock, injectable for tests. @default Date.now */
  readonly now?: () => number;
}

interface Entry {
  state: AlgorithmState | undefined;
  expiresAt: number;
  blockedUntil: number;
}

/** A per-process store: exact within one process, bounded by an LRU. */
export function createMemoryStore(options: MemoryStoreOptions = {}): RateLimitStore {
  const now = options.now ?? Date.now;
  // Expiry is checked against the injected clock (not lru-cache's own timer) so tests can move time.
  const entries = new LRUCache<string, Entry>({ max: options.maxKeys ?? 100_000 });
  // Resolved policies live as long as their limiter, so the policy's part of the key is built
  // once per policy rather than per decision.
  const policyIds = new WeakMap<ResolvedPolicy, string>();
  const entryKey = (policy: ResolvedPolicy, key: string): string => {
    let id = policyIds.get(policy);
    if (id === undefined) {
      id = policyCounterId(policy);
      policyIds.set(policy, id);
    }
    return id + key;
  };

  return {
    kind: 'memory',
    async consume(policy, key, cost): Promise<RateLimitDecision> {
      return consumeSync(policy, key, cost);
    },
    consumeNow: consumeSync,
    async reset(policy, key) {
      entries.delete(entryKey(policy, key));
    },
  };

  function consumeSync(policy: ResolvedPolicy, key: string, cost: number): RateLimitDecision {
    const at = now();
    const id = entryKey(policy, key);
    const stored = entries.get(id);
    let entry = stored;
    if (entry !== undefined && entry.expiresAt <= at && entry.blockedUntil <= at) entry = undefined;
    if (entry !== undefined && entry.blockedUntil > at) {
      const wait = entry.blockedUntil - at;
      return { allowed: false, limit: policy.limit, remaining: 0, reset_ms: wait, retry_after_ms: wait };
    }
    const current = entry !== undefined && entry.expiresAt > at ? entry.state : undefined;
    const result = step(policy, current, at, cost);
    let { decision } = result;
    let blockedUntil = 0;
    if (!decision.allowed && policy.blockDurationMs > 0) {
      blockedUntil = at + policy.blockDurationMs;
      decision = { ...decision, remaining: 0, reset_ms: Math.max(decision.reset_ms, policy.blockDurationMs), retry_after_ms: Math.max(decision.retry_after_ms, policy.blockDurationMs) };
    }
    if (stored !== undefined) {
      // get() already made it the most recently used; updating in place saves a second lookup.
      stored.state = result.state;
      stored.expiresAt = result.expiresAt;
      stored.blockedUntil = blockedUntil;
    } else entries.set(id, { state: result.state, expiresAt: result.expiresAt, blockedUntil });
    return decision;
  }
}
