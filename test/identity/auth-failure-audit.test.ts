import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, identityOfApp, login, OTHER_PASSWORD, seedUser, STRONG_PASSWORD } from './identity-helpers.js';

const NEW_PASSWORD = 'amber-meadow-silently-31';

/** The committed audit rows of one action, oldest first, with their details parsed. */
async function auditRows(t: TestApp, action: string) {
  const rows = await t.context.storage.db.selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('seq').execute();
  return rows.map((row) => ({ ...row, details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>) }));
}

/** Every stored audit row as one string, for "this secret is nowhere" assertions. */
async function allAuditText(t: TestApp): Promise<string> {
  return JSON.stringify(await t.context.storage.db.selectFrom('audit_events').selectAll().execute());
}

describeEachDatabase('password change: a wrong current password counts as a failed login', (dialect) => {
  let t: TestApp;
  let start: number;
  beforeEach(async () => {
    // Lockouts run on the wall clock; a fake Date (only Date) lets a test wait one out. Faked
    // before the app is built so that the rate-limit store reads this clock.
    start = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now: start });
    t = await createTestApp({ dialect });
  });
  afterEach(async () => {
    await t.close();
    vi.useRealTimers();
  });

  const changePassword = (accessToken: string, current: string) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/password', headers: bearer(accessToken), payload: { current_password: current, new_password: NEW_PASSWORD } });

  it('after the lockout’s number of wrong current passwords refuses even the right one with 429 until the lockout ends; each failure is audited without a secret', async () => {
    const user = await seedUser(t);
    const tokens = await login(t.app, user.email);
    // The first lockout tier: 3 failures in 30 s.
    for (let i = 0; i < 3; i += 1) {
      const wrong = await changePassword(tokens.access_token, OTHER_PASSWORD);
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json()).toMatchObject({ code: 'invalid_credentials' });
    }
    const locked = await changePassword(tokens.access_token, STRONG_PASSWORD);
    expect(locked.statusCode).toBe(429);
    expect(locked.headers['content-type']).toContain('application/problem+json');
    expect(locked.json()).toMatchObject({ code: 'account_locked' });
    const retryAfter = Number(locked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);

    // Retry-After is when the lockout ends; a right password is let through from then on.
    vi.setSystemTime(start + retryAfter * 1000 + 1);
    expect((await changePassword(tokens.access_token, STRONG_PASSWORD)).statusCode).toBe(204);

    const failures = await auditRows(t, 'auth.password_change.failed');
    expect(failures.map((e) => [e.outcome, e.details?.reason])).toEqual([
      ['failure', 'wrong_password'],
      ['failure', 'wrong_password'],
      ['failure', 'wrong_password'],
      ['denied', 'throttled'],
    ]);
    for (const event of failures) expect(event).toMatchObject({ actor: user.id, entity_type: 'user', entity_id: user.id, ip: '127.0.0.1' });
    const stored = await allAuditText(t);
    for (const secret of [OTHER_PASSWORD, STRONG_PASSWORD, NEW_PASSWORD, tokens.access_token, tokens.refresh_token]) expect(stored).not.toContain(secret);
    expect(t.rawLogs()).not.toContain(OTHER_PASSWORD);
  });

  it('shares the login’s counters for the account: wrong current passwords and wrong logins add up to one lockout', async () => {
    const user = await seedUser(t);
    const tokens = await login(t.app, user.email);
    for (let i = 0; i < 2; i += 1) expect((await changePassword(tokens.access_token, OTHER_PASSWORD)).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: OTHER_PASSWORD } })).statusCode).toBe(401);
    const viaLogin = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: STRONG_PASSWORD } });
    expect(viaLogin.statusCode).toBe(429);
    expect(viaLogin.json()).toMatchObject({ code: 'account_locked' });
  });

  it('a right current password resets the account’s counters, as a successful login does', async () => {
    const user = await seedUser(t);
    const tokens = await login(t.app, user.email);
    for (let i = 0; i < 2; i += 1) expect((await changePassword(tokens.access_token, OTHER_PASSWORD)).statusCode).toBe(401);
    // Right current password, weak new one: the password check succeeded, the policy refuses.
    const weak = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/password',
      headers: bearer(tokens.access_token),
      payload: { current_password: STRONG_PASSWORD, new_password: 'password2026!' },
    });
    expect(weak.json()).toMatchObject({ code: 'weak_password' });
    for (let i = 0; i < 2; i += 1) expect((await changePassword(tokens.access_token, OTHER_PASSWORD)).statusCode).toBe(401);
    expect((await changePassword(tokens.access_token, STRONG_PASSWORD)).statusCode).toBe(204);
  });
});

describeEachDatabase('refresh refusals are audited (reason and session id, never the token)', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp({ dialect });
  });
  afterEach(async () => t.close());

  const refresh = (refreshToken: string) => t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: refreshToken } });

  /** Logs a new user in; returns the user, the tokens and the session id. */
  async function signedIn() {
    const user = await seedUser(t);
    const tokens = await login(t.app, user.email);
    const me = await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(tokens.access_token) });
    return { user, tokens, sessionId: (me.json() as { session_id: string }).session_id };
  }

  /** Neither the refresh token nor any stored refresh-token hash appears in the audit log. */
  async function expectNoTokenInAudit(refreshToken: string): Promise<void> {
    const stored = await allAuditText(t);
    expect(stored).not.toContain(refreshToken);
    const hashes = await t.context.storage.db.selectFrom('refresh_tokens').select('token_hash').execute();
    for (const { token_hash } of hashes) expect(stored).not.toContain(token_hash);
  }

  it('an unknown refresh token: failure, reason unknown_token, no actor or session', async () => {
    const forged = `wrt_${'A'.repeat(43)}`;
    expect((await refresh(forged)).json()).toMatchObject({ code: 'refresh_token_invalid' });
    const [event, ...rest] = await auditRows(t, 'auth.token.refresh_failed');
    expect(rest).toHaveLength(0);
    expect(event).toMatchObject({ actor: 'anonymous', entity_type: null, entity_id: null, outcome: 'failure', details: { reason: 'unknown_token' }, ip: '127.0.0.1' });
    await expectNoTokenInAudit(forged);
  });

  it('an expired refresh token: failure, reason expired, with the user and the session id', async () => {
    const { user, tokens, sessionId } = await signedIn();
    await t.context.storage.db.updateTable('refresh_tokens').set({ expires_at: Date.now() - 1000 }).execute();
    expect((await refresh(tokens.refresh_token)).statusCode).toBe(401);
    expect(await auditRows(t, 'auth.token.refresh_failed')).toMatchObject([
      { actor: user.id, entity_type: 'session', entity_id: sessionId, outcome: 'failure', details: { reason: 'expired' } },
    ]);
    await expectNoTokenInAudit(tokens.refresh_token);
  });

  it('a refresh token of a revoked (logged-out) session: denied, reason session_revoked', async () => {
    const { user, tokens, sessionId } = await signedIn();
    expect((await t.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(tokens.access_token) })).statusCode).toBe(204);
    expect((await refresh(tokens.refresh_token)).statusCode).toBe(401);
    expect(await auditRows(t, 'auth.token.refresh_failed')).toMatchObject([
      { actor: user.id, entity_type: 'session', entity_id: sessionId, outcome: 'denied', details: { reason: 'session_revoked' } },
    ]);
    await expectNoTokenInAudit(tokens.refresh_token);
  });

  it('a deactivated user’s refresh ends the session: denied, reason user_deactivated, session_ended', async () => {
    const { user, tokens, sessionId } = await signedIn();
    // Deactivated behind the service's back (not through UserAdmin, whose logout-all would
    // revoke the session first), so the refresh path's own status check is what refuses.
    await t.context.storage.db.updateTable('users').set({ is_active: 0 }).where('id', '=', user.id).execute();
    await identityOfApp(t).userStatus.invalidate(user.id);
    expect((await refresh(tokens.refresh_token)).json()).toMatchObject({ code: 'refresh_token_invalid' });
    expect(await identityOfApp(t).sessions.isActive(sessionId)).toBe(false);
    expect(await auditRows(t, 'auth.token.refresh_failed')).toMatchObject([
      { actor: user.id, entity_type: 'session', entity_id: sessionId, outcome: 'denied', details: { reason: 'user_deactivated', session_ended: true } },
    ]);
    await expectNoTokenInAudit(tokens.refresh_token);
  });
});
