import { describe, expect, it } from 'vitest';
import { createRateLimitService } from '../../src/ratelimit/rate-limit-service.js';

/** The review's scenario: a caller of /v1/ratelimit (svc:*) or a flood of HTTP keys must not unlock a login lockout. */
describe('rate-limit service without Redis: memory partitions', () => {
  const lockedAccount = (service: ReturnType<typeof createRateLimitService>) => {
    const tier = service.limiter({ name: 'login-account', limit: 1, windowMs: 900_000, blockDurationMs: 900_000 });
    return { tier, lock: async () => void (await tier.limit('victim@example.test', 2)) };
  };

  it('keeps a login lockout through a flood of caller-chosen identifiers', async () => {
    const service = createRateLimitService({ memoryMaxKeys: 100 });
    const { tier, lock } = lockedAccount(service);
    await lock();
    const chosen = service.limiter({ name: 'svc:default', limit: 5, windowMs: 60_000 });
    for (let i = 0; i < 1000; i += 1) await chosen.limit(`identifier-${i}`);
    expect((await tier.limit('victim@example.test', 0)).allowed).toBe(false);
  });

  it('keeps a login lockout through a flood of per-address HTTP keys', async () => {
    const service = createRateLimitService({ memoryMaxKeys: 100 });
    const { tier, lock } = lockedAccount(service);
    await lock();
    const http = service.limiter({ name: 'http:auth:0', limit: 20, windowMs: 60_000 });
    for (let i = 0; i < 1000; i += 1) await http.limit(`ip:198.51.100.${i % 250}:${i}`);
    expect((await tier.limit('victim@example.test', 0)).allowed).toBe(false);
  });

  it('still bounds each partition: the flood forgets its own oldest keys', async () => {
    const service = createRateLimitService({ memoryMaxKeys: 100 });
    const chosen = service.limiter({ name: 'svc:default', limit: 1, windowMs: 60_000 });
    await chosen.limit('first');
    for (let i = 0; i < 1000; i += 1) await chosen.limit(`identifier-${i}`);
    expect((await chosen.limit('first')).allowed).toBe(true);
  });
});
