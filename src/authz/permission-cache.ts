import { isFresh } from '../cache/cache-max-age.js';
import type { ResolvedGrant } from './effective-permissions.js';

interface SubjectEntry {
  /** Age of the oldest data in the entry: it expires when that does. */
  loadedAt: number;
  readonly byScope: Map<string, readonly ResolvedGrant[]>;
}

export interface PermissionCacheOptions {
  /**
   * Entries older than this are reloaded even without an invalidation (a lost pub/sub message).
   * A function is asked at each read (cacheMaxAge: shorter while the bus is not heard). @default 30_000
   */
  readonly ttlMs?: number | (() => number);
  /** Subjects kept; the oldest are dropped first. @default 10_000 */
  readonly maxSubjects?: number;
  /**
   * Scopes kept per subject; the oldest are dropped first. Callers of /v1/authz/check choose the
   * scope strings, so without a bound one subject's entry could grow with every scope asked
   * about. @default 64
   */
  readonly maxScopesPerSubject?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Effective permissions per subject and scope. Invalidation bumps a generation counter so
 * that a load that started before a change cannot store its (stale) result afterwards.
 */
export class PermissionCache {
  readonly #entries = new Map<string, SubjectEntry>();
  readonly #maxAge: () => number;
  readonly #maxSubjects: number;
  readonly #maxScopes: number;
  readonly #now: () => number;
  #generation = 0;

  constructor(options: PermissionCacheOptions = {}) {
    const ttlMs = options.ttlMs ?? 30_000;
    this.#maxAge = typeof ttlMs === 'number' ? () => ttlMs : ttlMs;
    this.#maxSubjects = options.maxSubjects ?? 10_000;
    this.#maxScopes = options.maxScopesPerSubject ?? 64;
    this.#now = options.now ?? Date.now;
  }

  /** The current generation; pass it back to `set` so stale loads are discarded. */
  generation(): number {
    return this.#generation;
  }

  /** Cached grants, or undefined on a miss or expiry. */
  get(subject: string, scope: string | undefined): readonly ResolvedGrant[] | undefined {
    const entry = this.#entries.get(subject);
    if (entry === undefined) return undefined;
    if (!isFresh(entry.loadedAt, this.#now(), this.#maxAge())) {
      this.#entries.delete(subject);
      return undefined;
    }
    return entry.byScope.get(scope ?? '');
  }

  /**
   * Stores a load result unless something was invalidated since `generation`. `dataAt` is when
   * the oldest data the result was computed from was read (default: now); the entry expires
   * that long after it, so a result built from an already aging role table cannot outlive
   * the TTL bound on a lost invalidation.
   */
  set(subject: string, scope: string | undefined, grants: readonly ResolvedGrant[], generation: number, dataAt: number = this.#now()): void {
    if (generation !== this.#generation) return;
    let entry = this.#entries.get(subject);
    if (entry !== undefined && dataAt < entry.loadedAt) entry.loadedAt = dataAt;
    if (entry === undefined) {
      if (this.#entries.size >= this.#maxSubjects) {
        const oldest = this.#entries.keys().next();
        if (oldest.done !== true) this.#entries.delete(oldest.value);
      }
      entry = { loadedAt: dataAt, byScope: new Map() };
      this.#entries.set(subject, entry);
    }
    const key = scope ?? '';
    if (!entry.byScope.has(key) && entry.byScope.size >= this.#maxScopes) {
      const oldest = entry.byScope.keys().next();
      if (oldest.done !== true) entry.byScope.delete(oldest.value);
    }
    entry.byScope.set(key, grants);
  }

  /** Forgets one subject ('*' = everyone). */
  invalidate(subject: string): void {
    this.#generation += 1;
    if (subject === '*') this.#entries.clear();
    else this.#entries.delete(subject);
  }
}
