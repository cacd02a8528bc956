import { LRUCache } from 'lru-cache';
import type { AlgorithmState } from './memory-algorithms.js';

/** One key's counter in memory. */
export interface MemoryEntry {
  state: AlgorithmState | undefined;
  expiresAt: number;
  blockedUntil: number;
}

/**
 * The counters of one partition of the memory store: an LRU of at most `maxKeys` keys, so a
 * flood of distinct keys costs bounded memory. Forgetting a quiet key's counter early errs
 * towards allowing that key, which is acceptable for a count, but not for a block that is in
 * force (a locked account): those are set aside when the LRU evicts them, in a second map of
 * at most `maxKeys` blocks (their end time only), until they end. A flood would have to get that many keys blocked
 * (each costing its policy's limit in requests) to push a block out of it.
 */
export class MemoryPartition {
  private readonly entries: LRUCache<string, MemoryEntry>;
  /** Blocks the LRU evicted while still in force, oldest first (Map keeps insertion order). */
  private readonly blocks = new Map<string, MemoryEntry>();

  constructor(
    private readonly maxKeys: number,
    private readonly now: () => number,
  ) {
    this.entries = new LRUCache<string, MemoryEntry>({
      max: maxKeys,
      // A sliding log keeps a timestamp per request it counts: weighed by them, a flood of logs
      // with large limits costs what as many plain counters would, not a hundredfold.
      maxSize: maxKeys,
      sizeCalculation: (entry) => weightOf(entry.state),
      dispose: (entry, id, reason) => {
        if (reason === 'evict' && entry.blockedUntil > this.now()) this.setAside(id, entry);
      },
    });
  }

  /** The key's entry, marked most recently used; a block set aside comes back into the LRU. */
  get(id: string): MemoryEntry | undefined {
    const entry = this.entries.get(id);
    if (entry !== undefined || this.blocks.size === 0) return entry;
    const block = this.blocks.get(id);
    if (block === undefined) return undefined;
    this.blocks.delete(id);
    this.entries.set(id, block);
    return block;
  }

  /** Stores an entry (a new object: lru-cache weighs a value when it is set). */
  set(id: string, entry: MemoryEntry): void {
    this.entries.set(id, entry);
  }

  delete(id: string): void {
    this.entries.delete(id);
    this.blocks.delete(id);
  }

  private setAside(id: string, entry: MemoryEntry): void {
    if (this.blocks.size >= this.maxKeys) {
      const at = this.now();
      for (const [key, block] of this.blocks) if (block.blockedUntil <= at) this.blocks.delete(key);
      // Still full of blocks in force: the oldest goes, so memory stays bounded.
      if (this.blocks.size >= this.maxKeys) {
        const oldest = this.blocks.keys().next();
        if (oldest.done !== true) this.blocks.delete(oldest.value);
      }
    }
    // Only the block is kept: a blocked sliding log's timestamps would make each set-aside entry
    // weigh up to 63 counters, unweighed here. Its count is forgotten, which errs towards
    // allowing once the block ends, as the LRU's own eviction does.
    this.blocks.set(id, { state: undefined, expiresAt: 0, blockedUntil: entry.blockedUntil });
  }
}

/** Timestamps of a sliding log that weigh as much as one plain counter (a few numbers and an object). */
const LOG_ENTRIES_PER_KEY = 16;

/** What an entry with this state counts against `maxKeys`: 1 for a counter, more for a sliding log with many timestamps. */
export function weightOf(state: MemoryEntry['state']): number {
  return state?.kind === 'log' ? 1 + Math.floor(state.entries.length / LOG_ENTRIES_PER_KEY) : 1;
}
