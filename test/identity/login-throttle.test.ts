import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoginThrottle, type ThrottleDecision } from '../../src/identity/login-throttle.js';
import { createRateLimitService, type RateLimitService } from '../../src/ratelimit/rate-limit-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createTestRedis, describeWithRedis, type TestRedis } from '../helpers/redis.js';
import { OTHER_PASSWORD, seedUser, STRONG_PASSWORD } from './identity-helpers.js';

const LOCKOUT_MS = 15 * 60_000;

describe('login throttle: the per-IP failure tier groups addresses as the HTTP limits do', () => {
  // A clock that stands still, so that a lock's Retry-After is exact.
  const throttleWith = (maxFailuresPerIp: number) =>
    new LoginThrottle(createRateLimitService({ now: () => Date.UTC(2030, 0, 1) }), { maxFailuresPerAccount: 1000, maxFailuresPerIp, lockoutMs: LOCKOUT_MS });

  it('counts the addresses of one IPv6 /64 together, and another /64 apart', async () => {
    const throttle = throttleWith(3);
    for (let i = 1; i <= 3; i++) await throttle.recordFailure(`2001:db8:1:2::${i}`);
    expect((await throttle.checkIp('2001:db8:1:2:ffff:ffff:ffff:ffff')).allowed).toBe(false);
    expect((await throttle.reserve('some-account', '2001:db8:1:2::99')).allowed).toBe(false);
    expect((await throttle.checkIp('2001:db8:1:3::1')).allowed).toBe(true);
  });

  it('ignores a source port a proxy appended, and counts IPv4-mapped IPv6 as the IPv4 address', async () => {
    const throttle = throttleWith(3);
    await throttle.recordFailure('203.0.113.9:40001');
    await throttle.recordFailure('[::ffff:203.0.113.9]:443');
    await throttle.recordFailure('203.0.113.9');
    expect((await throttle.checkIp('203.0.113.9:51234')).allowed).toBe(false);
    expect((await throttle.checkIp('203.0.113.10')).allowed).toBe(true);
  });

  it('counts requests without an address in one shared budget', async () => {
    const throttle = throttleWith(2);
    await throttle.recordFailure(undefined);
    await throttle.recordFailure(undefined);
    expect((await throttle.checkIp(undefined)).allowed).toBe(false);
  });

  it('WARDEN_LOGIN_MAX_FAILURES_PER_IP = 1 locks the address at its first failure', async () => {
    const throttle = throttleWith(1);
    expect((await throttle.checkIp('198.51.100.1')).allowed).toBe(true);
    expect(await throttle.recordFailure('198.51.100.1')).toEqual({ allowed: false, retryAfterMs: LOCKOUT_MS });
    expect(await throttle.checkIp('198.51.100.1')).toEqual({ allowed: false, retryAfterMs: LOCKOUT_MS });
    expect((await throttle.checkIp('198.51.100.2')).allowed).toBe(true);
  });

  it('WARDEN_LOGIN_MAX_FAILURES_PER_IP = 2 still allows two failures (the first locks nothing)', async () => {
    const throttle = throttleWith(2);
    expect((await throttle.recordFailure('198.51.100.1')).allowed).toBe(true);
    expect((await throttle.checkIp('198.51.100.1')).allowed).toBe(true);
    expect((await throttle.recordFailure('198.51.100.1')).allowed).toBe(false);
    expect((await throttle.checkIp('198.51.100.1')).allowed).toBe(false);
  });
});

describe('login throttle over HTTP: per-IP failures', () => {
  let t: TestApp;
  afterEach(async () => t.close());

  const fail = (email: string, remoteAddress: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress, headers, payload: { email, password: OTHER_PASSWORD } });

  it('IPv6: the addresses of one /64 share one budget', async () => {
    t = await createTestApp({ env: { WARDEN_LOGIN_MAX_FAILURES_PER_IP: '3', WARDEN_RATELIMIT_AUTH: 'off' } });
    const codes = [];
    // Distinct emails, so that the account tiers never trip: only the IP tier is under test.
    for (let i = 0; i < 6; i++) codes.push((await fail(`u${i}@example.test`, `2001:db8:1:2::${(i + 1).toString(16)}`)).statusCode);
    expect(codes).toEqual([401, 401, 401, 429, 429, 429]);
  });

  it('behind a proxy that appends the source port, the connections of one address share one budget', async () => {
    t = await createTestApp({ env: { WARDEN_LOGIN_MAX_FAILURES_PER_IP: '3', WARDEN_RATELIMIT_AUTH: 'off', WARDEN_TRUST_PROXY: '1' } });
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push((await fail(`u${i}@example.test`, '10.0.0.2', { 'x-forwarded-for': `203.0.113.9:${40000 + i}` })).statusCode);
    expect(codes).toEqual([401, 401, 401, 429, 429, 429]);
  });

  it('WARDEN_LOGIN_MAX_FAILURES_PER_IP=1 starts, and locks the address at its first failure', async () => {
    t = await createTestApp({ env: { WARDEN_LOGIN_MAX_FAILURES_PER_IP: '1', WARDEN_RATELIMIT_AUTH: 'off' } });
    const user = await seedUser(t, { email: 'one@example.test' });
    expect((await fail('nobody@example.test', '198.51.100.7')).statusCode).toBe(401);
    const locked = await t.app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: '198.51.100.7', payload: { email: user.email, password: STRONG_PASSWORD } });
    expect(locked.statusCode).toBe(429);
    expect(locked.json()).toMatchObject({ code: 'account_locked' });
    const elsewhere = await t.app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: '198.51.100.8', payload: { email: user.email, password: STRONG_PASSWORD } });
    expect(elsewhere.statusCode).toBe(200);
  });
});

/**
 * Fails logins for one account, waiting out every short lockout, until the long-term lock;
 * returns it and how many attempts were let through before it.
 */
async function failUntilLongLock(throttle: LoginThrottle, clock: { now: number }): Promise<{ lock: ThrottleDecision; allowed: number }> {
  let allowed = 0;
  for (let i = 0; i < 500; i++) {
    const decision = await throttle.reserve('acct', `203.0.113.${i % 200}`);
    if (decision.allowed) allowed += 1;
    else if (decision.retryAfterMs >= 2 * 3_600_000) return { lock: decision, allowed };
    else clock.now += decision.retryAfterMs;
  }
  throw new Error('the long-term lock never came');
}

function longTermTierSuite(serviceFor: (clock: { now: number }) => Promise<RateLimitService>): void {
  it('15 failures lock the account for exactly 8 × lockout; then it counts from zero again', async () => {
    const clock = { now: Date.UTC(2030, 0, 1, 0, 0, 0) };
    const throttle = new LoginThrottle(await serviceFor(clock), { maxFailuresPerAccount: 5, maxFailuresPerIp: 1_000_000, lockoutMs: LOCKOUT_MS });
    const first = await failUntilLongLock(throttle, clock);
    expect(first.lock).toEqual({ allowed: false, retryAfterMs: 8 * LOCKOUT_MS });
    // Refused (without counting) until the lock ends…
    clock.now += 8 * LOCKOUT_MS - 1000;
    expect(await throttle.reserve('acct', '192.0.2.1')).toEqual({ allowed: false, retryAfterMs: 1000 });
    // …and let through right after it, the owner's right password included.
    clock.now += 1000;
    expect((await throttle.reserve('acct', '192.0.2.1')).allowed).toBe(true);
    // The next long-term lock takes about as many failures as the first one did (give or take
    // the attempt above and where the short lockouts fall), not one.
    clock.now += 1;
    const second = await failUntilLongLock(throttle, clock);
    expect(second.allowed).toBeGreaterThanOrEqual(first.allowed - 1);
    expect(second.lock).toEqual({ allowed: false, retryAfterMs: 8 * LOCKOUT_MS });
  });

  it('a burst of concurrent attempts is held to the burst tier: the ones it refuses do not fill the longer tiers', async () => {
    const clock = { now: Date.UTC(2030, 0, 1, 0, 0, 0) };
    const throttle = new LoginThrottle(await serviceFor(clock), { maxFailuresPerAccount: 5, maxFailuresPerIp: 1_000_000, lockoutMs: LOCKOUT_MS });
    const burst = await Promise.all(Array.from({ length: 16 }, (_, i) => throttle.reserve('victim', `198.51.100.${i + 1}`)));
    expect(burst.filter((d) => d.allowed)).toHaveLength(3);
    // Once the burst tier lets attempts through again, they are let through: no 15-minute
    // lockout and no 8 × lockout after three checked passwords.
    const waits = burst.filter((d): d is Extract<ThrottleDecision, { allowed: false }> => !d.allowed).map((d) => d.retryAfterMs);
    expect(Math.max(...waits)).toBeLessThan(LOCKOUT_MS);
    clock.now += Math.max(...waits);
    expect((await throttle.reserve('victim', '192.0.2.1')).allowed).toBe(true);
  });

  it('an attempt made after the announced Retry-After is let through, not refused and counted', async () => {
    const clock = { now: Date.UTC(2030, 0, 1, 0, 0, 0) };
    const throttle = new LoginThrottle(await serviceFor(clock), { maxFailuresPerAccount: 5, maxFailuresPerIp: 1_000_000, lockoutMs: LOCKOUT_MS });
    for (let i = 0; i < 3; i++) expect((await throttle.reserve('acct', '192.0.2.1')).allowed).toBe(true);
    clock.now += 3000;
    const refused = await throttle.reserve('acct', '192.0.2.1');
    if (refused.allowed) throw new Error('the fourth quick attempt was let through');
    // Asked again part-way: the same moment is announced.
    clock.now += 7000;
    expect(await throttle.reserve('acct', '192.0.2.1')).toEqual({ allowed: false, retryAfterMs: refused.retryAfterMs - 7000 });
    clock.now += refused.retryAfterMs - 7000;
    expect((await throttle.reserve('acct', '192.0.2.1')).allowed).toBe(true);
  });

  it('check looks without counting: any number of looks leave the whole burst budget to reserve', async () => {
    const clock = { now: Date.UTC(2030, 0, 1, 0, 0, 0) };
    const throttle = new LoginThrottle(await serviceFor(clock), { maxFailuresPerAccount: 5, maxFailuresPerIp: 1_000_000, lockoutMs: LOCKOUT_MS });
    // What logins turned away by the hashing queue (503) leave behind: a look each, nothing counted.
    for (let i = 0; i < 20; i++) expect(await throttle.check('acct', `198.51.100.${i + 1}`)).toEqual({ allowed: true });
    for (let i = 0; i < 3; i++) expect((await throttle.reserve('acct', '192.0.2.1')).allowed).toBe(true);
    const refused = await throttle.reserve('acct', '192.0.2.1');
    expect(refused.allowed).toBe(false);
    // And a look sees the lock that reserve started.
    expect(await throttle.check('acct', '192.0.2.2')).toEqual(refused);
  });

  it('a success clears the long-term count too', async () => {
    const clock = { now: Date.UTC(2030, 0, 1, 0, 0, 0) };
    const throttle = new LoginThrottle(await serviceFor(clock), { maxFailuresPerAccount: 5, maxFailuresPerIp: 1_000_000, lockoutMs: LOCKOUT_MS });
    const fresh = await failUntilLongLock(throttle, clock);
    clock.now += 8 * LOCKOUT_MS;
    // Close to the long-term limit, then a success: the count restarts.
    for (let i = 0; i < fresh.allowed - 2; i++) {
      const d = await throttle.reserve('acct', '192.0.2.1');
      if (!d.allowed) clock.now += d.retryAfterMs;
    }
    clock.now += LOCKOUT_MS;
    expect((await throttle.reserve('acct', '192.0.2.1')).allowed).toBe(true);
    await throttle.recordSuccess('acct');
    expect((await failUntilLongLock(throttle, clock)).allowed).toBeGreaterThanOrEqual(fresh.allowed - 1);
  });
}

describe('login throttle: the long-term account tier (memory)', () => {
  longTermTierSuite(async (clock) => createRateLimitService({ now: () => clock.now }));
});

describeWithRedis('login throttle: the long-term account tier', () => {
  let redis: TestRedis;
  beforeEach(async () => {
    redis = await createTestRedis();
  });
  afterEach(async () => redis.cleanup());
  longTermTierSuite(async (clock) => createRateLimitService({ redis: redis.redis, keyPrefix: redis.prefix, now: () => clock.now }));
});
