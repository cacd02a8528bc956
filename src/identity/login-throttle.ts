import type { RateLimitService } from '../ratelimit/rate-limit-service.js';
import type { RateLimiter } from '../ratelimit/rate-limiter.js';

export interface LoginThrottleOptions {
  /** Failed logins per account before the first lockout. */
  readonly maxFailuresPerAccount: number;
  /** Failed logins per client IP before that IP is locked out. */
  readonly maxFailuresPerIp: number;
  /** The first lockout; the long-term tier locks for 8× this. */
  readonly lockoutMs: number;
}

/** Whether a login may be attempted now. */
export type ThrottleDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number };

/**
 * Brute-force protection with growing delays, built from counters in the shared rate-limit
 * store (memory, or Redis when configured, so every instance sees the same counts).
 * Tiers per account: 3 quick failures → 30 s pause; `maxFailuresPerAccount` in 15 min →
 * `lockoutMs`; 3× that in 24 h → 8 × `lockoutMs`. Per IP: `maxFailuresPerIp` in 15 min →
 * `lockoutMs`.
 *
 * The account tiers count each attempt when it starts (`reserve`), before the password is
 * checked, and a success resets them: counted only after the check, any number of concurrent
 * guesses would all pass a check that none of them had counted yet. The IP tier counts only
 * failures (an office behind one address must not be locked out by its own logins), so it is
 * checked at the start and counted on failure.
 */
export class LoginThrottle {
  private readonly accountTiers: RateLimiter[];
  private readonly ipTier: RateLimiter;

  constructor(rateLimits: RateLimitService, options: LoginThrottleOptions) {
    const window = 15 * 60_000;
    // A limiter denies the consume that goes over `limit`. Account tiers reserve each attempt,
    // so `limit = n` lets n attempts through and denies (and blocks) the next; the IP tier
    // counts failures after the fact, so `limit = n - 1` blocks at the n-th failure.
    this.accountTiers = [
      rateLimits.limiter({ name: 'login-account-burst', limit: 3, windowMs: 30_000, blockDurationMs: 30_000 }),
      rateLimits.limiter({ name: 'login-account', limit: Math.max(1, options.maxFailuresPerAccount), windowMs: window, blockDurationMs: options.lockoutMs }),
      rateLimits.limiter({
        name: 'login-account-day',
        limit: Math.max(1, options.maxFailuresPerAccount * 3),
        windowMs: 86_400_000,
        blockDurationMs: Math.min(options.lockoutMs * 8, 86_400_000),
      }),
    ];
    this.ipTier = rateLimits.limiter({ name: 'login-ip', limit: Math.max(0, options.maxFailuresPerIp - 1), windowMs: window, blockDurationMs: options.lockoutMs });
  }

  /** Whether the account and the IP may try now; if so, counts the attempt against the account. */
  async reserve(accountKey: string, ip: string): Promise<ThrottleDecision> {
    // Looked at first without counting, so that attempts refused during a lockout do not
    // count towards the next, longer one; then counted atomically per tier, which is what
    // holds concurrent attempts to the limit.
    const gate = LoginThrottle.combine(await Promise.all([...this.accountTiers.map((tier) => tier.limit(accountKey, 0)), this.ipTier.limit(ip, 0)]));
    if (!gate.allowed) return gate;
    return LoginThrottle.combine(await Promise.all(this.accountTiers.map((tier) => tier.limit(accountKey, 1))));
  }

  /**
   * Whether the IP may try now, counting nothing: for credentials that cannot be guessed
   * (machine secrets), where only failures per address are worth counting and an attempt
   * reserved against the credential would only let others lock it out.
   */
  async checkIp(ip: string): Promise<ThrottleDecision> {
    return LoginThrottle.combine([await this.ipTier.limit(ip, 0)]);
  }

  /** Counts a failed attempt against the IP (`reserve` already counted it against the account). */
  async recordFailure(ip: string): Promise<ThrottleDecision> {
    return LoginThrottle.combine([await this.ipTier.limit(ip, 1)]);
  }

  /** A success clears the account's counters (the IP keeps its count: one good password must not unlock a spraying IP). */
  async recordSuccess(accountKey: string): Promise<void> {
    await Promise.all(this.accountTiers.map((tier) => tier.reset(accountKey)));
  }

  private static combine(decisions: readonly { allowed: boolean; retry_after_ms: number }[]): ThrottleDecision {
    const denied = decisions.filter((d) => !d.allowed);
    if (denied.length === 0) return { allowed: true };
    return { allowed: false, retryAfterMs: Math.max(1000, ...denied.map((d) => d.retry_after_ms)) };
  }
}
