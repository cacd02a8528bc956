import { afterEach, expect, it, vi } from 'vitest';
import { WardenError } from '../../src/errors/index.js';
import { createCircuitBreaker } from '../../src/resilience/circuit-breaker.js';

afterEach(() => vi.useRealTimers());

// An error that `isFailure` rejects (a provider 4xx: our request's fault) never counts towards
// opening the circuit; during the half-open probe it is still an answer from the upstream, so it
// closes the circuit, and the error reaches the caller unchanged.
it('an error isFailure rejects never opens the circuit, and closes it as the half-open probe', async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  let clock = 1_700_000_000_000;
  vi.setSystemTime(clock);
  const breaker = createCircuitBreaker({
    name: 'llm',
    opening: { kind: 'consecutive', failures: 2 },
    halfOpenAfterMs: 10_000,
    isFailure: (error) => !(error instanceof WardenError),
  });
  const rejected = () => Promise.reject(new WardenError('upstream_error', 'provider rejected (HTTP 400)'));
  for (let i = 0; i < 3; i++) await expect(breaker.call('k', rejected)).rejects.toBeInstanceOf(WardenError);
  expect(breaker.state()).toBe('closed');
  const down = () => Promise.reject(new Error('HTTP 503'));
  for (let i = 0; i < 2; i++) await breaker.call('k', down).catch(() => undefined);
  expect(breaker.state()).toBe('open');
  clock += 10_000;
  vi.setSystemTime(clock);
  await expect(breaker.call('k', rejected)).rejects.toBeInstanceOf(WardenError);
  expect(breaker.state()).toBe('closed');
  breaker.dispose();
});
