import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WardenError } from '../../src/errors/index.js';
import {
  createCircuitBreaker,
  degradedHeader,
  type CircuitBreakerOptions,
} from '../../src/resilience/circuit-breaker.js';
import { createMemoryFallbackCache } from '../../src/resilience/fallback-cache.js';
import { fetchValue, startFakeUpstream, type FakeUpstream } from './upstream-server.js';

function capturedLogger(): { logger: pino.Logger; messages: () => string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return {
    logger: pino({ level: 'info' }, stream),
    messages: () => lines.map((l) => (JSON.parse(l) as { msg: string }).msg),
  };
}

async function rejection(promise: Promise<unknown>): Promise<WardenError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected a WardenError');
}

describe('circuit breaker with a real failing upstream', () => {
  let upstream: FakeUpstream;
  let clock = 1_700_000_000_000;
  beforeEach(async () => {
    upstream = await startFakeUpstream();
    clock = 1_700_000_000_000;
    // cockatiel reads Date.now for the half-open delay: only Date is faked, timers stay real.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(clock);
  });
  afterEach(async () => {
    vi.useRealTimers();
    await upstream.close();
  });
  const advance = (ms: number): void => {
    clock += ms;
    vi.setSystemTime(clock);
  };

  const build = (overrides: Partial<CircuitBreakerOptions> = {}) =>
    createCircuitBreaker({
      name: 'upstream',
      timeoutMs: 2000,
      opening: { kind: 'consecutive', failures: 3 },
      halfOpenAfterMs: 10_000,
      fallbackCache: createMemoryFallbackCache({ now: () => clock, maxAgeMs: 60_000 }),
      now: () => clock,
      ...overrides,
    });

  it('goes closed → open → half-open → closed, serving the cached value while open', async () => {
    const { logger, messages } = capturedLogger();
    const registry = new Registry();
    const breaker = build({ logger, metricsRegistry: registry });
    const call = () => breaker.call('k', (signal) => fetchValue(upstream.url, signal));

    upstream.value = 42;
    expect(await call()).toEqual({ source: 'live', value: { value: 42 } });
    expect(breaker.state()).toBe('closed');

    upstream.mode = 'fail';
    advance(5000);
    for (let i = 0; i < 3; i += 1) {
      expect(await call()).toEqual({
        source: 'stale-cache',
        value: { value: 42 },
        ageMs: 5000,
        reason: 'upstream_error',
      });
    }
    expect(breaker.state()).toBe('open');
    expect(messages()).toContain('circuit breaker opened');

    // Open: the upstream is not called at all, the cached value is served.
    const hitsWhenOpened = upstream.hits;
    const stale = await call();
    expect(stale).toMatchObject({ source: 'stale-cache', reason: 'circuit_open', value: { value: 42 } });
    expect(upstream.hits).toBe(hitsWhenOpened);

    // After halfOpenAfter, one probe goes through; it fails, so the circuit opens again.
    advance(10_000);
    expect(await call()).toMatchObject({ source: 'stale-cache', reason: 'upstream_error' });
    expect(upstream.hits).toBe(hitsWhenOpened + 1);
    expect(breaker.state()).toBe('open');

    // The next probe succeeds: the circuit closes and fresh values flow again.
    advance(10_000);
    upstream.mode = 'ok';
    upstream.value = 43;
    expect(await call()).toEqual({ source: 'live', value: { value: 43 } });
    expect(breaker.state()).toBe('closed');
    expect(messages()).toEqual(
      expect.arrayContaining(['circuit breaker half-open: probing', 'circuit breaker closed']),
    );

    const metrics = await registry.metrics();
    expect(metrics).toMatch(/warden_breaker_calls_total\{breaker="upstream",outcome="success"\} 2/);
    expect(metrics).toMatch(/warden_breaker_calls_total\{breaker="upstream",outcome="rejected"\} 1/);
    expect(metrics).toMatch(/warden_breaker_fallbacks_total\{breaker="upstream",result="stale"\} 5/);
    expect(metrics).toMatch(/warden_breaker_state\{breaker="upstream"\} 0/);
    breaker.dispose();
  });

  it('fails with 503 circuit_open (and Retry-After) when open and nothing is cached', async () => {
    const breaker = build({ fallbackCache: undefined });
    upstream.mode = 'fail';
    for (let i = 0; i < 3; i += 1) {
      const error = await rejection(breaker.call('k', (signal) => fetchValue(upstream.url, signal)));
      expect(error.code).toBe('upstream_error');
      expect(error.status).toBe(502);
    }
    const error = await rejection(breaker.call('k', (signal) => fetchValue(upstream.url, signal)));
    expect(error.code).toBe('circuit_open');
    expect(error.status).toBe(503);
    expect(error.headers).toEqual({ 'retry-after': '10' });
  });

  it('times out a hanging upstream (504 upstream_timeout) and counts it as a failure', async () => {
    const breaker = build({
      timeoutMs: 50,
      opening: { kind: 'consecutive', failures: 1 },
      fallbackCache: undefined,
    });
    upstream.mode = 'hang';
    const error = await rejection(breaker.call('k', (signal) => fetchValue(upstream.url, signal)));
    expect(error.code).toBe('upstream_timeout');
    expect(error.status).toBe(504);
    expect(breaker.state()).toBe('open');
  });

  it('does not serve cached values older than the maximum age', async () => {
    const breaker = build();
    await breaker.call('k', (signal) => fetchValue(upstream.url, signal));
    upstream.mode = 'fail';
    advance(60_001);
    const error = await rejection(breaker.call('k', (signal) => fetchValue(upstream.url, signal)));
    expect(error.code).toBe('upstream_error');
  });

  it('keeps cached values per key', async () => {
    const breaker = build();
    upstream.value = 1;
    await breaker.call('a', (signal) => fetchValue(upstream.url, signal));
    upstream.mode = 'fail';
    expect(await breaker.call('a', (signal) => fetchValue(upstream.url, signal))).toMatchObject({
      value: { value: 1 },
    });
    expect((await rejection(breaker.call('b', (signal) => fetchValue(upstream.url, signal)))).code).toBe(
      'upstream_error',
    );
  });

  it('lets errors the caller does not count pass through unchanged, without opening', async () => {
    class BadRequest extends Error {}
    const breaker = build({
      isFailure: (error) => !(error instanceof BadRequest),
      opening: { kind: 'consecutive', failures: 1 },
    });
    await expect(breaker.call('k', () => Promise.reject(new BadRequest('ours')))).rejects.toBeInstanceOf(
      BadRequest,
    );
    expect(breaker.state()).toBe('closed');
  });

  it('opens on a failure ratio within a sampling window', async () => {
    const breaker = build({
      opening: { kind: 'ratio', ratio: 0.5, windowMs: 60_000, minimumRps: 0.01 },
      fallbackCache: undefined,
    });
    const ok = () => breaker.call('k', () => Promise.resolve(1));
    const bad = () => breaker.call('k', () => Promise.reject(new Error('x'))).catch(() => undefined);
    await ok();
    await ok();
    await bad();
    expect(breaker.state()).toBe('closed');
    await bad();
    await bad();
    expect(breaker.state()).toBe('open');
  });

  it('can be isolated by hand and formats the degraded header', async () => {
    const breaker = build();
    await breaker.call('k', (signal) => fetchValue(upstream.url, signal));
    const handle = breaker.isolate();
    advance(3500);
    const result = await breaker.call('k', (signal) => fetchValue(upstream.url, signal));
    expect(result.source).toBe('stale-cache');
    if (result.source === 'stale-cache')
      expect(degradedHeader(result)).toBe('stale-cache; age=3; reason=circuit_open');
    handle.dispose();
    expect(breaker.state()).toBe('closed');
  });

  it('rejects invalid options at construction', () => {
    expect(() => build({ name: 'Bad Name' })).toThrow(TypeError);
    expect(() => build({ opening: { kind: 'consecutive', failures: 0 } })).toThrow(TypeError);
    expect(() => build({ opening: { kind: 'ratio', ratio: 2, windowMs: 1000 } })).toThrow(TypeError);
  });

  it('rejects ratio openings cockatiel cannot run: ratio 1, a NaN, zero or huge window, a bad minimumRps', () => {
    expect(() => build({ opening: { kind: 'ratio', ratio: 1, windowMs: 1000 } })).toThrow(TypeError);
    expect(() => build({ opening: { kind: 'ratio', ratio: 0.5, windowMs: Number.NaN } })).toThrow(TypeError);
    expect(() => build({ opening: { kind: 'ratio', ratio: 0.5, windowMs: 0 } })).toThrow(TypeError);
    // One bucket per second: 10^12 ms would allocate a billion buckets.
    expect(() => build({ opening: { kind: 'ratio', ratio: 0.5, windowMs: 1e12 } })).toThrow(TypeError);
    expect(() => build({ opening: { kind: 'ratio', ratio: 0.5, windowMs: 1000, minimumRps: -1 } })).toThrow(TypeError);
    expect(() => build({ opening: { kind: 'ratio', ratio: 0.5, windowMs: 60_000, minimumRps: 2 } })).not.toThrow();
  });
});
