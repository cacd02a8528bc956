import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, identityOfApp, login, OTHER_PASSWORD, seedUser, STRONG_PASSWORD } from './identity-helpers.js';

/** The `sid` claim of an access token. */
const sessionIdOf = (accessToken: string): string =>
  (JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString()) as { sid: string }).sid;

/** A revocation query for a token of the same session issued by an instance whose clock runs a minute ahead. */
const fromAheadClock = (userId: string, accessToken: string) => ({ jti: 'issued-elsewhere', userId, issuedAtMs: Date.now() + 60_000, sessionId: sessionIdOf(accessToken) });

describeEachDatabase('login, refresh and logout over HTTP', (dialect) => {
  let t: TestApp;
  let audit: AuditEventInput[];
  beforeEach(async () => {
    t = await createTestApp({ dialect });
    audit = [];
    const real = t.context.audit;
    t.context.audit = {
      record: async (event) => {
        audit.push(event);
        await real.record(event);
      },
    };
  });
  afterEach(async () => t.close());

  it('logs in with email (any case, padded) and password; the access token works on /v1/auth/me', async () => {
    const user = await seedUser(t, { email: 'alice@example.test' });
    const tokens = await login(t.app, '  Alice@Example.TEST ');
    expect(tokens.expires_in).toBe(900);
    expect(tokens.refresh_token).toMatch(/^wrt_[A-Za-z0-9_-]{43}$/);
    const me = await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(tokens.access_token) });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: user.id, email: 'alice@example.test', is_admin: false, roles: [], permissions: [] });
    const success = audit.find((e) => e.action === 'auth.login.succeeded');
    expect(success).toMatchObject({ actor: user.id, outcome: 'success', ip: '127.0.0.1' });
  });

  it('/v1/auth/me lists the roles and role-derived permissions from authz', async () => {
    const authz = t.context.authz;
    expect(authz).toBeDefined();
    if (authz === undefined) return;
    const user = await seedUser(t);
    const admin = await seedUser(t, { isAdmin: true });
    const actor = { principal: { kind: 'user' as const, subject: admin.id, permissions: ['*:*'], credentialId: 'test' } };
    await authz.createRole(actor, { name: 'report-reader', permissions: ['reports:read'] });
    await authz.assignRole(actor, { userId: user.id, role: 'report-reader' });
    const tokens = await login(t.app, user.email);
    const me = await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(tokens.access_token) });
    expect(me.json()).toMatchObject({ roles: ['report-reader'], permissions: ['reports:read'] });
  });

  it('gives unknown email, wrong password and inactive user the same 401 body; each is audited without the raw email', async () => {
    await seedUser(t, { email: 'bob@example.test' });
    const inactive = await seedUser(t, { email: 'carol@example.test' });
    await identityOfApp(t).userAdmin.update(inactive.id, { isActive: false }, { actor: 'system', ip: undefined, userAgent: undefined });
    const attempts = [
      { email: 'nobody@example.test', password: STRONG_PASSWORD },
      { email: 'bob@example.test', password: OTHER_PASSWORD },
      { email: 'carol@example.test', password: STRONG_PASSWORD },
    ];
    const bodies = [];
    for (const payload of attempts) {
      const response = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload });
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toContain('application/problem+json');
      const { type, title, status, detail, code } = response.json() as Record<string, unknown>;
      bodies.push({ type, title, status, detail, code });
    }
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
    expect(bodies[0]?.code).toBe('invalid_credentials');
    const failures = audit.filter((e) => e.action === 'auth.login.failed');
    expect(failures.map((e) => e.details?.reason)).toEqual(['unknown_user', 'wrong_password', 'inactive_user']);
    expect(failures[0]?.actor).toMatch(/^email:/);
    expect(JSON.stringify(audit)).not.toContain('nobody@example.test');
    expect(t.rawLogs()).not.toContain(STRONG_PASSWORD);
  });

  it('verifies the unknown-user path against a dummy hash (same work as a real login)', async () => {
    const passwords = identityOfApp(t).passwords;
    let dummyCalls = 0;
    let realCalls = 0;
    const originalDummy = passwords.verifyDummy.bind(passwords);
    const originalVerify = passwords.verify.bind(passwords);
    passwords.verifyDummy = async (password) => {
      dummyCalls += 1;
      return originalDummy(password);
    };
    passwords.verify = async (stored, password) => {
      realCalls += 1;
      return originalVerify(stored, password);
    };
    await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'ghost@example.test', password: STRONG_PASSWORD } });
    expect({ dummyCalls, realCalls }).toEqual({ dummyCalls: 1, realCalls: 0 });
  });

  it('rotates refresh tokens: the old one stops working and the new pair works', async () => {
    const user = await seedUser(t);
    const first = await login(t.app, user.email);
    const refreshed = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: first.refresh_token } });
    expect(refreshed.statusCode).toBe(200);
    expect(refreshed.headers['cache-control']).toBe('no-store');
    const second = refreshed.json() as { access_token: string; refresh_token: string };
    expect(second.refresh_token).not.toBe(first.refresh_token);
    const me = await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(second.access_token) });
    expect(me.statusCode).toBe(200);
    const next = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: second.refresh_token } });
    expect(next.statusCode).toBe(200);
  });

  it('treats a reused refresh token as theft: 401, the whole family revoked, an audit event', async () => {
    const user = await seedUser(t);
    const first = await login(t.app, user.email);
    const second = (await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: first.refresh_token } })).json() as {
      refresh_token: string;
      access_token: string;
    };
    const reuse = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: first.refresh_token } });
    expect(reuse.statusCode).toBe(401);
    expect(reuse.json()).toMatchObject({ code: 'refresh_token_reused' });
    // The legitimate holder's newer token died with the family.
    const after = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: second.refresh_token } });
    expect(after.json()).toMatchObject({ code: 'refresh_token_invalid' });
    // Access tokens issued to the family die with it.
    expect((await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(second.access_token) })).json()).toMatchObject({ code: 'token_revoked' });
    expect(audit.find((e) => e.action === 'auth.refresh.reuse_detected')).toMatchObject({ actor: user.id, outcome: 'denied' });
  });

  it('lets exactly one of two racing refreshes with the same token win', async () => {
    const user = await seedUser(t);
    const first = await login(t.app, user.email);
    const responses = await Promise.all(
      [0, 1].map(() => t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: first.refresh_token } })),
    );
    const codes = responses.map((r) => r.statusCode).sort();
    expect(codes).toEqual([200, 401]);
    // Whether the loser lost the conditional UPDATE or, when the database serialised the two, saw
    // a used token, it is reuse with the default leeway 0 (refresh-race.test.ts has the rest).
    const loser = responses.find((r) => r.statusCode === 401)?.json() as { code: string };
    expect(loser.code).toBe('refresh_token_reused');
  });

  it('logout revokes the access token and the refresh token', async () => {
    const user = await seedUser(t);
    const tokens = await login(t.app, user.email);
    const out = await t.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(tokens.access_token), payload: { refresh_token: tokens.refresh_token } });
    expect(out.statusCode).toBe(204);
    const me = await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(tokens.access_token) });
    expect(me.json()).toMatchObject({ status: 401, code: 'token_revoked' });
    const refresh = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: tokens.refresh_token } });
    expect(refresh.json()).toMatchObject({ code: 'refresh_token_invalid' });
    expect(audit.some((e) => e.action === 'auth.logout' && e.actor === user.id)).toBe(true);
  });

  it('logout without a body still revokes the access token and its session', async () => {
    const user = await seedUser(t);
    const tokens = await login(t.app, user.email);
    const out = await t.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(tokens.access_token) });
    expect(out.statusCode).toBe(204);
    const refresh = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: tokens.refresh_token } });
    expect(refresh.statusCode).toBe(401);
  });

  it('logout-all revokes every session and every access token of the user', async () => {
    const user = await seedUser(t);
    const a = await login(t.app, user.email);
    const b = await login(t.app, user.email);
    const out = await t.app.inject({ method: 'POST', url: '/v1/auth/logout-all', headers: bearer(a.access_token) });
    expect(out.json()).toEqual({ sessions_revoked: 2 });
    for (const tokens of [a, b]) {
      expect((await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(tokens.access_token) })).json()).toMatchObject({ code: 'token_revoked' });
      expect((await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: tokens.refresh_token } })).statusCode).toBe(401);
    }
    // Each ended session is denied by its own marker, so a token issued by an instance whose
    // clock runs ahead of this one (iat after the user marker) is denied all the same.
    for (const tokens of [a, b]) expect(await identityOfApp(t).revocations.isRevoked(fromAheadClock(user.id, tokens.access_token))).toBe(true);
  });

  it('logout-all writes session markers only for sessions that issued tokens lately', async () => {
    const user = await seedUser(t);
    const active = await login(t.app, user.email);
    const idle = await login(t.app, user.email);
    const idleSession = sessionIdOf(idle.access_token);
    // Last used long before any of its access tokens could still be alive.
    await t.context.storage.db.updateTable('auth_sessions').set({ last_used_at: 0 }).where('id', '=', idleSession).execute();
    await t.app.inject({ method: 'POST', url: '/v1/auth/logout-all', headers: bearer(active.access_token) });
    const revocations = identityOfApp(t).revocations;
    expect(await revocations.isRevoked(fromAheadClock(user.id, active.access_token))).toBe(true);
    expect(await revocations.isRevoked(fromAheadClock(user.id, idle.access_token))).toBe(false);
    // Its real tokens are still refused (the user marker, and the session is revoked).
    expect((await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(idle.access_token) })).statusCode).toBe(401);
  });

  it('lists the caller’s sessions and revokes one of them', async () => {
    const user = await seedUser(t);
    const a = await login(t.app, user.email);
    const b = await t.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'user-agent': 'phone/1.0' }, payload: { email: user.email, password: STRONG_PASSWORD } });
    const bTokens = b.json() as { refresh_token: string; access_token: string };
    const list = await t.app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: bearer(a.access_token) });
    // Like every list: rows under `data` (not paginated; at most the 100 newest active sessions).
    const body = list.json() as { data: { id: string; current: boolean; user_agent: string | null; ip: string }[] };
    expect(Object.keys(body)).toEqual(['data']);
    const items = body.data;
    expect(items).toHaveLength(2);
    expect(items.filter((s) => s.current)).toHaveLength(1);
    const phone = items.find((s) => s.user_agent === 'phone/1.0');
    expect(phone?.ip).toBe('127.0.0.1');
    const revoke = await t.app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${phone?.id}`, headers: bearer(a.access_token) });
    expect(revoke.statusCode).toBe(204);
    expect((await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: bTokens.refresh_token } })).statusCode).toBe(401);
    // The revoked session's access token stops at once; the caller's own session is untouched.
    expect((await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(bTokens.access_token) })).json()).toMatchObject({ code: 'token_revoked' });
    expect((await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(a.access_token) })).statusCode).toBe(200);
    // Another user's session id is simply not found.
    const other = await seedUser(t);
    const otherTokens = await login(t.app, other.email);
    const notMine = await t.app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${items.find((s) => s.current)?.id}`, headers: bearer(otherTokens.access_token) });
    expect(notMine.statusCode).toBe(404);
  });

  it('stops a deactivated user’s access and refresh tokens at once', async () => {
    const user = await seedUser(t);
    const tokens = await login(t.app, user.email);
    expect((await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode).toBe(200);
    await identityOfApp(t).userAdmin.update(user.id, { isActive: false }, { actor: 'system', ip: undefined, userAgent: undefined });
    const me = await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(tokens.access_token) });
    expect(me.statusCode).toBe(401);
    expect(['user_inactive', 'token_revoked']).toContain((me.json() as { code: string }).code);
    expect((await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: tokens.refresh_token } })).statusCode).toBe(401);
  });

  it('locks an account out with 429 and Retry-After after repeated failures; a success resets the counter', async () => {
    const user = await seedUser(t);
    const wrong = { email: user.email, password: OTHER_PASSWORD };
    // Two failures (under the burst tier), then a success resets the account counter…
    for (let i = 0; i < 2; i += 1) expect((await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: wrong })).statusCode).toBe(401);
    await login(t.app, user.email);
    for (let i = 0; i < 2; i += 1) expect((await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: wrong })).statusCode).toBe(401);
    await login(t.app, user.email);
    // …while three in a row lock the account, even for the right password.
    for (let i = 0; i < 3; i += 1) expect((await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: wrong })).statusCode).toBe(401);
    const locked = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: STRONG_PASSWORD } });
    expect(locked.statusCode).toBe(429);
    expect(locked.headers['content-type']).toContain('application/problem+json');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(locked.json()).toMatchObject({ code: 'account_locked' });
  });

  it('lets no more guesses through than the lockout allows, however many arrive at once', async () => {
    const user = await seedUser(t);
    const wrong = { email: user.email, password: OTHER_PASSWORD };
    const answers = await Promise.all(Array.from({ length: 10 }, () => t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: wrong })));
    const codes = answers.map((a) => (a.json() as { code: string }).code);
    // The burst tier allows 3 attempts in 30 s: only 3 passwords were ever checked.
    expect(codes.filter((c) => c === 'invalid_credentials')).toHaveLength(3);
    expect(codes.filter((c) => c === 'account_locked')).toHaveLength(7);
  });

  it('publishes the signing key in the JWKS and never a private part', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    const jwks = response.json() as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
    const row = await t.context.storage.db.selectFrom('signing_keys').selectAll().executeTakeFirstOrThrow();
    expect(row.private_key.startsWith('wsk1.') || row.private_key.startsWith('wenc1.')).toBe(true);
    expect(row.private_key).not.toContain('"d"');
  });
});

describeEachDatabase('password change', (dialect) => {
  it('needs the current password, applies the policy, ends every session, and the new password works', async () => {
    const t = await createTestApp({ dialect });
    try {
      const user = await seedUser(t);
      const tokens = await login(t.app, user.email);
      const change = (payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/v1/auth/password', headers: bearer(tokens.access_token), payload });
      expect((await change({ current_password: OTHER_PASSWORD, new_password: 'amber-meadow-silently-31' })).json()).toMatchObject({ code: 'invalid_credentials' });
      expect((await change({ current_password: STRONG_PASSWORD, new_password: 'password2026!' })).json()).toMatchObject({ code: 'weak_password' });
      expect((await change({ current_password: STRONG_PASSWORD, new_password: 'amber-meadow-silently-31' })).statusCode).toBe(204);
      expect((await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode).toBe(401);
      expect((await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: tokens.refresh_token } })).statusCode).toBe(401);
      expect((await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: STRONG_PASSWORD } })).statusCode).toBe(401);
      // Logging in right away (same second as the logout-all marker) works: the marker compares milliseconds.
      const fresh = await login(t.app, user.email, 'amber-meadow-silently-31');
      expect((await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(fresh.access_token) })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});
