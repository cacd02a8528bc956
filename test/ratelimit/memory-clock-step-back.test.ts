import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/ratelimit/memory-store.js';
import type { RateLimitPolicy } from '../../src/ratelimit/policy.js';
import type { RateLimitDecision } from '../../src/ratelimit/rate-limiter.js';
import { limiterFor } from '../../src/ratelimit/rate-limit-service.js';
import { createRedisStore } from '../../src/ratelimit/redis-store.js';
import type { RateLimitStore } from '../../src/ratelimit/store.js';
import { createTestRedis, describeWithRedis, type TestRedis } from '../helpers/redis.js';

/**
 * A clock a few ms off never double-spends, in the memory store as in Redis, when the store's
 * own clock steps back by 1–400 ms (an NTP step, a VM after migration):
 *  1. a sliding log is kept until its newest entry leaves the window, not one window from the
 *     stepped-back clock;
 *  2. a sliding log's entries are kept in time order, so reset_ms and retry_after_ms are read
 *     from the right entries;
 *  3. a denial (here cost > limit at the window edge) leaves the stored fixed-window count as it
 *     was, for a clock 1 ms behind still counts in that window.
 * The expected values are the Redis store's answers for the same calls (checked below).
 */

const T0 = 1_800_000_000_000;

type Step = readonly [at: number, cost: number];
interface Scenario {
  readonly title: string;
  readonly policy: RateLimitPolicy;
  readonly steps: readonly Step[];
  /** The decision of the last step (the Redis store's answer). */
  readonly last: RateLimitDecision;
}

const scenarios: readonly Scenario[] = [
  {
    title: 'sliding log: an entry still in the window after a 1 ms step back is not forgotten',
    policy: { name: 'clock-step', algorithm: 'sliding-log', limit: 1, windowMs: 1000 },
    // 1000: allowed; 999 (clock 1 ms back): denied; 1999: the entry at 1000 still counts (1000 > 1999 - 1000).
    steps: [
      [1000, 1],
      [999, 1],
      [1999, 1],
    ],
    last: { allowed: false, limit: 1, remaining: 0, reset_ms: 1, retry_after_ms: 1 },
  },
  {
    title: 'sliding log: reset and retry come from the oldest entries by time, not by insertion order',
    policy: { name: 'clock-step', algorithm: 'sliding-log', limit: 2, windowMs: 1000 },
    // Entries at 500 and (clock 400 ms back) 100. A cost of 2 at 150 fits once both expire: at 1500.
    steps: [
      [500, 1],
      [100, 1],
      [150, 2],
    ],
    last: { allowed: false, limit: 2, remaining: 0, reset_ms: 950, retry_after_ms: 1350 },
  },
  {
    title:
      'fixed window: a denial at the window edge does not wipe the count a 1 ms slower clock still counts in',
    policy: { name: 'clock-step', algorithm: 'fixed-window', limit: 1, windowMs: 1000 },
    // Window [0, 1000) is full; at 1000 a cost above the limit is denied; back at 999 window [0, 1000) is still full.
    steps: [
      [43, 1],
      [1000, 2],
      [999, 1],
    ],
    last: { allowed: false, limit: 1, remaining: 0, reset_ms: 1, retry_after_ms: 1 },
  },
];

async function play(
  makeStore: (now: () => number) => RateLimitStore,
  scenario: Scenario,
): Promise<RateLimitDecision> {
  let t = T0;
  const limiter = limiterFor(
    makeStore(() => t),
    scenario.policy,
  );
  let decision: RateLimitDecision | undefined;
  for (const [at, cost] of scenario.steps) {
    t = T0 + at;
    decision = await limiter.limit('k', cost);
  }
  return decision as RateLimitDecision;
}

describe('memory store when its clock steps back a little', () => {
  for (const scenario of scenarios) {
    it(scenario.title, async () => {
      expect(await play((now) => createMemoryStore({ now }), scenario)).toEqual(scenario.last);
    });
  }
});

describeWithRedis('memory store when its clock steps back a little, compared with Redis', () => {
  let r: TestRedis;
  beforeAll(async () => {
    r = await createTestRedis();
  });
  afterAll(async () => {
    await r.cleanup();
  });
  scenarios.forEach((scenario, i) => {
    it(`${scenario.title} (memory answers as Redis does)`, async () => {
      const redis = await play(
        (now) => createRedisStore(r.redis, { prefix: `${r.prefix}clock-step-step-${i}:`, now }),
        scenario,
      );
      expect(redis).toEqual(scenario.last);
      expect(await play((now) => createMemoryStore({ now }), scenario)).toEqual(redis);
    });
  });
});
