import { clientAddressKey } from '../ratelimit/client-key.js';
import type { RateLimitService } from '../ratelimit/rate-limit-service.js';
import type { RateLimiter } from '../ratelimit/rate-limiter.js';

export interface LoginThrottleOptions {
  /** Failed logins per account before the first lockout. */
  readonly maxFailuresPerAccount: number;
  /** Failed logins per client IP (IPv6: per /64) before that IP is locked out. */
  readonly maxFailuresPerIp: number;
  /** The first lockout; the long-term tier locks for 8× this. */
  readonly lockoutMs: number;
}

/** Whether a login may be attempted now. */
export type ThrottleDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number };

const WINDOW_MS = 15 * 60_000;
const DAY_MS = 86_400_000;

/**
 * Brute-force protection with growing delays, built from counters in the shared rate-limit
 * store (memory, or Redis when configured, so every instance sees the same counts).
 * Tiers per account: 3 quick failures → 30 s pause; `maxFailuresPerAccount` in 15 min →
 * `lockoutMs`; 3× that in 24 h → exactly 8 × `lockoutMs` (at most 24 h), after which that
 * tier counts from zero again. Per client address (`clientAddressKey`: an IPv6 /64, an IPv4
 * address without a port): `maxFailuresPerIp` in 15 min → `lockoutMs`.
 *
 * The account tiers count each attempt when it starts (`reserve`), before the password is
 * checked, and a success resets them: counted only after the check, any number of concurrent
 * guesses would all pass a check that none of them had counted yet. "Starts" is once the
 * attempt holds its hashing slot: an attempt the hashing queue turns away (503) never had its
 * password checked and must not count, or users retrying during an overload would lock
 * themselves out. The IP tier counts only failures (an office behind one address must not be
 * locked out by its own logins), so it is checked at the start and counted on failure.
 */
export class LoginThrottle {
  private readonly accountTiers: RateLimiter[];
  private readonly dayTier: RateLimiter;
  private readonly dayLock: RateLimiter;
  private readonly ipTier: RateLimiter;
  private readonly ipFailureCost: number;

  constructor(rateLimits: RateLimitService, options: LoginThrottleOptions) {
    // A limiter denies the consume that goes over `limit`. Account tiers reserve each attempt,
    // so `limit = n` lets n attempts through and denies (and blocks) the next.
    this.accountTiers = [
      rateLimits.limiter({ name: 'login-account-burst', limit: 3, windowMs: 30_000, blockDurationMs: 30_000 }),
      rateLimits.limiter({ name: 'login-account', limit: Math.max(1, options.maxFailuresPerAccount), windowMs: WINDOW_MS, blockDurationMs: options.lockoutMs }),
    ];
    // The long-term tier counts without a block of its own: a 24 h sliding window stays full for
    // about a day after it trips, so a block on it would announce ~24 h and re-lock on the first
    // attempt after the block. Instead, tripping it clears its count and starts a separate lock,
    // so the lock lasts exactly its documented length.
    this.dayTier = rateLimits.limiter({ name: 'login-account-day', limit: Math.max(1, options.maxFailuresPerAccount * 3), windowMs: DAY_MS });
    const dayLockMs = Math.min(options.lockoutMs * 8, DAY_MS);
    // Only ever blocked, never counted: a consume of cost 2 always goes over limit 1 and starts the block.
    this.dayLock = rateLimits.limiter({ name: 'login-account-day-lock', algorithm: 'fixed-window', limit: 1, windowMs: dayLockMs, blockDurationMs: dayLockMs });
    // The IP tier counts failures after the fact, so `limit = n - 1` blocks at the n-th failure.
    // A policy cannot have limit 0, so for n = 1 each failure costs 2 against limit 1: the first
    // one goes over and blocks.
    const ipLimit = Math.max(1, options.maxFailuresPerIp - 1);
    this.ipFailureCost = options.maxFailuresPerIp <= 1 ? 2 : 1;
    this.ipTier = rateLimits.limiter({ name: 'login-ip', limit: ipLimit, windowMs: WINDOW_MS, blockDurationMs: options.lockoutMs });
  }

  /**
   * Whether the account and the IP may try now, counting nothing. A login asks this before it
   * queues for a hashing slot, so that a locked account or address is refused (429) without
   * waiting in that queue; `reserve` asks again once the slot is held.
   */
  async check(accountKey: string, ip: string | undefined): Promise<ThrottleDecision> {
    return LoginThrottle.combine(
      await Promise.all([...this.accountTiers.map((tier) => tier.limit(accountKey, 0)), this.dayLock.limit(accountKey, 0), this.ipTier.limit(clientAddressKey(ip), 0)]),
    );
  }

  /**
   * Whether the account and the IP may try now; if so, counts the attempt against the account.
   * Call it only when the password check is sure to follow (the hashing slot held): nothing
   * takes a counted attempt back.
   */
  async reserve(accountKey: string, ip: string | undefined): Promise<ThrottleDecision> {
    // Looked at first without counting, so that attempts refused during a lockout do not
    // count towards the next, longer one; then counted atomically per tier, which is what
    // holds concurrent attempts to the limit.
    const gate = await this.check(accountKey, ip);
    if (!gate.allowed) return gate;
    // Shortest tier first, and a longer one only counts what the shorter ones let through:
    // concurrent attempts all pass the look above, and those a short tier refuses must not
    // fill a long one (a burst of 16 would otherwise start the 24 h tier's lock after 3 checks).
    for (const tier of this.accountTiers) {
      const counted = await tier.limit(accountKey, 1);
      if (!counted.allowed) return LoginThrottle.combine([counted]);
    }
    const day = await this.dayTier.limit(accountKey, 1);
    if (day.allowed) return { allowed: true };
    await this.dayTier.reset(accountKey);
    return LoginThrottle.combine([await this.dayLock.limit(accountKey, 2)]);
  }

  /**
   * Whether the IP may try now, counting nothing: for credentials that cannot be guessed
   * (machine secrets), where only failures per address are worth counting and an attempt
   * reserved against the credential would only let others lock it out.
   */
  async checkIp(ip: string | undefined): Promise<ThrottleDecision> {
    return LoginThrottle.combine([await this.ipTier.limit(clientAddressKey(ip), 0)]);
  }

  /** Counts a failed attempt against the IP (`reserve` already counted it against the account). */
  async recordFailure(ip: string | undefined): Promise<ThrottleDecision> {
    return LoginThrottle.combine([await this.ipTier.limit(clientAddressKey(ip), this.ipFailureCost)]);
  }

  /** A success clears the account's counters (the IP keeps its count: one good password must not unlock a spraying IP). */
  async recordSuccess(accountKey: string): Promise<void> {
    await Promise.all([...this.accountTiers, this.dayTier].map((tier) => tier.reset(accountKey)));
  }

  private static combine(decisions: readonly { allowed: boolean; retry_after_ms: number }[]): ThrottleDecision {
    const denied = decisions.filter((d) => !d.allowed);
    if (denied.length === 0) return { allowed: true };
    return { allowed: false, retryAfterMs: Math.max(1000, ...denied.map((d) => d.retry_after_ms)) };
  }
}
