import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  handleWhen,
  IsolatedCircuitError,
  SamplingBreaker,
  TaskCancelledError,
  timeout,
  TimeoutStrategy,
  wrap,
  type IBreaker,
} from 'cockatiel';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { WardenError } from '../errors/index.js';
import { breakerMetrics, type BreakerMetrics } from './breaker-metrics.js';
import type { FallbackCache } from './fallback-cache.js';

/** When the circuit opens: after N consecutive failures, or when the failure ratio in a window is too high. */
export type OpeningPolicy =
  | { readonly kind: 'consecutive'; readonly failures: number }
  | {
      readonly kind: 'ratio';
      readonly ratio: number;
      readonly windowMs: number;
      readonly minimumRps?: number;
    };

export interface CircuitBreakerOptions {
  /** Names the breaker in logs and metrics, e.g. 'llm'. */
  readonly name: string;
  /** Per-call timeout; the call's AbortSignal fires then. @default 5000 */
  readonly timeoutMs?: number;
  /** @default { kind: 'consecutive', failures: 5 } */
  readonly opening?: OpeningPolicy;
  /** Time in the open state before one probe call is let through (half-open). @default 30000 */
  readonly halfOpenAfterMs?: number;
  /** Last good results, served while the circuit is open or a call fails. Unset = no fallback. */
  readonly fallbackCache?: FallbackCache;
  /** Which errors count against the upstream; others propagate unchanged and are not counted. @default every error */
  readonly isFailure?: (error: Error) => boolean;
  readonly logger?: Logger;
  readonly metricsRegistry?: Registry;
  /** @default Date.now (cockatiel itself reads Date.now for the half-open delay) */
  readonly now?: () => number;
}

export type BreakerState = 'closed' | 'open' | 'half_open' | 'isolated';

/** Why a call was answered from the fallback cache or failed. */
export type DegradedReason = 'circuit_open' | 'upstream_timeout' | 'upstream_error';

/** A live answer, or the last good one with its age when the upstream could not give one. */
export type BreakerResult<T> =
  | { readonly source: 'live'; readonly value: T }
  | {
      readonly source: 'stale-cache';
      readonly value: T;
      readonly ageMs: number;
      readonly reason: DegradedReason;
    };

export interface CircuitBreaker {
  readonly name: string;
  state(): BreakerState;
  /**
   * Runs `fn` under the timeout and the breaker. On success the value is remembered under
   * `key`; when the circuit is open or the call fails, the remembered value is returned as
   * stale, or a WardenError (`circuit_open` 503, `upstream_timeout` 504, `upstream_error` 502)
   * is thrown when there is none. Values must survive JSON (they may be stored in Redis).
   */
  call<T>(key: string, fn: (signal: AbortSignal) => Promise<T>): Promise<BreakerResult<T>>;
  /** Holds the circuit open (maintenance, tests) until the handle is disposed. */
  isolate(): { dispose(): void };
  /** Removes event listeners. */
  dispose(): void;
}

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'isolated',
};

/** Builds a breaker on cockatiel (timeout inside, circuit breaker outside). */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const name = options.name;
  const timeoutMs = options.timeoutMs ?? 5000;
  const halfOpenAfterMs = options.halfOpenAfterMs ?? 30_000;
  const opening = options.opening ?? { kind: 'consecutive', failures: 5 };
  const now = options.now ?? Date.now;
  const logger = options.logger;
  const cache = options.fallbackCache;
  if (!/^[a-z][a-z0-9_-]{0,63}$/.test(name))
    throw new TypeError('breaker name must be a short lowercase identifier');
  if (!(timeoutMs > 0) || !(halfOpenAfterMs > 0))
    throw new TypeError('timeoutMs and halfOpenAfterMs must be positive');

  const isFailure = options.isFailure ?? (() => true);
  const breakerPolicy = circuitBreaker(
    handleWhen((error) => error instanceof TaskCancelledError || isFailure(error)),
    { halfOpenAfter: halfOpenAfterMs, breaker: makeBreaker(opening) },
  );
  const policy = wrap(breakerPolicy, timeout(timeoutMs, TimeoutStrategy.Aggressive));
  const metrics: BreakerMetrics | undefined =
    options.metricsRegistry === undefined ? undefined : breakerMetrics(options.metricsRegistry);
  metrics?.state.set({ breaker: name }, 0);

  const listeners = [
    breakerPolicy.onBreak(() =>
      logger?.warn({ breaker: name, event: 'circuit_opened' }, 'circuit breaker opened'),
    ),
    breakerPolicy.onHalfOpen(() =>
      logger?.info({ breaker: name, event: 'circuit_half_open' }, 'circuit breaker half-open: probing'),
    ),
    breakerPolicy.onReset(() =>
      logger?.info({ breaker: name, event: 'circuit_closed' }, 'circuit breaker closed'),
    ),
    breakerPolicy.onStateChange((state) => metrics?.state.set({ breaker: name }, state)),
  ];

  const degrade = async <T>(
    key: string,
    reason: DegradedReason,
    cause: unknown,
  ): Promise<BreakerResult<T>> => {
    const cached = cache === undefined ? undefined : await cache.get(name, key);
    if (cached !== undefined) {
      metrics?.fallbacks.inc({ breaker: name, result: 'stale' });
      return {
        source: 'stale-cache',
        value: cached.value as T,
        ageMs: Math.max(0, now() - cached.storedAt),
        reason,
      };
    }
    metrics?.fallbacks.inc({ breaker: name, result: 'none' });
    const headers =
      reason === 'circuit_open' ? { 'retry-after': String(Math.ceil(halfOpenAfterMs / 1000)) } : undefined;
    const message =
      reason === 'circuit_open'
        ? `The upstream "${name}" is unavailable (circuit open) and no cached result exists`
        : reason === 'upstream_timeout'
          ? `The upstream "${name}" did not answer within ${timeoutMs} ms and no cached result exists`
          : `The upstream "${name}" failed and no cached result exists`;
    throw new WardenError(reason, message, { cause, headers, fields: { breaker: name } });
  };

  return {
    name,
    state: () => STATE_NAMES[breakerPolicy.state],
    async call<T>(key: string, fn: (signal: AbortSignal) => Promise<T>): Promise<BreakerResult<T>> {
      let value: T;
      try {
        value = await policy.execute(({ signal }) => fn(signal));
      } catch (error) {
        if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
          metrics?.calls.inc({ breaker: name, outcome: 'rejected' });
          return degrade<T>(key, 'circuit_open', error);
        }
        if (error instanceof TaskCancelledError) {
          metrics?.calls.inc({ breaker: name, outcome: 'timeout' });
          return degrade<T>(key, 'upstream_timeout', error);
        }
        if (error instanceof Error && isFailure(error)) {
          metrics?.calls.inc({ breaker: name, outcome: 'failure' });
          return degrade<T>(key, 'upstream_error', error);
        }
        throw error;
      }
      metrics?.calls.inc({ breaker: name, outcome: 'success' });
      if (cache !== undefined) await cache.set(name, key, { value, storedAt: now() });
      return { source: 'live', value };
    },
    isolate: () => breakerPolicy.isolate(),
    dispose() {
      for (const listener of listeners) listener.dispose();
    },
  };
}

/** The longest sampling window of a ratio breaker (one hour: 3600 one-second buckets). */
const MAX_SAMPLING_WINDOW_MS = 3_600_000;

function makeBreaker(opening: OpeningPolicy): IBreaker {
  if (opening.kind === 'consecutive') {
    if (!Number.isInteger(opening.failures) || opening.failures < 1)
      throw new TypeError('opening.failures must be a positive integer');
    return new ConsecutiveBreaker(opening.failures);
  }
  // cockatiel refuses a threshold of 1 itself (with a RangeError, after accepting it here).
  if (!(opening.ratio > 0 && opening.ratio < 1)) throw new TypeError('opening.ratio must be in (0, 1)');
  // cockatiel keeps one bucket per second of the window: an unbounded window is unbounded
  // memory, and NaN leaves it without buckets at all (the first call would then throw).
  if (!Number.isSafeInteger(opening.windowMs) || opening.windowMs < 1 || opening.windowMs > MAX_SAMPLING_WINDOW_MS)
    throw new TypeError(`opening.windowMs must be an integer from 1 to ${MAX_SAMPLING_WINDOW_MS}`);
  if (opening.minimumRps !== undefined && !(Number.isFinite(opening.minimumRps) && opening.minimumRps >= 0))
    throw new TypeError('opening.minimumRps must be a finite number >= 0');
  return new SamplingBreaker({
    threshold: opening.ratio,
    duration: opening.windowMs,
    ...(opening.minimumRps === undefined ? {} : { minimumRps: opening.minimumRps }),
  });
}

/** The `Warden-Degraded` header value for a stale answer, e.g. `stale-cache; age=42; reason=circuit_open`. */
export function degradedHeader(result: { readonly ageMs: number; readonly reason: DegradedReason }): string {
  return `stale-cache; age=${Math.floor(result.ageMs / 1000)}; reason=${result.reason}`;
}

/** Name of the response header that marks an answer served from the fallback cache. */
export const DEGRADED_HEADER = 'warden-degraded';
