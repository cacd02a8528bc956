/** The algorithms a policy can use. `sliding-log` is exact and meant for small limits. */
export const RATE_LIMIT_ALGORITHMS = ['fixed-window', 'sliding-window', 'sliding-log', 'token-bucket'] as const;
export type RateLimitAlgorithm = (typeof RATE_LIMIT_ALGORITHMS)[number];

/** The largest limit the exact sliding log accepts (it stores one entry per unit of cost). */
export const SLIDING_LOG_MAX_LIMIT = 1000;

/** One named limit, e.g. "login per IP: 10 per minute, then blocked for 5 minutes". */
export interface RateLimitPolicy {
  /** Names the counters: two policies with the same name, algorithm, limit and window share state. */
  readonly name: string;
  /** @default 'sliding-window' */
  readonly algorithm?: RateLimitAlgorithm;
  /** Requests (cost units) per window; for the token bucket, the bucket size. */
  readonly limit: number;
  /** The window; for the token bucket, the time to refill an empty bucket. */
  readonly windowMs: number;
  /** Once denied, stay denied this long even if the window resets. @default 0 */
  readonly blockDurationMs?: number;
}

/** A validated policy with every default applied. */
export interface ResolvedPolicy {
  readonly name: string;
  readonly algorithm: RateLimitAlgorithm;
  readonly limit: number;
  readonly windowMs: number;
  readonly blockDurationMs: number;
}

/** Validates a policy (misuse throws a TypeError) and fills in the defaults. */
export function resolvePolicy(policy: RateLimitPolicy): ResolvedPolicy {
  const algorithm = policy.algorithm ?? 'sliding-window';
  if (!RATE_LIMIT_ALGORITHMS.includes(algorithm)) throw new TypeError(`unknown rate-limit algorithm: ${String(algorithm)}`);
  if (typeof policy.name !== 'string' || policy.name === '') throw new TypeError('a rate-limit policy needs a name');
  if (!Number.isSafeInteger(policy.limit) || policy.limit < 1) throw new TypeError('policy.limit must be an integer >= 1');
  if (!Number.isSafeInteger(policy.windowMs) || policy.windowMs < 1) throw new TypeError('policy.windowMs must be an integer >= 1');
  const blockDurationMs = policy.blockDurationMs ?? 0;
  if (!Number.isSafeInteger(blockDurationMs) || blockDurationMs < 0) throw new TypeError('policy.blockDurationMs must be an integer >= 0');
  if (algorithm === 'sliding-log' && policy.limit > SLIDING_LOG_MAX_LIMIT) {
    throw new TypeError(`the sliding log keeps one entry per request: use a limit <= ${SLIDING_LOG_MAX_LIMIT} or another algorithm`);
  }
  return { name: policy.name, algorithm, limit: policy.limit, windowMs: policy.windowMs, blockDurationMs };
}

/** Checks a cost: a non-negative integer (0 peeks without consuming). */
export function assertCost(cost: number): void {
  if (!Number.isSafeInteger(cost) || cost < 0) throw new TypeError('rate-limit cost must be an integer >= 0');
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const ITEM = /^(\d+)\s*\/\s*(\d+)\s*(ms|s|m|h|d)(?:\s+block\s+(\d+)\s*(ms|s|m|h|d))?$/;

/** A policy without a name, as written in a setting. */
export type PolicyLimit = Omit<ResolvedPolicy, 'name' | 'algorithm'>;

/**
 * Parses a setting such as `10/60s, 100/1h block 15m` ("10 per minute and 100 per hour; once
 * over, blocked for 15 minutes"). `off` (or an empty string) means no limit. Throws a TypeError
 * naming the bad item.
 */
export function parsePolicyList(raw: string): readonly PolicyLimit[] {
  const trimmed = raw.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'off') return [];
  return trimmed.split(',').map((item) => {
    const match = ITEM.exec(item.trim());
    if (match === null) throw new TypeError(`"${item.trim()}" is not a rate limit like 100/60s or 10/1m block 5m`);
    const limit = Number(match[1]);
    const windowMs = Number(match[2]) * (UNIT_MS[match[3] ?? 's'] ?? 1000);
    const blockDurationMs = match[4] === undefined ? 0 : Number(match[4]) * (UNIT_MS[match[5] ?? 's'] ?? 1000);
    if (limit < 1 || windowMs < 1) throw new TypeError(`"${item.trim()}" needs a limit and a window of at least 1`);
    // Caught here, where the setting is checked, rather than by resolvePolicy when the app starts.
    if (![limit, windowMs, blockDurationMs].every(Number.isSafeInteger)) throw new TypeError(`"${item.trim()}" has a number too large`);
    return { limit, windowMs, blockDurationMs };
  });
}
