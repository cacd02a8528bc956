import { LRUCache } from 'lru-cache';
import { expect, it } from 'vitest';
import { MemoryPartition, weightOf, type MemoryEntry } from '../../src/ratelimit/memory-partition.js';

/**
 * Memory is bounded by twice `maxKeys` counters per partition (docs/ratelimit.md), with sliding
 * logs weighed by their timestamps. A block set aside when the LRU evicts it keeps only its end
 * time, so a partition full of blocked logs (e.g. `1000/60s block 15m` per IPv6 /64 with the
 * sliding-log algorithm) stays within that bound, and each block still holds until it ends.
 */

/** Sums the weight of every entry a partition retains, wherever it keeps it. */
function retainedWeight(partition: MemoryPartition): number {
  let total = 0;
  for (const value of Object.values(partition as unknown as Record<string, unknown>)) {
    if (value instanceof LRUCache || value instanceof Map) {
      for (const entry of (value as Map<string, MemoryEntry>).values()) total += weightOf(entry.state);
    }
  }
  return total;
}

it('keeps a partition (LRU plus blocks set aside) within twice maxKeys counters', () => {
  const now = 1_800_000_000_000;
  const maxKeys = 100;
  const partition = new MemoryPartition(maxKeys, () => now);
  // What the memory store holds for a sliding log at limit 1000 that went over and is blocked.
  for (let i = 0; i < 1000; i += 1) {
    partition.set(`sliding-log:1000:60000:4:http:ip6:2001:db8:${i.toString(16)}:0::/64`, {
      state: { kind: 'log', entries: Array.from({ length: 1000 }, () => now) },
      expiresAt: now + 60_000,
      blockedUntil: now + 900_000,
    });
  }
  // The documented bound: maxKeys counters in the LRU plus as many again for the blocks.
  expect(retainedWeight(partition)).toBeLessThanOrEqual(2 * maxKeys);
  // A block evicted from the LRU and set aside still holds, until it ends.
  const evicted = partition.get(`sliding-log:1000:60000:4:http:ip6:2001:db8:${(1000 - maxKeys - 1).toString(16)}:0::/64`);
  expect(evicted?.blockedUntil).toBe(now + 900_000);
});
