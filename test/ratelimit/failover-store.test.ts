import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WardenError } from '../../src/errors/index.js';
import { createFailoverStore, type RateLimitFailurePolicy } from '../../src/ratelimit/failover-store.js';
import { createMemoryStore } from '../../src/ratelimit/memory-store.js';
import { resolvePolicy } from '../../src/ratelimit/policy.js';
import { RateLimitMetrics } from '../../src/ratelimit/rate-limit-metrics.js';
import type { RateLimitDecision } from '../../src/ratelimit/rate-limiter.js';
import type { RateLimitStore } from '../../src/ratelimit/store.js';

/**
 * The failover store's own contract, without Redis: every decision in flight is bounded by its
 * own deadline although the store arms one shared timer, the first of answer / error / timeout
 * wins, and the failure policy applies to every kind of failure. Time is simulated (fake timers
 * and a fake `performance.now`), so these tests assert ordering, never wall-clock durations.
 */

const TIMEOUT_MS = 250;
const policy = resolvePolicy({ name: 'p', algorithm: 'fixed-window', limit: 100, windowMs: 60_000 });
const answer = (remaining: number): RateLimitDecision => ({ allowed: true, limit: 100, remaining, reset_ms: 1, retry_after_ms: 0 });

/** A primary whose calls stay pending until the test answers them. */
function controllablePrimary(): RateLimitStore & { calls: { resolve(d: RateLimitDecision): void; reject(e: Error): void }[] } {
  const calls: { resolve(d: RateLimitDecision): void; reject(e: Error): void }[] = [];
  return {
    kind: 'redis',
    calls,
    consume: () => new Promise<RateLimitDecision>((resolve, reject) => calls.push({ resolve, reject })),
    reset: async () => undefined,
  };
}

/** Observes a promise without awaiting it: `state()` is 'pending' until it settles. */
function watch<T>(promise: Promise<T>): { state(): 'pending' | 'resolved' | 'rejected'; value(): T | undefined; error(): unknown } {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  let value: T | undefined;
  let error: unknown;
  promise.then(
    (v) => {
      state = 'resolved';
      value = v;
    },
    (e: unknown) => {
      state = 'rejected';
      error = e;
    },
  );
  return { state: () => state, value: () => value, error: () => error };
}

describe('failover store', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const make = (failurePolicy: RateLimitFailurePolicy, primary: RateLimitStore, metrics = new RateLimitMetrics()) =>
    createFailoverStore({ primary, fallback: createMemoryStore(), policy: failurePolicy, timeoutMs: TIMEOUT_MS, retryAfterMs: 10_000, metrics });

  it('bounds each decision in flight by its own deadline, not by the first one', async () => {
    const primary = controllablePrimary();
    const store = make('fail-closed', primary);
    const first = watch(store.consume(policy, 'a', 1));
    await vi.advanceTimersByTimeAsync(100);
    const second = watch(store.consume(policy, 'b', 1));

    await vi.advanceTimersByTimeAsync(TIMEOUT_MS - 100 - 1);
    expect(first.state()).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(first.state()).toBe('rejected');
    expect(second.state()).toBe('pending');

    await vi.advanceTimersByTimeAsync(100 - 1);
    expect(second.state()).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(second.state()).toBe('rejected');
    expect(second.error()).toBeInstanceOf(WardenError);
    expect((second.error() as WardenError).status).toBe(503);
  });

  it('an answer before the deadline wins; after a timeout the late answer is ignored and fail-open decides', async () => {
    const primary = controllablePrimary();
    const metrics = new RateLimitMetrics();
    const store = make('fail-open', primary, metrics);
    const answered = watch(store.consume(policy, 'a', 1));
    const late = watch(store.consume(policy, 'b', 1));
    primary.calls[0]?.resolve(answer(42));
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
    expect(answered.value()).toEqual(answer(42));
    // The fallback (per-process memory) decided the timed-out call.
    expect(late.value()).toMatchObject({ allowed: true, remaining: 99 });

    primary.calls[1]?.resolve(answer(7));
    primary.calls[1]?.reject(new Error('too late as well'));
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
    expect(late.value()).toMatchObject({ remaining: 99 });
    const errors = await metrics.storeErrors.get();
    expect(errors.values.reduce((sum, v) => sum + v.value, 0)).toBe(1);
  });

  it('answers every one of many concurrent decisions with its own result, in any order', async () => {
    const primary = controllablePrimary();
    const metrics = new RateLimitMetrics();
    const store = make('fail-closed', primary, metrics);
    const watched = Array.from({ length: 500 }, (_, i) => watch(store.consume(policy, `k${i}`, 1)));
    // Odd ones first, then even ones backwards: settling is not FIFO even though deadlines are.
    for (let i = 1; i < 500; i += 2) primary.calls[i]?.resolve(answer(i));
    for (let i = 498; i >= 0; i -= 2) primary.calls[i]?.resolve(answer(i));
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS * 2);
    watched.forEach((w, i) => expect(w.value()).toEqual(answer(i)));
    expect((await metrics.storeErrors.get()).values.reduce((sum, v) => sum + v.value, 0)).toBe(0);
  });

  it('applies the policy to a primary error and to a primary that throws instead of rejecting', async () => {
    const throwing: RateLimitStore = {
      kind: 'redis',
      consume: () => {
        throw new Error('synchronous failure');
      },
      reset: async () => undefined,
    };
    await expect(make('fail-closed', throwing).consume(policy, 'k', 1)).rejects.toMatchObject({ status: 503 });
    await expect(make('fail-open', throwing).consume(policy, 'k', 1)).resolves.toMatchObject({ allowed: true });

    const primary = controllablePrimary();
    const rejected = watch(make('fail-closed', primary).consume(policy, 'k', 1));
    primary.calls[0]?.reject(new Error('ERR something'));
    await vi.advanceTimersByTimeAsync(0);
    expect((rejected.error() as WardenError).status).toBe(503);
  });

  it('after the pause lets exactly one decision probe the primary; the others apply the policy meanwhile', async () => {
    const primary = controllablePrimary();
    const store = make('fail-open', primary);
    const first = watch(store.consume(policy, 'k', 1));
    primary.calls[0]?.reject(new Error('ECONNRESET'));
    await vi.advanceTimersByTimeAsync(0);
    expect(first.value()).toMatchObject({ allowed: true });
    // Paused: nothing reaches the primary.
    await store.consume(policy, 'k', 1);
    expect(primary.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(10_000);
    const probe = watch(store.consume(policy, 'k', 1));
    const others = [watch(store.consume(policy, 'k', 1)), watch(store.consume(policy, 'k', 1))];
    await vi.advanceTimersByTimeAsync(0);
    expect(primary.calls).toHaveLength(2);
    // The others did not wait for the probe (a hung Redis would have cost each the timeout).
    for (const other of others) expect(other.state()).toBe('resolved');
    expect(probe.state()).toBe('pending');
    primary.calls[1]?.resolve(answer(7));
    await vi.advanceTimersByTimeAsync(0);
    expect(probe.value()).toEqual(answer(7));
    // Recovered: every decision goes to the primary again.
    const next = [watch(store.consume(policy, 'k', 1)), watch(store.consume(policy, 'k', 1))];
    expect(primary.calls).toHaveLength(4);
    primary.calls[2]?.resolve(answer(1));
    primary.calls[3]?.resolve(answer(2));
    await vi.advanceTimersByTimeAsync(0);
    expect(next.map((w) => w.value())).toEqual([answer(1), answer(2)]);
  });

  it('a probe that times out pauses again and lets the next probe through after the pause', async () => {
    const primary = controllablePrimary();
    const store = make('fail-closed', primary);
    const first = watch(store.consume(policy, 'k', 1));
    primary.calls[0]?.reject(new Error('ECONNRESET'));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(first.state()).toBe('rejected');
    const probe = watch(store.consume(policy, 'k', 1));
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
    expect(probe.state()).toBe('rejected');
    expect(primary.calls).toHaveLength(2);
    await expect(store.consume(policy, 'k', 1)).rejects.toMatchObject({ status: 503 });
    expect(primary.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(10_000);
    const again = watch(store.consume(policy, 'k', 1));
    expect(primary.calls).toHaveLength(3);
    primary.calls[2]?.resolve(answer(3));
    await vi.advanceTimersByTimeAsync(0);
    expect(again.value()).toEqual(answer(3));
  });

  it('leaves no timer behind once every decision has settled', async () => {
    const primary = controllablePrimary();
    const store = make('fail-closed', primary);
    const pending = [store.consume(policy, 'a', 1), store.consume(policy, 'b', 1)];
    for (const call of primary.calls) call.resolve(answer(1));
    await Promise.all(pending);
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
    expect(vi.getTimerCount()).toBe(0);
    // And a new decision arms it again: it still times out.
    const next = watch(store.consume(policy, 'c', 1));
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
    expect(next.state()).toBe('rejected');
  });
});
