import type { RateLimitDecision } from './rate-limiter.js';
import type { ResolvedPolicy } from './policy.js';

/**
 * The four algorithms as pure functions over a small state object, for the in-memory store.
 * `redis-script.ts` is the same arithmetic in Lua; `test/ratelimit/store-behaviour.test.ts`
 * runs one suite against both so that they cannot drift apart.
 */
export type AlgorithmState =
  | { readonly kind: 'window'; readonly start: number; readonly count: number; readonly previous: number }
  | { readonly kind: 'log'; readonly entries: readonly number[] }
  | { readonly kind: 'bucket'; readonly tokens: number; readonly updated: number };

export interface AlgorithmStep {
  readonly decision: RateLimitDecision;
  /** The state to keep (unchanged when denied). */
  readonly state: AlgorithmState | undefined;
  /** When the state stops mattering (absent state = fresh). */
  readonly expiresAt: number;
}

/** Runs one decision of `policy.algorithm`. */
export function step(policy: ResolvedPolicy, state: AlgorithmState | undefined, now: number, cost: number): AlgorithmStep {
  switch (policy.algorithm) {
    case 'fixed-window':
      return fixedWindow(policy, state?.kind === 'window' ? state : undefined, now, cost);
    case 'sliding-window':
      return slidingWindow(policy, state?.kind === 'window' ? state : undefined, now, cost);
    case 'sliding-log':
      return slidingLog(policy, state?.kind === 'log' ? state : undefined, now, cost);
    case 'token-bucket':
      return tokenBucket(policy, state?.kind === 'bucket' ? state : undefined, now, cost);
  }
}

function decision(allowed: boolean, limit: number, remaining: number, resetMs: number, retryMs: number): RateLimitDecision {
  return {
    allowed,
    limit,
    remaining: Math.max(0, Math.floor(remaining)),
    reset_ms: Math.max(0, Math.ceil(resetMs)),
    retry_after_ms: allowed ? 0 : Math.max(1, Math.ceil(retryMs)),
  };
}

/**
 * The window a decision counts in: the one containing `now`, or the state's window when that
 * starts at most one window later. A clock a little behind (another instance's, or ours after a
 * small step back) must join the newer window; restarting the older one would wipe its count.
 */
function joinedWindowStart(state: Extract<AlgorithmState, { kind: 'window' }> | undefined, now: number, windowMs: number): number {
  const start = now - (now % windowMs);
  return state !== undefined && state.start > start && state.start - start <= windowMs ? state.start : start;
}

function fixedWindow(policy: ResolvedPolicy, state: Extract<AlgorithmState, { kind: 'window' }> | undefined, now: number, cost: number): AlgorithmStep {
  const { limit, windowMs } = policy;
  const start = joinedWindowStart(state, now, windowMs);
  const count = state !== undefined && state.start === start ? state.count : 0;
  const reset = start + windowMs - now;
  if (count + cost <= limit) {
    const next = count + cost;
    return { decision: decision(true, limit, limit - next, reset, 0), state: { kind: 'window', start, count: next, previous: 0 }, expiresAt: start + windowMs };
  }
  return { decision: decision(false, limit, limit - count, reset, reset), state, expiresAt: start + windowMs };
}

function slidingWindow(policy: ResolvedPolicy, state: Extract<AlgorithmState, { kind: 'window' }> | undefined, now: number, cost: number): AlgorithmStep {
  const { limit, windowMs } = policy;
  const start = joinedWindowStart(state, now, windowMs);
  let count = 0;
  let previous = 0;
  if (state !== undefined && state.start === start) {
    count = state.count;
    previous = state.previous;
  } else if (state !== undefined && state.start === start - windowMs) {
    previous = state.count;
  }
  // Negative (by the clock step) when the state's window starts after now.
  const elapsed = now - start;
  const estimate = (previous * (windowMs - Math.max(0, elapsed))) / windowMs + count;
  const reset = windowMs - elapsed;
  if (estimate + cost <= limit) {
    return {
      decision: decision(true, limit, limit - (estimate + cost), reset, 0),
      state: { kind: 'window', start, count: count + cost, previous },
      expiresAt: start + 2 * windowMs,
    };
  }
  let retry: number;
  if (cost > limit) retry = reset;
  else if (count + cost <= limit) retry = windowMs * (1 - (limit - cost - count) / previous) - elapsed;
  else retry = reset + windowMs * (1 - (limit - cost) / count);
  return { decision: decision(false, limit, limit - estimate, reset, retry), state, expiresAt: start + 2 * windowMs };
}

function slidingLog(policy: ResolvedPolicy, state: Extract<AlgorithmState, { kind: 'log' }> | undefined, now: number, cost: number): AlgorithmStep {
  const { limit, windowMs } = policy;
  // An entry at time t counts while now - windowMs < t (the Redis script removes scores <= now - windowMs).
  const entries = (state?.entries ?? []).filter((t) => t > now - windowMs);
  const oldest = entries[0];
  // Kept in time order, as Redis' sorted set is: a clock a little behind (another instance's, or
  // ours after a step back) inserts before newer entries, and the entries read below by position
  // (the oldest, the one whose expiry frees room) must be the oldest by time.
  const newest = entries.at(-1);
  if (entries.length + cost <= limit) {
    const stamps = Array.from({ length: cost }, () => now);
    let next: number[];
    if (newest === undefined || newest <= now) next = [...entries, ...stamps];
    else {
      const at = entries.findIndex((t) => t > now);
      next = [...entries.slice(0, at), ...stamps, ...entries.slice(at)];
    }
    const first = next[0];
    return {
      decision: decision(true, limit, limit - next.length, first === undefined ? 0 : first + windowMs - now, 0),
      state: { kind: 'log', entries: next },
      // Until the newest entry leaves the window, not one window from a clock that may be behind it.
      expiresAt: Math.max(now, next.at(-1) ?? now) + windowMs,
    };
  }
  const blocking = entries[entries.length + cost - limit - 1];
  const retry = cost > limit || blocking === undefined ? windowMs : blocking + windowMs - now;
  return {
    decision: decision(false, limit, limit - entries.length, oldest === undefined ? 0 : oldest + windowMs - now, retry),
    state: { kind: 'log', entries },
    expiresAt: Math.max(now, newest ?? now) + windowMs,
  };
}

/** Relative slack of a token-bucket comparison (far below one token for any limit up to 1e9). */
const BUCKET_TOLERANCE = 1e-12;

function tokenBucket(policy: ResolvedPolicy, state: Extract<AlgorithmState, { kind: 'bucket' }> | undefined, now: number, cost: number): AlgorithmStep {
  const { limit, windowMs } = policy;
  const rate = limit / windowMs;
  let tokens = state === undefined ? limit : state.tokens;
  let updated = state === undefined ? now : state.updated;
  // Another process' clock may be slightly ahead: never refill backwards.
  if (now > updated) {
    tokens = Math.min(limit, tokens + (now - updated) * rate);
    updated = now;
  }
  // The refill is floating point: after waiting exactly the announced retry it can land a few
  // ulps short of `cost`, and the caller would be refused again. A tolerance relative to the
  // limit absorbs that (redis-script.ts does the same).
  const allowed = tokens + limit * BUCKET_TOLERANCE >= cost;
  if (allowed) tokens = Math.max(0, tokens - cost);
  const untilFull = (limit - tokens) / rate;
  const retry = cost > limit ? windowMs : (cost - tokens) / rate;
  return {
    decision: decision(allowed, limit, tokens, untilFull, retry),
    state: { kind: 'bucket', tokens, updated },
    expiresAt: updated + Math.max(1, Math.ceil(untilFull)),
  };
}
