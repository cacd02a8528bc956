/** The answer to one rate-limit decision. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  /** The policy's limit (requests or cost units per window). */
  readonly limit: number;
  readonly remaining: number;
  /** Milliseconds until the window resets (or the bucket is full again). */
  readonly reset_ms: number;
  /** Milliseconds to wait before retrying; 0 when allowed. */
  readonly retry_after_ms: number;
}

/** One limiter: an algorithm over a store, for one policy. */
export interface RateLimiter {
  limit(key: string, cost?: number): Promise<RateLimitDecision>;
  /**
   * `limit` answered without waiting when the counters are in this process (memory store):
   * the same decision, without a promise. Absent when every decision needs I/O (Redis).
   */
  readonly limitNow?: (key: string, cost?: number) => RateLimitDecision;
  /** Forgets a key (e.g. a successful login resets the account's failure counter). */
  reset(key: string): Promise<void>;
}
