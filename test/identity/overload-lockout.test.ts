import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PasswordService } from '../../src/identity/password-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createTestRedis, describeWithRedis, TEST_REDIS_URL, type TestRedis } from '../helpers/redis.js';
import { bearer, identityOfApp, login, OTHER_PASSWORD, seedUser, STRONG_PASSWORD } from './identity-helpers.js';

/** The committed audit rows of one action, oldest first, with their details parsed. */
async function auditRows(t: TestApp, action: string) {
  const rows = await t.context.storage.db.selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('seq').execute();
  return rows.map((row) => ({ ...row, details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>) }));
}

/**
 * Takes the only hashing slot (someone else's hashing: a login flood, in production) until
 * `release()`. `queued(n)` resolves once n more callers have asked for a slot, so that a test
 * knows its requests are waiting in the queue before it lets the slot go.
 */
function holdHashingSlot(passwords: PasswordService): { release: () => void; done: Promise<void>; queued: (n: number) => Promise<void>; restore: () => void } {
  const realWithSlot = passwords.withSlot.bind(passwords);
  let asked = 0;
  passwords.withSlot = (work) => {
    asked += 1;
    return realWithSlot(work);
  };
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const done = realWithSlot(() => held);
  return {
    release,
    done,
    queued: (n) => vi.waitFor(() => expect(asked).toBeGreaterThanOrEqual(n), { timeout: 5000, interval: 5 }),
    restore: () => (passwords.withSlot = realWithSlot),
  };
}

/** Counts the password verifications of known users (the argon2 work a guess costs). */
function countVerifications(passwords: PasswordService): { count: () => number } {
  const realVerify = passwords.verify.bind(passwords);
  let count = 0;
  passwords.verify = (stored, password, slot) => {
    count += 1;
    return realVerify(stored, password, slot);
  };
  return { count: () => count };
}

function overloadSuite(extraEnv: () => Record<string, string>): void {
  let t: TestApp;
  afterEach(async () => t.close());

  const app = async (queueTimeoutMs: number) => {
    t = await createTestApp({
      env: { WARDEN_PASSWORD_HASH_CONCURRENCY: '1', WARDEN_PASSWORD_HASH_QUEUE_TIMEOUT_MS: String(queueTimeoutMs), WARDEN_RATELIMIT_AUTH: 'off', ...extraEnv() },
    });
    // The throttle's counters live where the suite says (shared Redis, or this process).
    expect(t.context.rateLimits.backend).toBe('WARDEN_REDIS_URL' in extraEnv() ? 'redis' : 'memory');
    return t;
  };
  const loginAs = (email: string, password: string, remoteAddress: string) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, remoteAddress });

  it('503 overloaded answers count nothing: the right password gets in after more of them than any tier allows, and each is audited as overloaded', async () => {
    await app(20);
    const user = await seedUser(t, { email: 'busy@example.test' });
    const slot = holdHashingSlot(identityOfApp(t).passwords);
    // More than the 15-minute tier's 5: counted, these would have started the 15-minute lock.
    for (let i = 0; i < 6; i += 1) {
      const response = await loginAs(user.email, STRONG_PASSWORD, `198.51.100.${i + 1}`);
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ code: 'overloaded' });
      expect(response.headers['retry-after']).toBe('1');
    }
    slot.release();
    await slot.done;
    slot.restore();
    // The overload is over; the user logs in with the right password.
    const response = await loginAs(user.email, STRONG_PASSWORD, '198.51.100.9');
    expect(response.json()).not.toMatchObject({ code: 'account_locked' });
    expect(response.statusCode).toBe(200);

    const failed = await auditRows(t, 'auth.login.failed');
    expect(failed.map((e) => [e.outcome, e.details?.reason, e.actor.startsWith('email:')])).toEqual(Array.from({ length: 6 }, () => ['denied', 'overloaded', true]));
    expect(JSON.stringify(failed)).not.toContain(STRONG_PASSWORD);
    expect(JSON.stringify(failed)).not.toContain(user.email);
  });

  it('a wrong password that waits out an overload and gets its slot still counts', async () => {
    await app(10_000);
    const user = await seedUser(t, { email: 'guessed@example.test' });
    const slot = holdHashingSlot(identityOfApp(t).passwords);
    // Three guesses queue behind the held slot (none is counted yet, so the look lets all in)…
    const guesses = [1, 2, 3].map((i) => loginAs(user.email, OTHER_PASSWORD, `203.0.113.${i}`));
    await slot.queued(3);
    slot.release();
    await slot.done;
    slot.restore();
    // …each gets the slot in turn, is counted, checked and refused…
    expect((await Promise.all(guesses)).map((r) => r.statusCode)).toEqual([401, 401, 401]);
    // …and they start the burst tier's lock: the right password is refused now.
    const locked = await loginAs(user.email, STRONG_PASSWORD, '203.0.113.9');
    expect(locked.statusCode).toBe(429);
    expect(locked.json()).toMatchObject({ code: 'account_locked' });
    const failed = await auditRows(t, 'auth.login.failed');
    expect(failed.map((e) => e.details?.reason)).toEqual(['wrong_password', 'wrong_password', 'wrong_password', 'throttled']);
  });

  it('concurrent guesses queued behind an overload are still held to the burst tier: 3 checked passwords, the rest refused without hashing', async () => {
    await app(10_000);
    const user = await seedUser(t, { email: 'flooded@example.test' });
    const passwords = identityOfApp(t).passwords;
    const verifications = countVerifications(passwords);
    const slot = holdHashingSlot(passwords);
    // All of them pass the look before any is counted (the slot is busy), and wait for it.
    const guesses = Array.from({ length: 16 }, (_, i) => loginAs(user.email, OTHER_PASSWORD, `192.0.2.${i + 1}`));
    await slot.queued(16);
    slot.release();
    await slot.done;
    slot.restore();
    const codes = (await Promise.all(guesses)).map((r) => r.statusCode).sort();
    expect(codes).toEqual([...Array.from({ length: 3 }, () => 401), ...Array.from({ length: 13 }, () => 429)]);
    expect(verifications.count()).toBe(3);
  });

  it('the current-password check of a password change: 503 overloaded answers count nothing either', async () => {
    await app(20);
    const user = await seedUser(t, { email: 'changer@example.test' });
    const tokens = await login(t.app, user.email);
    const slot = holdHashingSlot(identityOfApp(t).passwords);
    const change = () =>
      t.app.inject({
        method: 'POST',
        url: '/v1/auth/password',
        headers: bearer(tokens.access_token),
        payload: { current_password: STRONG_PASSWORD, new_password: 'amber-meadow-silently-31' },
      });
    for (let i = 0; i < 6; i += 1) {
      const response = await change();
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ code: 'overloaded' });
    }
    slot.release();
    await slot.done;
    slot.restore();
    expect((await change()).statusCode).toBe(204);
    const failed = await auditRows(t, 'auth.password_change.failed');
    expect(failed.map((e) => [e.outcome, e.details?.reason, e.actor])).toEqual(Array.from({ length: 6 }, () => ['denied', 'overloaded', user.id]));
    expect(JSON.stringify(failed)).not.toContain(STRONG_PASSWORD);
  });
}

describe('a hashing overload does not lock accounts (memory)', () => {
  overloadSuite(() => ({}));
});

describeWithRedis('a hashing overload does not lock accounts', () => {
  let redis: TestRedis;
  beforeEach(async () => {
    redis = await createTestRedis();
  });
  afterEach(async () => redis.cleanup());
  overloadSuite(() => ({ WARDEN_REDIS_URL: TEST_REDIS_URL, WARDEN_REDIS_KEY_PREFIX: redis.prefix }));
});
