import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, identityOfApp, login, seedUser } from './identity-helpers.js';

/**
 * A deactivation commits `is_active = 0` and then ends the sessions; if that second step fails,
 * asking again ends them, and a reactivation ends any session still open before the user is
 * active again (an inactive user cannot sign in, so such a session predates the deactivation).
 * No refresh token from before the deactivation works after it.
 */
describeEachDatabase('a deactivation whose session revocation did not happen', (dialect) => {
  let t: TestApp;
  let adminToken: string;
  beforeEach(async () => {
    t = await createTestApp({ dialect });
    const admin = await seedUser(t, { isAdmin: true });
    adminToken = (await login(t.app, admin.email)).access_token;
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await t.close();
  });

  const patch = (id: string, payload: Record<string, unknown>) =>
    t.app.inject({ method: 'PATCH', url: `/v1/users/${id}`, headers: bearer(adminToken), payload });
  const refresh = (token: string) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: token } });

  it('leaves no refresh token from before the deactivation usable after a retry and a reactivation', async () => {
    const user = await seedUser(t);
    const stolen = await login(t.app, user.email);
    // The database fails right after the user row was updated.
    vi.spyOn(identityOfApp(t).sessions, 'revokeAllForUser').mockRejectedValueOnce(
      new Error('Connection terminated unexpectedly'),
    );
    expect((await patch(user.id, { is_active: false })).statusCode).toBeGreaterThanOrEqual(500);
    // The administrator retries, as the error invites: 200.
    expect((await patch(user.id, { is_active: false })).statusCode).toBe(200);
    // Later the account is given back (password reset out of band, say).
    expect((await patch(user.id, { is_active: true })).statusCode).toBe(200);

    const response = await refresh(stolen.refresh_token);
    // Now: 200 with a fresh token pair for the session from before the deactivation.
    expect(response.statusCode, response.body).toBe(401);
  });
});
