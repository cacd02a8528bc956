import type { InvalidationBus } from './invalidation-bus.js';

/**
 * The oldest a cached answer may be while the invalidation bus is not heard. It matches the
 * revocation bound of API keys (visible everywhere within 1 s), so a Redis outage costs at most
 * one database read per cached item per second instead of a whole TTL of stale answers.
 */
export const UNHEARD_BUS_MAX_AGE_MS = 1000;

/**
 * How old a cached answer may be right now: `ttlMs` while the bus delivers other instances'
 * invalidations, at most UNHEARD_BUS_MAX_AGE_MS while it may be missing them.
 */
export function cacheMaxAge(bus: InvalidationBus | undefined, ttlMs: number): () => number {
  const isListening = bus?.isListening?.bind(bus);
  if (isListening === undefined) return () => ttlMs;
  const unheard = Math.min(ttlMs, UNHEARD_BUS_MAX_AGE_MS);
  return () => (isListening() ? ttlMs : unheard);
}

/**
 * Whether an entry loaded at `loadedAt` may still answer at `now`. An entry from the future (the
 * clock stepped back since it was loaded) is stale, not fresh for as long as the step.
 */
export function isFresh(loadedAt: number, now: number, maxAgeMs: number): boolean {
  const age = now - loadedAt;
  return age >= 0 && age < maxAgeMs;
}
