import { step } from './memory-algorithms.js';
import { MemoryPartition, weightOf } from './memory-partition.js';
import type { ResolvedPolicy } from './policy.js';
import type { RateLimitDecision } from './rate-limiter.js';
import { policyCounterId, type RateLimitStore } from './store.js';

export interface MemoryStoreOptions {
  /**
   * At most this many keys are tracked per partition; the least recently used are forgotten
   * first, so a flood of distinct keys costs bounded memory (it can evict a quiet key's counter
   * early, which errs towards allowing that key; blocks in force are kept aside, up to as many
   * again: memory-partition.ts). @default 100_000
   */
  readonly maxKeys?: number;
  /** The clock, injectable for tests. @default Date.now */
  readonly now?: () => number;
  /**
   * Names the LRU a policy's counters live in; each partition holds up to `maxKeys` keys. A
   * flood in one partition (say, identifiers a caller chooses) then cannot evict another's
   * counters (login lockouts). @default one partition for every policy
   */
  readonly partitionOf?: (policy: ResolvedPolicy) => string;
}

/** Where one policy's counters live: its partition, and the prefix of its keys there. */
interface PolicySlot {
  readonly entries: MemoryPartition;
  readonly id: string;
  /** A sliding log: its entries weigh more as they hold more timestamps, so a change is re-weighed. */
  readonly weighed: boolean;
}

/** A per-process store: exact within one process, bounded per partition (memory-partition.ts). */
export function createMemoryStore(options: MemoryStoreOptions = {}): RateLimitStore {
  const now = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? 100_000;
  const partitionOf = options.partitionOf ?? (() => '');
  // Expiry is checked against the injected clock (not lru-cache's own timer) so tests can move time.
  const partitions = new Map<string, MemoryPartition>();
  // Resolved policies live as long as their limiter, so the policy's part of the key and its
  // partition are found once per policy rather than per decision.
  const slots = new WeakMap<ResolvedPolicy, PolicySlot>();
  const slotOf = (policy: ResolvedPolicy): PolicySlot => {
    let slot = slots.get(policy);
    if (slot === undefined) {
      const name = partitionOf(policy);
      let entries = partitions.get(name);
      if (entries === undefined) {
        entries = new MemoryPartition(maxKeys, now);
        partitions.set(name, entries);
      }
      slot = { entries, id: policyCounterId(policy), weighed: policy.algorithm === 'sliding-log' };
      slots.set(policy, slot);
    }
    return slot;
  };

  return {
    kind: 'memory',
    async consume(policy, key, cost): Promise<RateLimitDecision> {
      return consumeSync(policy, key, cost);
    },
    consumeNow: consumeSync,
    async reset(policy, key) {
      const slot = slotOf(policy);
      slot.entries.delete(slot.id + key);
    },
  };

  function consumeSync(policy: ResolvedPolicy, key: string, cost: number): RateLimitDecision {
    const at = now();
    const { entries, id: policyId, weighed } = slotOf(policy);
    const id = policyId + key;
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
      // The block lasts its duration, or until the limit lets a request through again if that
      // is later: the wait announced now is then the wait every later denial announces too.
      const wait = Math.max(decision.retry_after_ms, policy.blockDurationMs);
      blockedUntil = at + wait;
      decision = { ...decision, remaining: 0, reset_ms: Math.max(decision.reset_ms, wait), retry_after_ms: wait };
    }
    if (!result.decision.allowed && blockedUntil === 0) {
      // A denial counts nothing: the stored counter stays as it was. Writing the step's view of
      // it back would lose a window that looked over only because this clock is a little behind.
      return decision;
    }
    if (stored !== undefined && weighed && weightOf(result.state) !== weightOf(stored.state)) {
      // A sliding log that crossed a weight: lru-cache weighs a value when it is set, and only
      // a new value object (setting the same object again keeps its old size).
      entries.set(id, { state: result.state, expiresAt: result.expiresAt, blockedUntil });
    } else if (stored !== undefined) {
      // get() already made it the most recently used; updating in place saves a second lookup.
      stored.state = result.state;
      stored.expiresAt = result.expiresAt;
      stored.blockedUntil = blockedUntil;
    } else if (cost > 0 || blockedUntil > 0) {
      // A look (cost 0) at a key with no counter changes nothing: storing its empty state would
      // only let a caller who looks at many keys push real counters out of the LRU.
      entries.set(id, { state: result.state, expiresAt: result.expiresAt, blockedUntil });
    }
    return decision;
  }
}

