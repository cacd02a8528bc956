import { EventEmitter } from 'node:events';
import {
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  retry,
  wrap,
  type IPolicy,
} from 'cockatiel';
import { TokenEndpointError } from './token-endpoint-error.js';
import type { GetTokenOptions, IssuedToken, TokenProvider, TokenSource } from './token-provider.js';

export interface RotatingTokenOptions {
  /** Refresh this long before expiry (capped at half the token's lifetime). @default 60000 */
  readonly refreshMarginMs?: number;
  /** Attempts per refresh, including the first. @default 3 */
  readonly maxAttempts?: number;
  /** First retry delay; doubles with jitter up to maxDelayMs. @default 100 */
  readonly initialDelayMs?: number;
  /** @default 5000 */
  readonly maxDelayMs?: number;
  /** Open the breaker after this many consecutive failed refreshes. @default 5 */
  readonly breakerThreshold?: number;
  /** How long the breaker stays open before a probe. @default 30000 */
  readonly breakerHalfOpenAfterMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface RotatingTokenEvents {
  refresh: [info: { expiresAt: number | undefined }];
  failure: [info: { error: Error }];
}

/** Errors that a retry can heal: network trouble, 5xx, 429 — not bad credentials or scopes. */
const retryable = handleWhen((error) => !(error instanceof TokenEndpointError) || error.retryable);

/**
 * A token provider that keeps a token from any source fresh: refreshes before expiry, shares
 * one in-flight refresh among all concurrent callers, retries transient failures with
 * exponential backoff inside a circuit breaker (so a dead token endpoint is not hammered),
 * and emits `refresh` / `failure` events.
 */
export class RotatingToken extends EventEmitter<RotatingTokenEvents> implements TokenProvider {
  private current: (IssuedToken & { obtainedAt: number }) | undefined;
  private inFlight: Promise<string> | undefined;
  private readonly policy: IPolicy;
  private readonly now: () => number;
  private readonly marginMs: number;

  constructor(
    private readonly source: TokenSource,
    options: RotatingTokenOptions = {},
  ) {
    super();
    this.now = options.now ?? Date.now;
    this.marginMs = options.refreshMarginMs ?? 60_000;
    const retryPolicy = retry(retryable, {
      maxAttempts: Math.max(0, (options.maxAttempts ?? 3) - 1),
      backoff: new ExponentialBackoff({ initialDelay: options.initialDelayMs ?? 100, maxDelay: options.maxDelayMs ?? 5000 }),
    });
    const breaker = circuitBreaker(retryable, {
      halfOpenAfter: options.breakerHalfOpenAfterMs ?? 30_000,
      breaker: new ConsecutiveBreaker(options.breakerThreshold ?? 5),
    });
    this.policy = wrap(breaker, retryPolicy);
  }

  /**
   * The current token, refreshed first when it is near expiry. `forceRefresh` replaces it
   * unconditionally; `rejected` (the token an API just refused) replaces it only if it is
   * still the cached one, so a burst of 401s causes one refresh, not one per request.
   */
  async getToken(options: GetTokenOptions = {}): Promise<string> {
    const cached = this.current;
    const stale = options.forceRefresh === true || (options.rejected !== undefined && cached?.value === options.rejected);
    if (cached !== undefined && !stale && !this.nearExpiry(cached)) return cached.value;
    const refreshing = (this.inFlight ??= this.refresh().finally(() => {
      this.inFlight = undefined;
    }));
    if (cached === undefined || stale) return refreshing;
    // Refreshing early is there to ride over a short outage of the token endpoint: while the
    // token has not expired, a failed refresh (already emitted as `failure`) still serves it.
    return refreshing.catch((error: unknown) => {
      if (cached.expiresAt !== undefined && this.now() < cached.expiresAt) return cached.value;
      throw error;
    });
  }

  private nearExpiry(token: IssuedToken & { obtainedAt: number }): boolean {
    if (token.expiresAt === undefined) return false;
    const lifetime = token.expiresAt - token.obtainedAt;
    const margin = Math.min(this.marginMs, Math.max(0, lifetime / 2));
    return this.now() >= token.expiresAt - margin;
  }

  private async refresh(): Promise<string> {
    try {
      const issued = await this.policy.execute(() => this.source());
      this.current = { ...issued, obtainedAt: this.now() };
      this.emit('refresh', { expiresAt: issued.expiresAt });
      return issued.value;
    } catch (error) {
      this.emit('failure', { error: error as Error });
      throw error;
    }
  }
}
