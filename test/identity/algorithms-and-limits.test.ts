import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { defaultHashConcurrency, HashSemaphore } from '../../src/identity/hash-semaphore.js';
import { identityOf } from '../../src/identity/identity-service.js';
import { createTestApp } from '../helpers/app.js';
import { bearer, login, seedUser } from './identity-helpers.js';

describe('configurable signing algorithms', () => {
  it.each([
    ['ES256', { kty: 'EC', crv: 'P-256' }],
    ['RS256', { kty: 'RSA' }],
  ])('%s: signs, publishes and verifies', async (algorithm, shape) => {
    const t = await createTestApp({ env: { WARDEN_JWT_ALGORITHM: algorithm } });
    try {
      const jwks = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: Record<string, unknown>[] };
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).toMatchObject({ ...shape, alg: algorithm });
      const user = await seedUser(t);
      const tokens = await login(t.app, user.email);
      expect(JSON.parse(Buffer.from(tokens.access_token.split('.')[0] ?? '', 'base64url').toString())).toMatchObject({ alg: algorithm, typ: 'at+jwt' });
      expect((await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('HS256: verifies its own tokens and publishes no key', async () => {
    const t = await createTestApp({ env: { WARDEN_JWT_ALGORITHM: 'hs256' } });
    try {
      expect((await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()).toEqual({ keys: [] });
      const user = await seedUser(t);
      const tokens = await login(t.app, user.email);
      expect((await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('passes API-key-shaped bearers on to the next authenticator instead of rejecting them as JWTs', async () => {
    const t = await createTestApp();
    try {
      const response = await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer('wdn_live_notarealkey') });
      expect(response.statusCode).toBe(401);
      expect((response.json() as { code: string }).code).not.toMatch(/^token_(malformed|algorithm|unknown)/);
    } finally {
      await t.close();
    }
  });
});

describe('the password-hash semaphore', () => {
  it('runs one hash per usable core by default, leaving a libuv thread for token checks', () => {
    expect(defaultHashConcurrency(1, 4)).toBe(1);
    expect(defaultHashConcurrency(2, 4)).toBe(2);
    expect(defaultHashConcurrency(16, 4)).toBe(3);
    expect(defaultHashConcurrency(16, 8)).toBe(7);
    expect(defaultHashConcurrency(4, 1)).toBe(1);
    expect(defaultHashConcurrency(4, Number.NaN)).toBe(3);
  });

  it('is wired into the service: the default from this machine, or WARDEN_PASSWORD_HASH_CONCURRENCY', async () => {
    const byDefault = await createTestApp();
    const configured = await createTestApp({ env: { WARDEN_PASSWORD_HASH_CONCURRENCY: '5' } });
    try {
      const expected = defaultHashConcurrency(availableParallelism(), Number(process.env.UV_THREADPOOL_SIZE ?? 4));
      expect(identityOf(byDefault.context).passwords.concurrency).toBe(expected);
      expect(identityOf(configured.context).passwords.concurrency).toBe(5);
    } finally {
      await Promise.all([byDefault.close(), configured.close()]);
    }
  });

  it('runs at most N at once and answers 503 overloaded when the queue wait times out', async () => {
    const semaphore = new HashSemaphore({ concurrency: 1, queueTimeoutMs: 20 });
    let release: () => void = () => undefined;
    const blocker = semaphore.run(() => new Promise<void>((resolve) => (release = resolve)));
    await expect(semaphore.run(async () => 'late')).rejects.toMatchObject({ code: 'overloaded', status: 503 });
    const queued = semaphore.run(async () => 'next');
    release();
    await blocker;
    await expect(queued).resolves.toBe('next');
  });
});
