import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { closeRedisClient } from '../cache/invalidation-bus.js';

/** A value remembered from the last successful call, with the time it was stored. */
export interface CachedResult {
  readonly value: unknown;
  /** Epoch milliseconds. */
  readonly storedAt: number;
}

/**
 * Where a circuit breaker keeps the last good result per key. Implementations must never throw
 * from `get`/`set` for backend trouble (a broken cache must not turn a working upstream into a
 * failure): they report it through `onError` and behave as a miss.
 */
export interface FallbackCache {
  get(breaker: string, key: string): Promise<CachedResult | undefined>;
  set(breaker: string, key: string, entry: CachedResult): Promise<void>;
  close(): Promise<void>;
}

export interface FallbackCacheOptions {
  /** Entries older than this are dropped (and never served). @default 3_600_000 (1 h) */
  readonly maxAgeMs?: number;
  /** Memory only: entries kept. @default 1000 */
  readonly maxEntries?: number;
  /** Memory only: the clock. @default Date.now */
  readonly now?: () => number;
}

// Callers' keys may be derived from request data; the cache never stores them raw.
function digestKey(breaker: string, key: string): string {
  return createHash('sha256').update(breaker).update('\0').update(key).digest('base64url');
}

/** An in-process cache (one instance only), bounded in entries and age. */
export function createMemoryFallbackCache(options: FallbackCacheOptions = {}): FallbackCache {
  const maxAgeMs = options.maxAgeMs ?? 3_600_000;
  const now = options.now ?? Date.now;
  const cache = new LRUCache<string, CachedResult>({ max: options.maxEntries ?? 1000 });
  return {
    async get(breaker, key) {
      const entry = cache.get(digestKey(breaker, key));
      if (entry === undefined) return undefined;
      return now() - entry.storedAt > maxAgeMs ? undefined : entry;
    },
    async set(breaker, key, entry) {
      cache.set(digestKey(breaker, key), entry);
    },
    async close() {
      cache.clear();
    },
  };
}

export interface RedisFallbackCacheOptions extends FallbackCacheOptions {
  readonly redis: Redis;
  /** Prefix of every key. @default 'warden:breaker:' */
  readonly keyPrefix?: string;
  /** Backend failures (logged by the caller); the operation then acts as a miss. */
  readonly onError?: (error: Error) => void;
  /** Close the connection on `close()` (when the cache opened it). @default false */
  readonly ownsConnection?: boolean;
}

/** A cache shared by every instance through Redis; entries expire after `maxAgeMs`. */
export function createRedisFallbackCache(options: RedisFallbackCacheOptions): FallbackCache {
  const { redis } = options;
  const maxAgeMs = options.maxAgeMs ?? 3_600_000;
  const prefix = options.keyPrefix ?? 'warden:breaker:';
  const now = options.now ?? Date.now;
  const onError = options.onError ?? (() => undefined);
  return {
    async get(breaker, key) {
      try {
        const raw = await redis.get(prefix + digestKey(breaker, key));
        if (raw === null) return undefined;
        const entry = JSON.parse(raw) as CachedResult;
        if (typeof entry.storedAt !== 'number' || now() - entry.storedAt > maxAgeMs) return undefined;
        return entry;
      } catch (error) {
        onError(error as Error);
        return undefined;
      }
    },
    async set(breaker, key, entry) {
      try {
        await redis.set(prefix + digestKey(breaker, key), JSON.stringify(entry), 'PX', maxAgeMs);
      } catch (error) {
        onError(error as Error);
      }
    },
    async close() {
      if (options.ownsConnection !== true) return;
      await closeRedisClient(redis);
    },
  };
}
