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

  it('weighs a sliding log by its timestamps: large logs do not each cost as little as one counter', async () => {
    const service = createRateLimitService({ memoryMaxKeys: 1000 });
    const logs = service.limiter({ name: 'svc:default', algorithm: 'sliding-log', limit: 1000, windowMs: 3_600_000 });
    // 100 identifiers, each holding 1000 timestamps: 100 keys, but the memory of about 6,300 counters.
    for (let i = 0; i < 100; i += 1) expect((await logs.limit(`identifier-${i}`, 1000)).allowed).toBe(true);
    // The oldest were forgotten to keep the partition within its bound; the newest are still full.
    expect((await logs.limit('identifier-0', 0)).remaining).toBe(1000);
    expect((await logs.limit('identifier-99', 0)).remaining).toBe(0);
  });

  it('weighs a sliding log again as it grows', async () => {
    const service = createRateLimitService({ memoryMaxKeys: 100 });
    const logs = service.limiter({ name: 'svc:default', algorithm: 'sliding-log', limit: 1000, windowMs: 3_600_000 });
    for (let i = 0; i < 60; i += 1) await logs.limit(`small-${i}`, 1);
    await logs.limit('growing', 1);
    // From the weight of one counter to that of 63: the partition makes room by forgetting its oldest.
    await logs.limit('growing', 999);
    expect((await logs.limit('small-0', 0)).remaining).toBe(1000);
    expect((await logs.limit('growing', 0)).remaining).toBe(0);
  });
});
