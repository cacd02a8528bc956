import { LRUCache } from 'lru-cache';
import type { Kysely } from 'kysely';
import { cacheMaxAge, isFresh } from '../cache/cache-max-age.js';
import type { InvalidationBus } from '../cache/invalidation-bus.js';
import type { DatabaseSchema } from '../storage/index.js';
import { sharedLoad } from '../cache/shared-load.js';

/** What a token check needs to know about its user. `exists: false` = deleted. */
export interface UserStatus {
  readonly exists: boolean;
  readonly isActive: boolean;
  readonly isAdmin: boolean;
}

const MISSING: UserStatus = Object.freeze({ exists: false, isActive: false, isAdmin: false });

/** A cached status and when the row it came from was read. */
interface CachedStatus {
  readonly status: UserStatus;
  readonly loadedAt: number;
}

/** Limits of a UserStatusCache and whom to tell of an unannounced change; all optional. */
export interface UserStatusCacheOptions {
  readonly maxEntries?: number;
  /** @default 30_000 */
  readonly ttlMs?: number;
  readonly now?: () => number;
  /**
   * Told when a change could not be published to other instances (Redis down); `invalidate`
   * then resolves anyway, because the change is committed and its bounds still hold.
   */
  readonly onPublishError?: (error: unknown, userId: string) => void;
}

/**
 * In-process cache of users' active/admin flags, so a guarded request does not query the
 * database. Every change publishes `{topic: 'user', id}` on the invalidation bus; each
 * instance drops the entry at once (Redis pub/sub across instances). The TTL bounds staleness
 * if a message is ever lost, and while the bus is not heard entries are served for 1 s at most.
 */
export class UserStatusCache {
  private readonly cache: LRUCache<string, CachedStatus>;
  private readonly maxAge: () => number;
  private readonly now: () => number;
  private readonly unsubscribe: () => void;
  /** Bumped by every invalidation: a read that began before one must not cache what it read. */
  private generation = 0;
  /** Reads in flight, shared by the requests that miss at the same moment (one query, not one each). */
  private readonly loading = new Map<string, Promise<UserStatus>>();

  constructor(
    private readonly db: Kysely<DatabaseSchema>,
    private readonly bus: InvalidationBus,
    private readonly options: UserStatusCacheOptions = {},
  ) {
    const ttlMs = options.ttlMs ?? 30_000;
    this.cache = new LRUCache({ max: options.maxEntries ?? 50_000, ttl: ttlMs });
    this.maxAge = cacheMaxAge(bus, ttlMs);
    this.now = options.now ?? Date.now;
    this.unsubscribe = bus.subscribe('user', (message) => {
      this.generation += 1;
      // A read begun before the change is not joined after it.
      this.loading.clear();
      if (message.id === '*') this.cache.clear();
      else this.cache.delete(message.id);
    });
  }

  /** The user's status, from cache or the database. */
  async get(userId: string): Promise<UserStatus> {
    const cached = this.cache.get(userId);
    if (cached !== undefined && isFresh(cached.loadedAt, this.now(), this.maxAge())) return cached.status;
    return sharedLoad(this.loading, userId, () => this.load(userId));
  }

  private async load(userId: string): Promise<UserStatus> {
    const generation = this.generation;
    const loadedAt = this.now();
    const row = await this.db.selectFrom('users').select(['is_active', 'is_admin']).where('id', '=', userId).executeTakeFirst();
    const status: UserStatus = row === undefined ? MISSING : { exists: true, isActive: Number(row.is_active) === 1, isAdmin: Number(row.is_admin) === 1 };
    // An invalidation that arrived while the row was read may describe a change the row predates
    // (a deactivation or demotion): caching it would keep the old status for a whole TTL.
    if (generation === this.generation) this.cache.set(userId, { status, loadedAt });
    return status;
  }

  /**
   * Tells every instance that a user changed (deactivated, deleted, admin flag); never throws.
   *
   * This instance forgets the entry before publishing, so the change holds here whatever the bus
   * does. A failed publish is reported to `onPublishError` and swallowed: the change is already
   * committed, and failing the caller would skip its session revocation and audit. Another
   * instance that misses the message still serves the old status for at most its TTL (30 s by
   * default, `ttlMs`); while its own subscription is down (Redis down) it serves entries for at
   * most UNHEARD_BUS_MAX_AGE_MS (1 s, cache-max-age.ts), and it drops every entry when the
   * subscription comes back (createRedisInvalidationBus).
   */
  async invalidate(userId: string): Promise<void> {
    this.generation += 1;
    this.loading.clear();
    this.cache.delete(userId);
    try {
      await this.bus.publish({ topic: 'user', id: userId });
    } catch (error) {
      this.options.onPublishError?.(error, userId);
    }
  }

  close(): void {
    this.unsubscribe();
    this.cache.clear();
    this.loading.clear();
  }
}
