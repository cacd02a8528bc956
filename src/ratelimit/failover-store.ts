import { WardenError } from '../errors/index.js';
import type { RateLimitMetrics } from './rate-limit-metrics.js';
import type { RateLimitDecision } from './rate-limiter.js';
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

/** One call to the primary that has not settled yet. */
class Pending {
  /** False once the call resolved, failed or timed out: whichever comes first wins. */
  open = true;
  prev: Pending | undefined = undefined;
  next: Pending | undefined = undefined;
  constructor(
    /** `performance.now()` after which the call counts as timed out. */
    readonly deadline: number,
    readonly timeOut: (error: Error) => void,
  ) {}
}

/**
 * Deadlines of every call in flight, with one timer for all of them. Arming a timer per
 * decision (setTimeout + clearTimeout, plus a Promise.race) was a measurable part of a Redis
 * decision's client-side cost (bench/README.md, rate limiting). Every call of one store has the
 * same timeout and the clock is monotonic, so deadlines arrive in FIFO order: a list whose head
 * is the next deadline, and a single timer armed for that head, bound each call exactly as a
 * timer of its own would (to the timer's usual precision). A settled call is unlinked at once,
 * so it dies young instead of lingering until a sweep (which showed up as garbage-collector time).
 */
class DeadlineList {
  private head: Pending | undefined;
  private tail: Pending | undefined;
  /** Calls not yet settled; the timer keeps the process alive only while there are some. */
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(private readonly timeoutMs: number) {}

  add(timeOut: (error: Error) => void): Pending {
    const entry = new Pending(performance.now() + this.timeoutMs, timeOut);
    entry.prev = this.tail;
    if (this.tail === undefined) this.head = entry;
    else this.tail.next = entry;
    this.tail = entry;
    this.count += 1;
    // While sweeping, the sweep itself arms the timer for whatever is left.
    if (this.timer === undefined) {
      if (!this.sweeping) this.arm(entry.deadline);
    } else if (this.count === 1) this.timer.ref();
    return entry;
  }

  /** Unlinks a call; false if it had already settled (e.g. timed out before Redis answered). */
  settle(entry: Pending): boolean {
    if (!entry.open) return false;
    entry.open = false;
    const { prev, next } = entry;
    if (prev === undefined) this.head = next;
    else prev.next = next;
    if (next === undefined) this.tail = prev;
    else next.prev = prev;
    entry.prev = undefined;
    entry.next = undefined;
    this.count -= 1;
    // Nothing left to bound: an armed timer must not hold the process open on its own.
    if (this.count === 0) this.timer?.unref();
    return true;
  }

  private arm(deadline: number): void {
    this.timer = setTimeout(() => this.sweep(), Math.max(1, Math.ceil(deadline - performance.now())));
    if (this.count === 0) this.timer.unref();
  }

  /**
   * Under load the timer usually finds its call long settled: it then only re-arms for the
   * current head, so it fires about once per timeout period, not once per decision.
   */
  private sweep(): void {
    this.timer = undefined;
    this.sweeping = true;
    const now = performance.now();
    // A timer may fire a fraction of a millisecond before the deadline; that call waits a round.
    for (let entry = this.head; entry !== undefined && entry.deadline <= now; entry = this.head) {
      this.settle(entry);
      entry.timeOut(new Error(`rate-limit store timed out after ${this.timeoutMs} ms`));
    }
    this.sweeping = false;
    if (this.head !== undefined) this.arm(this.head.deadline);
  }
}

/**
 * Wraps the Redis store so that a broken Redis never hangs a request: a timeout per decision,
 * an immediate failure while the client is not connected, and a short pause after a failure
 * (one request probes again afterwards, so the limiter recovers on its own).
 */
export function createFailoverStore(options: FailoverStoreOptions): RateLimitStore {
  const clock = options.clock ?? (() => performance.now());
  const retryAfterMs = options.retryAfterMs ?? 1000;
  const { primary, policy: failurePolicy, isReady } = options;
  const deadlines = new DeadlineList(options.timeoutMs);
  let pausedUntil = 0;
  /** True while the one decision that probes Redis after a pause is in flight. */
  let probing = false;

  const unavailable = (cause: unknown): WardenError =>
    new WardenError('service_unavailable', 'Rate limiting is temporarily unavailable; retry later', {
      cause,
      headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
    });

  function failed(error: unknown): void {
    pausedUntil = clock() + retryAfterMs;
    options.metrics?.storeErrors.inc({ store: primary.kind, policy_applied: failurePolicy });
    options.onError?.(error instanceof Error ? error : new Error(String(error)));
  }

  /**
   * Runs `run` against the primary, bounded by the timeout; on failure applies the policy.
   * Deliberately not an async function with a Promise.race: one promise and two callbacks per
   * decision instead of four promises and a timer (this is the hot path of every request).
   */
  function withPrimary<T>(run: (store: RateLimitStore) => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    const skip = (): Promise<T> => (failurePolicy === 'fail-closed' ? Promise.reject(unavailable(new Error('rate-limit store not connected'))) : fallback());
    if (isReady !== undefined && !isReady()) return skip();
    // `pausedUntil !== 0` first: no clock read per decision until Redis has failed once. After
    // the pause exactly one decision probes; the others keep applying the policy until it has
    // answered, so a hung Redis costs one request the timeout per pause, not every request.
    let probe = false;
    if (pausedUntil !== 0) {
      if (probing || clock() < pausedUntil) return skip();
      probing = true;
      probe = true;
    }
    return new Promise<T>((resolve, reject) => {
      const fail = (error: unknown): void => {
        if (probe) probing = false;
        // Runs from a promise callback or the deadline timer: a throw here must still settle
        // this decision (as it did inside the former async function), never escape.
        try {
          failed(error);
          if (failurePolicy === 'fail-closed') reject(unavailable(error));
          else resolve(fallback());
        } catch (thrown) {
          reject(thrown);
        }
      };
      const entry = deadlines.add(fail);
      let result: Promise<T>;
      try {
        result = run(primary);
      } catch (error) {
        // A store that throws instead of rejecting still gets the failure policy.
        result = Promise.reject(error);
      }
      result.then(
        (value) => {
          if (!deadlines.settle(entry)) return;
          if (probe) {
            probing = false;
            pausedUntil = 0;
          }
          resolve(value);
        },
        (error: unknown) => {
          // After a timeout the late answer (or error) is ignored, as Promise.race did.
          if (deadlines.settle(entry)) fail(error);
        },
      );
    });
  }

  /**
   * Until when (on `clock`) the fallback may hold a block the primary never saw: the end of the
   * longest wait it announced. 0 = none, and then a decision costs nothing more.
   */
  let fallbackHoldsUntil = 0;
  /** Decisions the fallback itself made: already its answer, so not looked up in it again. */
  const decidedByFallback = new WeakSet<RateLimitDecision>();

  return {
    kind: primary.kind,
    consume: (policy, key, cost) => {
      const decided = withPrimary(
        (store) => store.consume(policy, key, cost),
        () =>
          options.fallback.consume(policy, key, cost).then((decision) => {
            if (!decision.allowed) fallbackHoldsUntil = Math.max(fallbackHoldsUntil, clock() + decision.retry_after_ms);
            decidedByFallback.add(decision);
            return decision;
          }),
      );
      if (fallbackHoldsUntil === 0) return decided;
      if (clock() >= fallbackHoldsUntil) {
        fallbackHoldsUntil = 0;
        return decided;
      }
      // A block started in memory during an outage (a login lockout) is not in Redis: it must
      // not end when Redis answers again. A look (cost 0) denies only while a block is in force.
      return decided.then(async (decision) => {
        if (!decision.allowed || decidedByFallback.has(decision)) return decision;
        const held = await options.fallback.consume(policy, key, 0);
        return held.allowed ? decision : held;
      });
    },
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
