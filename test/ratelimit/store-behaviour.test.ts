import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/ratelimit/memory-store.js';
import type { RateLimitPolicy } from '../../src/ratelimit/policy.js';
import type { RateLimiter } from '../../src/ratelimit/rate-limiter.js';
import { limiterFor } from '../../src/ratelimit/rate-limit-service.js';
import { createRedisStore } from '../../src/ratelimit/redis-store.js';
import type { RateLimitStore } from '../../src/ratelimit/store.js';
import { createTestRedis, describeWithRedis, type TestRedis } from '../helpers/redis.js';

/** A controllable clock; T0 is a window boundary for every window used below. */
const T0 = 1_800_000_000_000;

interface World {
  readonly store: RateLimitStore;
  /** Sets the clock to T0 + ms. */
  at(ms: number): void;
}

/** The same behaviour suite for every store: the Lua script and the TypeScript must agree. */
function storeBehaviour(makeWorld: () => Promise<World & { cleanup(): Promise<void> }>): void {
  let world: World & { cleanup(): Promise<void> };
  beforeEach(async () => {
    world = await makeWorld();
  });
  afterEach(async () => {
    await world.cleanup();
  });
  const limiter = (policy: Partial<RateLimitPolicy> & Pick<RateLimitPolicy, 'algorithm' | 'limit' | 'windowMs'>): RateLimiter =>
    limiterFor(world.store, { name: 'test', ...policy });
  const take = async (l: RateLimiter, n: number, key = 'k', cost = 1): Promise<boolean[]> => {
    const out: boolean[] = [];
    for (let i = 0; i < n; i += 1) out.push((await l.limit(key, cost)).allowed);
    return out;
  };

  describe('fixed window', () => {
    it('allows exactly the limit per window and reports remaining, reset and retry', async () => {
      const l = limiter({ algorithm: 'fixed-window', limit: 3, windowMs: 1000 });
      world.at(200);
      expect(await l.limit('k')).toEqual({ allowed: true, limit: 3, remaining: 2, reset_ms: 800, retry_after_ms: 0 });
      expect(await take(l, 2)).toEqual([true, true]);
      world.at(300);
      expect(await l.limit('k')).toEqual({ allowed: false, limit: 3, remaining: 0, reset_ms: 700, retry_after_ms: 700 });
    });

    it('starts a fresh window exactly at the edge (and so allows a burst across it)', async () => {
      const l = limiter({ algorithm: 'fixed-window', limit: 3, windowMs: 1000 });
      world.at(999);
      expect(await take(l, 4)).toEqual([true, true, true, false]);
      world.at(1000);
      expect(await take(l, 4)).toEqual([true, true, true, false]);
    });

    it('charges cost > 1 and denies a cost above what remains without consuming it', async () => {
      const l = limiter({ algorithm: 'fixed-window', limit: 10, windowMs: 1000 });
      world.at(0);
      expect((await l.limit('k', 4)).remaining).toBe(6);
      expect((await l.limit('k', 4)).remaining).toBe(2);
      const denied = await l.limit('k', 4);
      expect(denied).toMatchObject({ allowed: false, remaining: 2 });
      expect(await l.limit('k', 2)).toMatchObject({ allowed: true, remaining: 0 });
      expect((await l.limit('other', 11)).allowed).toBe(false);
    });
  });

  describe('sliding window (counter approximation)', () => {
    it('weights the previous window by how much of it still overlaps', async () => {
      const l = limiter({ algorithm: 'sliding-window', limit: 10, windowMs: 1000 });
      world.at(500);
      expect(await take(l, 11)).toEqual([...Array(10).fill(true), false]);
      // Half-way through the next window the previous 10 count as 5.
      world.at(1500);
      expect(await take(l, 5)).toEqual([true, true, true, true, true]);
      const denied = await l.limit('k');
      // 10 * (1000 - e)/1000 + 5 + 1 <= 10  ⇔  e >= 600, i.e. 100 ms from now.
      expect(denied).toMatchObject({ allowed: false, remaining: 0, retry_after_ms: 100 });
      world.at(1600);
      expect(await l.limit('k')).toMatchObject({ allowed: true, remaining: 0 });
    });

    it('forgets everything after two quiet windows', async () => {
      const l = limiter({ algorithm: 'sliding-window', limit: 2, windowMs: 1000 });
      world.at(0);
      expect(await take(l, 3)).toEqual([true, true, false]);
      world.at(2000);
      expect(await take(l, 3)).toEqual([true, true, false]);
    });

    it('tells a denied caller when the next window will let it in', async () => {
      const l = limiter({ algorithm: 'sliding-window', limit: 4, windowMs: 1000 });
      world.at(0);
      expect(await take(l, 4)).toEqual([true, true, true, true]);
      // Next window: 4 * (1000 - e)/1000 + 1 <= 4 ⇔ e >= 250 → 1000 + 250 ms from now.
      expect(await l.limit('k')).toMatchObject({ allowed: false, retry_after_ms: 1250, reset_ms: 1000 });
    });
  });

  describe('sliding log (exact)', () => {
    it('counts each request for exactly one window after it', async () => {
      const l = limiter({ algorithm: 'sliding-log', limit: 3, windowMs: 1000 });
      for (const t of [0, 100, 200]) {
        world.at(t);
        expect((await l.limit('k')).allowed).toBe(true);
      }
      world.at(300);
      expect(await l.limit('k')).toEqual({ allowed: false, limit: 3, remaining: 0, reset_ms: 700, retry_after_ms: 700 });
      world.at(999);
      expect((await l.limit('k')).allowed).toBe(false);
      world.at(1000);
      expect(await l.limit('k')).toMatchObject({ allowed: true, remaining: 0, reset_ms: 100 });
    });

    it('charges cost > 1 as that many entries', async () => {
      const l = limiter({ algorithm: 'sliding-log', limit: 5, windowMs: 1000 });
      world.at(0);
      expect(await l.limit('k', 3)).toMatchObject({ allowed: true, remaining: 2 });
      world.at(500);
      const denied = await l.limit('k', 3);
      // The first of the three entries at t=0 must expire: at t=1000.
      expect(denied).toMatchObject({ allowed: false, remaining: 2, retry_after_ms: 500 });
      expect(await l.limit('k', 2)).toMatchObject({ allowed: true, remaining: 0 });
    });

    it('records a request whose clock is behind one that just pruned the log (no entry is overwritten)', async () => {
      const l = limiter({ algorithm: 'sliding-log', limit: 3, windowMs: 1000 });
      world.at(0);
      expect(await take(l, 1)).toEqual([true]);
      world.at(10);
      expect(await take(l, 1)).toEqual([true]);
      world.at(999);
      expect(await take(l, 1)).toEqual([true]);
      // A peek from a caller 1 ms ahead prunes the entry of t=0 ...
      world.at(1000);
      expect(await l.limit('k', 0)).toMatchObject({ allowed: true, remaining: 1 });
      // ... then callers still at t=999 get exactly the one unit left, not an endless supply.
      world.at(999);
      expect(await take(l, 3)).toEqual([true, false, false]);
    });
  });

  describe('token bucket', () => {
    it('allows a full burst, then refills at limit/window', async () => {
      const l = limiter({ algorithm: 'token-bucket', limit: 10, windowMs: 10_000 });
      world.at(0);
      expect(await take(l, 10)).toEqual(Array(10).fill(true));
      expect(await l.limit('k')).toMatchObject({ allowed: false, remaining: 0, retry_after_ms: 1000, reset_ms: 10_000 });
      world.at(1000);
      expect(await take(l, 2)).toEqual([true, false]);
      world.at(1500);
      expect(await l.limit('k')).toMatchObject({ allowed: false, retry_after_ms: 500 });
    });

    it('charges cost > 1 and never refills above the bucket size', async () => {
      const l = limiter({ algorithm: 'token-bucket', limit: 10, windowMs: 10_000 });
      world.at(0);
      expect(await l.limit('k', 10)).toMatchObject({ allowed: true, remaining: 0 });
      world.at(4000);
      expect(await l.limit('k', 3)).toMatchObject({ allowed: true, remaining: 1 });
      expect(await l.limit('k', 2)).toMatchObject({ allowed: false, remaining: 1, retry_after_ms: 1000 });
      world.at(1_000_000);
      expect(await l.limit('k', 1)).toMatchObject({ allowed: true, remaining: 9 });
      expect((await l.limit('k', 11)).allowed).toBe(false);
    });
  });

  describe('block duration', () => {
    for (const algorithm of ['fixed-window', 'sliding-window', 'sliding-log', 'token-bucket'] as const) {
      it(`${algorithm}: stays blocked for the block duration even after the window resets`, async () => {
        const l = limiter({ algorithm, limit: 2, windowMs: 1000, blockDurationMs: 5000 });
        world.at(0);
        expect(await take(l, 2)).toEqual([true, true]);
        expect(await l.limit('k')).toMatchObject({ allowed: false, remaining: 0, retry_after_ms: 5000 });
        world.at(3000);
        expect(await l.limit('k')).toMatchObject({ allowed: false, remaining: 0, retry_after_ms: 2000 });
        world.at(5000);
        expect((await l.limit('k')).allowed).toBe(true);
      });
    }
  });

  it('reset forgets the counters and the block of one key only', async () => {
    const l = limiter({ algorithm: 'fixed-window', limit: 1, windowMs: 60_000, blockDurationMs: 60_000 });
    world.at(0);
    expect(await take(l, 2, 'a')).toEqual([true, false]);
    expect(await take(l, 2, 'b')).toEqual([true, false]);
    await l.reset('a');
    expect((await l.limit('a')).allowed).toBe(true);
    expect((await l.limit('b')).allowed).toBe(false);
  });

  it('keeps policies with different names apart', async () => {
    const one = limiterFor(world.store, { name: 'one', algorithm: 'fixed-window', limit: 1, windowMs: 1000 });
    const two = limiterFor(world.store, { name: 'two', algorithm: 'fixed-window', limit: 1, windowMs: 1000 });
    world.at(0);
    expect((await one.limit('k')).allowed).toBe(true);
    expect((await two.limit('k')).allowed).toBe(true);
    expect((await one.limit('k')).allowed).toBe(false);
  });

  describe('several policies on one key', () => {
    const ALGORITHMS = ['fixed-window', 'sliding-window', 'sliding-log', 'token-bucket'] as const;

    for (const algorithm of ALGORITHMS) {
      it(`${algorithm}: "5 per second and 100 per hour" under one name enforce both (10 minutes, fake clock)`, async () => {
        // The common two-tier setup, e.g. two POST /v1/ratelimit checks that differ only in the window.
        const perSecond = limiter({ algorithm, limit: 5, windowMs: 1000 });
        const perHour = limiter({ algorithm, limit: 100, windowMs: 3_600_000 });
        let byBoth = 0;
        let byHour = 0;
        let differsFromAlone = 0;
        for (let second = 0; second < 600; second += 1) {
          world.at(second * 1000 + 100);
          for (let i = 0; i < 5; i += 1) {
            const a = await perSecond.limit('k');
            const b = await perHour.limit('k');
            if (b.allowed) byHour += 1;
            if (a.allowed && b.allowed) byBoth += 1;
            // The per-second policy decides exactly as it does on a key without an hourly policy.
            if (a.allowed !== (await perSecond.limit('alone')).allowed) differsFromAlone += 1;
          }
        }
        expect(differsFromAlone).toBe(0);
        // The bucket refills 100 per hour: at most 100 + 100 * 600 s / 3600 s in 10 minutes.
        if (algorithm === 'token-bucket') expect(byHour).toBeLessThanOrEqual(116);
        else expect(byHour).toBe(100);
        expect(byBoth).toBeLessThanOrEqual(byHour);
      });

      it(`${algorithm}: another window on the same key neither resets nor drains this policy's counter`, async () => {
        const perHour = limiter({ algorithm, limit: 3, windowMs: 3_600_000 });
        const perSecond = limiter({ algorithm, limit: 2, windowMs: 1000 });
        world.at(0);
        expect(await take(perHour, 4)).toEqual([true, true, true, false]);
        // A short window starting after the hourly state's must not restart (or join) it.
        world.at(1500);
        expect(await take(perSecond, 3)).toEqual([true, true, false]);
        expect(await perHour.limit('k')).toMatchObject({ allowed: false, remaining: 0 });
        // Nor does the hourly policy's count leak into a later short window ...
        world.at(3500);
        expect(await take(perSecond, 3)).toEqual([true, true, false]);
        expect((await perHour.limit('k')).allowed).toBe(false);
        // ... and a reset is per policy too.
        await perHour.reset('k');
        expect((await perSecond.limit('k')).allowed).toBe(false);
        expect(await perHour.limit('k')).toMatchObject({ allowed: true, remaining: 2 });
        await perSecond.reset('k');
        expect((await perSecond.limit('k')).allowed).toBe(true);
        expect(await perHour.limit('k')).toMatchObject({ allowed: true, remaining: 1 });
      });
    }

    it('a different limit with the same window is a counter of its own', async () => {
      const three = limiter({ algorithm: 'fixed-window', limit: 3, windowMs: 60_000 });
      const two = limiter({ algorithm: 'fixed-window', limit: 2, windowMs: 60_000 });
      world.at(0);
      expect(await take(three, 3)).toEqual([true, true, true]);
      expect(await take(two, 3)).toEqual([true, true, false]);
      expect((await three.limit('k')).allowed).toBe(false);
    });

    it('no key or policy name, whatever separators it holds, spells another policy\'s counter', async () => {
      // Pairs that share a counter under a naive `name:key`, `name:algo:limit:window:key`,
      // `algo:limit:window:name:key`, `{name:key}:algo…` or NUL-separated layout.
      const cases: { name: string; windowMs: number; limit: number; key: string }[] = [
        { name: 'svc:a', limit: 1, windowMs: 1000, key: 'x' },
        { name: 'svc:a', limit: 1, windowMs: 60_000, key: 'x' },
        { name: 'svc:a', limit: 2, windowMs: 1000, key: 'x' },
        { name: 'svc', limit: 1, windowMs: 1000, key: 'a:x' },
        { name: 'svc', limit: 1, windowMs: 1000, key: 'a:fixed-window:1:1000:x' },
        { name: 'svc:fixed-window:1:1000:a', limit: 1, windowMs: 1000, key: 'x' },
        { name: 'svc:a', limit: 1, windowMs: 1000, key: 'x}:fixed-window' },
        { name: 'svc:a', limit: 1, windowMs: 1000, key: 'x}:block' },
        { name: 'svc:a', limit: 1, windowMs: 1000, key: '1:1000:x' },
        { name: 'svc:a:1:1000', limit: 1, windowMs: 1000, key: 'x' },
        { name: '5:svc:a', limit: 1, windowMs: 1000, key: 'x' },
        { name: 'svc:a', limit: 1, windowMs: 1000, key: '{svc:a:x}' },
        { name: 'svc:a', limit: 1, windowMs: 1000, key: 'x\u0000fixed-window\u00001' },
        { name: 'svc:a\u0000fixed-window', limit: 1, windowMs: 1000, key: 'x' },
        { name: 'svc:a', limit: 1, windowMs: 1000, key: '' },
        { name: 'svc:a:', limit: 1, windowMs: 1000, key: 'x' },
      ];
      world.at(0);
      for (const c of cases) {
        const l = limiter({ name: c.name, algorithm: 'fixed-window', limit: c.limit, windowMs: c.windowMs });
        // Untouched by every case before it, and counting on its own.
        expect({ case: c, allowed: await take(l, c.limit + 1, c.key) }).toEqual({ case: c, allowed: [...Array<boolean>(c.limit).fill(true), false] });
      }
    });
  });

  describe('clock skew at a window edge', () => {
    for (const algorithm of ['fixed-window', 'sliding-window'] as const) {
      it(`${algorithm}: a caller whose clock is a little behind joins the newer window instead of wiping its count`, async () => {
        const l = limiter({ algorithm, limit: 3, windowMs: 1000 });
        world.at(1000);
        expect(await take(l, 3)).toEqual([true, true, true]);
        // Another instance 2 ms behind (or this clock stepped back) is still in the previous window.
        world.at(998);
        expect(await l.limit('k')).toMatchObject({ allowed: false, remaining: 0 });
        world.at(1001);
        expect((await l.limit('k')).allowed).toBe(false);
      });
    }

    it('a clock that stepped back by more than a window starts afresh instead of waiting for the future window', async () => {
      const l = limiter({ algorithm: 'fixed-window', limit: 1, windowMs: 1000 });
      world.at(5000);
      expect(await take(l, 2)).toEqual([true, false]);
      world.at(2500);
      expect((await l.limit('k')).allowed).toBe(true);
    });
  });

  it('cost 0 peeks without consuming', async () => {
    const l = limiter({ algorithm: 'sliding-window', limit: 2, windowMs: 1000 });
    world.at(0);
    expect(await l.limit('k', 0)).toMatchObject({ allowed: true, remaining: 2 });
    expect(await take(l, 3)).toEqual([true, true, false]);
  });

  it('rejects a negative or fractional cost as misuse', async () => {
    const l = limiter({ algorithm: 'fixed-window', limit: 2, windowMs: 1000 });
    expect(() => l.limit('k', -1)).toThrow(TypeError);
    expect(() => l.limit('k', 1.5)).toThrow(TypeError);
  });
}

describe('memory store', () => {
  storeBehaviour(async () => {
    let now = T0;
    return { store: createMemoryStore({ now: () => now }), at: (ms) => void (now = T0 + ms), cleanup: async () => undefined };
  });

  describe('decided synchronously (consumeNow, what the HTTP hooks use)', () => {
    storeBehaviour(async () => {
      let now = T0;
      const memory = createMemoryStore({ now: () => now });
      const consumeNow = memory.consumeNow;
      if (consumeNow === undefined) throw new Error('the memory store must decide synchronously');
      // Every decision of the shared suite goes through the synchronous path.
      const store: RateLimitStore = { ...memory, consume: async (policy, key, cost) => consumeNow(policy, key, cost) };
      return { store, at: (ms) => void (now = T0 + ms), cleanup: async () => undefined };
    });
  });

  it('limitNow draws on the same counters as limit and refuses the same costs', async () => {
    const l = limiterFor(createMemoryStore({ now: () => T0 }), { name: 'both', algorithm: 'fixed-window', limit: 3, windowMs: 60_000 });
    const limitNow = l.limitNow;
    expect(limitNow).toBeDefined();
    if (limitNow === undefined) return;
    expect(limitNow('k')).toMatchObject({ allowed: true, remaining: 2 });
    expect(await l.limit('k')).toMatchObject({ allowed: true, remaining: 1 });
    expect(limitNow('k', 1)).toMatchObject({ allowed: true, remaining: 0 });
    expect(await l.limit('k')).toMatchObject({ allowed: false });
    expect(limitNow('k')).toMatchObject({ allowed: false });
    expect(() => limitNow('k', -1)).toThrow(TypeError);
    expect(() => limitNow('k', 1.5)).toThrow(TypeError);
  });

  it('is bounded: a flood of distinct keys evicts the least recently used', async () => {
    const now = T0;
    const store = createMemoryStore({ maxKeys: 100, now: () => now });
    const l = limiterFor(store, { name: 'flood', algorithm: 'fixed-window', limit: 1, windowMs: 60_000 });
    expect((await l.limit('victim')).allowed).toBe(true);
    expect((await l.limit('victim')).allowed).toBe(false);
    for (let i = 0; i < 1000; i += 1) await l.limit(`flood-${i}`);
    // The victim's entry was evicted: memory stayed at 100 entries.
    expect((await l.limit('victim')).allowed).toBe(true);
  });

  it('keeps a block in force through a flood of distinct keys in its own partition, and forgets it once it ends', async () => {
    let now = T0;
    const store = createMemoryStore({ maxKeys: 100, now: () => now });
    const lockout = limiterFor(store, { name: 'login-account', algorithm: 'fixed-window', limit: 1, windowMs: 60_000, blockDurationMs: 600_000 });
    await lockout.limit('victim@example.test', 2);
    // Made-up emails, each counted once, as a login for an unknown address is.
    for (let i = 0; i < 1000; i += 1) await lockout.limit(`made-up-${i}@example.test`);
    expect((await lockout.limit('victim@example.test', 0)).allowed).toBe(false);
    now = T0 + 600_001;
    for (let i = 0; i < 1000; i += 1) await lockout.limit(`later-${i}@example.test`);
    expect((await lockout.limit('victim@example.test', 0)).allowed).toBe(true);
  });

  it('bounds the blocks it keeps aside too: a flood of blocked keys pushes out the oldest', async () => {
    const store = createMemoryStore({ maxKeys: 10, now: () => T0 });
    const lockout = limiterFor(store, { name: 'login-account', algorithm: 'fixed-window', limit: 1, windowMs: 60_000, blockDurationMs: 600_000 });
    await lockout.limit('first', 2);
    for (let i = 0; i < 100; i += 1) await lockout.limit(`blocked-${i}`, 2);
    expect((await lockout.limit('first', 0)).allowed).toBe(true);
    expect((await lockout.limit('blocked-99', 0)).allowed).toBe(false);
  });

  it('keeps each partition in an LRU of its own: a flood in one evicts nothing in another', async () => {
    const store = createMemoryStore({ maxKeys: 100, now: () => T0, partitionOf: (p) => (p.name.startsWith('svc:') ? 'service' : 'warden') });
    const lockout = limiterFor(store, { name: 'login-account', algorithm: 'fixed-window', limit: 1, windowMs: 60_000 });
    const chosenByCaller = limiterFor(store, { name: 'svc:default', algorithm: 'fixed-window', limit: 1, windowMs: 60_000 });
    await lockout.limit('victim@example.test');
    expect((await lockout.limit('victim@example.test')).allowed).toBe(false);
    for (let i = 0; i < 1000; i += 1) await chosenByCaller.limit(`flood-${i}`);
    expect((await lockout.limit('victim@example.test')).allowed).toBe(false);
  });

  it('stores nothing for a look (cost 0) at a key without a counter, so looks cannot evict counters', async () => {
    const store = createMemoryStore({ maxKeys: 100, now: () => T0 });
    const l = limiterFor(store, { name: 'peek', algorithm: 'fixed-window', limit: 1, windowMs: 60_000 });
    await l.limit('victim');
    for (let i = 0; i < 1000; i += 1) expect((await l.limit(`look-${i}`, 0)).allowed).toBe(true);
    expect((await l.limit('victim')).allowed).toBe(false);
    // A look at a counted key still sees its state.
    expect(await l.limit('victim', 0)).toMatchObject({ allowed: true, remaining: 0 });
  });
});

describeWithRedis('redis store', () => {
  let redis: TestRedis | undefined;
  storeBehaviour(async () => {
    redis = await createTestRedis();
    let now = T0;
    const r = redis;
    return { store: createRedisStore(r.redis, { prefix: r.prefix, now: () => now }), at: (ms) => void (now = T0 + ms), cleanup: () => r.cleanup() };
  });

  it('offers no synchronous decision: every one asks Redis', async () => {
    const r = await createTestRedis();
    try {
      const store = createRedisStore(r.redis, { prefix: r.prefix });
      expect(store.consumeNow).toBeUndefined();
      expect(limiterFor(store, { name: 'async', algorithm: 'fixed-window', limit: 1, windowMs: 1000 }).limitNow).toBeUndefined();
    } finally {
      await r.cleanup();
    }
  });

  it('puts both keys of a decision in one cluster slot and sets a TTL on every key', async () => {
    const r = await createTestRedis();
    try {
      const store = createRedisStore(r.redis, { prefix: r.prefix });
      for (const algorithm of ['fixed-window', 'sliding-window', 'sliding-log', 'token-bucket'] as const) {
        const l = limiterFor(store, { name: `ttl-${algorithm}`, algorithm, limit: 1, windowMs: 60_000, blockDurationMs: 30_000 });
        await l.limit('user:1');
        await l.limit('user:1');
      }
      const keys = await r.redis.keys(`${r.prefix}*`);
      expect(keys.length).toBe(8);
      for (const key of keys) {
        expect(key).toMatch(/\{[a-z-]+:1:60000:\d+:ttl-[a-z-]+:user:1\}:/);
        const ttl = await r.redis.pttl(key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(121_000);
      }
      const slots = new Set(await Promise.all(keys.filter((k) => k.includes('ttl-fixed')).map((k) => r.redis.call('CLUSTER', 'KEYSLOT', k).catch(() => 'no-cluster'))));
      expect(slots.size).toBe(1);
    } finally {
      await r.cleanup();
    }
  });

  it('keeps the TTL set at the start of a window while the count moves, and sets a new one in the next window', async () => {
    const r = await createTestRedis();
    try {
      let now = T0;
      const store = createRedisStore(r.redis, { prefix: r.prefix, now: () => now });
      for (const algorithm of ['fixed-window', 'sliding-window'] as const) {
        const name = `ttl-moves-${algorithm}`;
        const l = limiterFor(store, { name, algorithm, limit: 100, windowMs: 60_000 });
        const key = `${r.prefix}rl:{${algorithm}:100:60000:${name.length}:${name}:k}:${algorithm}`;
        now = T0;
        await l.limit('k');
        const first = await r.redis.pttl(key);
        // Later in the same window: the count moves, the expiry moment stays where it was.
        now = T0 + 30_000;
        expect(await l.limit('k')).toMatchObject({ allowed: true, remaining: 98 });
        expect(await r.redis.hget(key, 'c')).toBe('2');
        expect(await r.redis.pttl(key)).toBeLessThanOrEqual(first);
        // The next window starts over and gets a TTL of its own, counted from that window.
        now = T0 + 60_000;
        await l.limit('k');
        expect(await r.redis.hget(key, 'w')).toBe(String(T0 + 60_000));
        const renewed = await r.redis.pttl(key);
        expect(renewed).toBeGreaterThan(algorithm === 'fixed-window' ? 60_000 : 120_000);
      }
    } finally {
      await r.cleanup();
    }
  });

  it('re-loads its script after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    const r = await createTestRedis();
    try {
      const l = limiterFor(createRedisStore(r.redis, { prefix: r.prefix }), { name: 'flush', limit: 5, windowMs: 60_000 });
      expect((await l.limit('k')).allowed).toBe(true);
      await r.redis.script('FLUSH');
      expect(await l.limit('k')).toMatchObject({ allowed: true, remaining: 3 });
    } finally {
      await r.cleanup();
    }
  });
});
