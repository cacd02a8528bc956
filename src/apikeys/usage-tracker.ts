import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { DatabaseSchema } from '../storage/index.js';
import { inTransaction } from '../storage/index.js';

/** Usage of one key not yet written to the database. */
export interface PendingUsage {
  count: number;
  lastUsedAt: number;
  lastUsedIp: string | undefined;
}

export interface UsageTrackerOptions {
  readonly db: Kysely<DatabaseSchema>;
  /** How often the buffer is written. @default 5000 */
  readonly flushIntervalMs?: number;
  /** Keys buffered at most; reaching it starts a flush at once. @default 10_000 */
  readonly maxKeys?: number;
  readonly onError?: (error: unknown) => void;
}

/**
 * Counts key usage in memory and writes it in batches (one transaction per flush, one UPDATE
 * per key used since the last flush), so verification never writes to the database. Memory
 * is bounded by the number of distinct keys buffered; `close()` flushes what is left.
 */
export class UsageTracker {
  private buffer = new Map<string, PendingUsage>();
  private readonly timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  // Set while a flush started by a full buffer waits for its turn: one such flush takes
  // whatever the buffer holds by then, so more would only retry the same batch during an outage.
  private sizeFlushQueued = false;
  private readonly maxKeys: number;
  /** Uses that could not be buffered because the database stayed unreachable. */
  dropped = 0;

  constructor(private readonly options: UsageTrackerOptions) {
    this.maxKeys = options.maxKeys ?? 10_000;
    const interval = options.flushIntervalMs ?? 5000;
    if (interval > 0) {
      this.timer = setInterval(() => void this.flush(), interval);
      this.timer.unref();
    }
  }

  /** Records one use of a key. */
  record(keyId: string, at: number, ip: string | undefined): void {
    const entry = this.buffer.get(keyId);
    if (entry !== undefined) {
      entry.count += 1;
      if (at >= entry.lastUsedAt) {
        entry.lastUsedAt = at;
        entry.lastUsedIp = ip ?? entry.lastUsedIp;
      }
      return;
    }
    // During a database outage failed batches are kept; past twice the bound, usage of keys
    // not yet buffered is dropped (counted in `dropped`) rather than growing without limit.
    if (this.buffer.size >= this.maxKeys * 2) {
      this.dropped += 1;
      return;
    }
    this.buffer.set(keyId, { count: 1, lastUsedAt: at, lastUsedIp: ip });
    if (this.buffer.size >= this.maxKeys && !this.sizeFlushQueued) {
      this.sizeFlushQueued = true;
      this.flushing = this.flushing.then(() => {
        this.sizeFlushQueued = false;
        return this.writeBuffer();
      });
      void this.flushing;
    }
  }

  /** What this instance has counted for a key but not written yet. */
  pending(keyId: string): PendingUsage | undefined {
    return this.buffer.get(keyId);
  }

  /** Number of keys waiting in the buffer. */
  get size(): number {
    return this.buffer.size;
  }

  /** Writes the buffer; flushes run one after another. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writeBuffer());
    return this.flushing;
  }

  /** Stops the timer and writes everything that is left. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.flush();
  }

  private async writeBuffer(): Promise<void> {
    if (this.buffer.size === 0) return;
    const batch = this.buffer;
    this.buffer = new Map();
    try {
      // In key-id order: instances flushing the same keys then lock their rows in one order,
      // instead of in the order each first saw them, which deadlocks on PostgreSQL.
      const ordered = [...batch].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      await inTransaction(this.options.db, async (trx) => {
        for (const [keyId, usage] of ordered) {
          await trx
            .updateTable('api_keys')
            .set({
              usage_count: sql<number>`usage_count + ${usage.count}`,
              last_used_at: sql<number>`CASE WHEN last_used_at IS NULL OR last_used_at < ${usage.lastUsedAt} THEN ${usage.lastUsedAt} ELSE last_used_at END`,
              last_used_ip: sql<string | null>`CASE WHEN last_used_at IS NULL OR last_used_at <= ${usage.lastUsedAt} THEN ${usage.lastUsedIp ?? null} ELSE last_used_ip END`,
            })
            .where('id', '=', keyId)
            .execute();
        }
      });
    } catch (error) {
      // Put the batch back (merged with what arrived meanwhile) so a failed write loses
      // nothing while there is room. Keys that arrived meanwhile filled a fresh buffer, so the
      // bound is applied here too: otherwise every failed flush would let in another 2 × maxKeys.
      for (const [keyId, usage] of batch) {
        const newer = this.buffer.get(keyId);
        if (newer === undefined) {
          if (this.buffer.size >= this.maxKeys * 2) this.dropped += usage.count;
          else this.buffer.set(keyId, usage);
        } else {
          newer.count += usage.count;
          if (usage.lastUsedAt > newer.lastUsedAt) Object.assign(newer, { lastUsedAt: usage.lastUsedAt, lastUsedIp: usage.lastUsedIp });
        }
      }
      this.options.onError?.(error);
    }
  }
}
