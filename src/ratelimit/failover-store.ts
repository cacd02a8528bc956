import { WardenError } from '../errors/index.js';
import type { RateLimitMetrics } from './rate-limit-metrics.js';
import type { RateLimitStore } from './store.js';

/** What to do when Redis cannot answer. */
export type RateLimitFailurePolicy = 'fail-open' | 'fail-closed';
export const RATE_LIMIT_FAILURE_POLICIES: readonly RateLimitFailurePolicy[] = ['fail-open', 'fail-closed'];

export interface FailoverStoreOptions {
  readonly primary: RateLimitStore;
  /** `fail-open`: decide with `fallback` (per-process memory); `fail-closed`: throw a 503. */
  readonly policy: RateLimitFailurePolicy;
  readonly fallback: RateLimitStore;
  /** A decision waits at most this long for Redis. */
  readonly timeoutMs: number;
  /** After a failure, Redis is not asked again for this long (one probe then). @default 1000 */
  readonly retryAfterMs?: number;
  /** False while the connection is down, so no request waits for a timeout then. */
  readonly isReady?: () => boolean;
  readonly metrics?: RateLimitMetrics;
  readonly onError?: (error: Error) => void;
  /** Monotonic clock for the retry pause. @default performance.now */
  readonly clock?: () => number;
}

/**
 * Wraps the Redis store so that a broken Redis never hangs a request: a timeout per decision,
 * an immediate failure while the client is not connected, and a short pause after a failure
 * (one request probes again afterwards, so the limiter recovers on its own).
 */
export function createFailoverStore(options: FailoverStoreOptions): RateLimitStore {
  const clock = options.clock ?? (() => performance.now());
  const retryAfterMs = options.retryAfterMs ?? 1000;
  let pausedUntil = 0;

  const unavailable = (cause: unknown): WardenError =>
    new WardenError('service_unavailable', 'Rate limiting is temporarily unavailable; retry later', {
      cause,
      headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
    });

  function failed(error: unknown): void {
    pausedUntil = clock() + retryAfterMs;
    options.metrics?.storeErrors.inc({ store: options.primary.kind, policy_applied: options.policy });
    options.onError?.(error instanceof Error ? error : new Error(String(error)));
  }

  async function withPrimary<T>(run: (store: RateLimitStore) => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    if (clock() < pausedUntil || (options.isReady !== undefined && !options.isReady())) {
      if (options.policy === 'fail-closed') throw unavailable(new Error('rate-limit store not connected'));
      return fallback();
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        run(options.primary),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`rate-limit store timed out after ${options.timeoutMs} ms`)), options.timeoutMs);
        }),
      ]);
    } catch (error) {
      failed(error);
      if (options.policy === 'fail-closed') throw unavailable(error);
      return fallback();
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    kind: options.primary.kind,
    consume: (policy, key, cost) =>
      withPrimary(
        (store) => store.consume(policy, key, cost),
        () => options.fallback.consume(policy, key, cost),
      ),
    async reset(policy, key) {
      // Both, so that a reset during an outage is not undone when Redis returns (and vice versa).
      await options.fallback.reset(policy, key);
      await withPrimary(
        (store) => store.reset(policy, key),
        async () => undefined,
      );
    },
  };
}
