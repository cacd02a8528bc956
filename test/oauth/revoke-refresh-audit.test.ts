import { afterEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { tapAudit } from '../helpers/audit-tap.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';
import { basic, FORM, seedClient } from './oauth-helpers.js';

/**
 * /oauth/revoke of a refresh token records `auth.logout` (entity: the session) only when the
 * request ended the session, as DELETE /v1/auth/sessions/{id} does: revoking it again, or after
 * the user logged out, changes nothing and records nothing.
 */
describeEachDatabase('/oauth/revoke of a refresh token whose session is already ended', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  it('records auth.logout only for the revocation that ended the session', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['tokens:revoke']);
    const user = await seedUser(t);
    const pair = await login(t.app, user.email);
    const events = tapAudit(t);
    const revoke = () =>
      t.app.inject({
        method: 'POST',
        url: '/oauth/revoke',
        headers: { ...FORM, authorization: basic(c.clientId, c.secret) },
        payload: new URLSearchParams({ token: pair.refresh_token }).toString(),
      });
    expect((await revoke()).statusCode).toBe(200);
    expect((await revoke()).statusCode).toBe(200);
    expect((await revoke()).statusCode).toBe(200);
    const sessionEnds = events.filter((e) => e.action === 'auth.logout' && e.entity_type === 'session');
    expect(sessionEnds).toHaveLength(1);
  });

  it('records nothing for a refresh token of a session the user already logged out of', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['tokens:revoke']);
    const user = await seedUser(t);
    const pair = await login(t.app, user.email);
    const out = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/logout',
      headers: bearer(pair.access_token),
      payload: {},
    });
    expect(out.statusCode).toBeLessThan(300);
    const events = tapAudit(t);
    const response = await t.app.inject({
      method: 'POST',
      url: '/oauth/revoke',
      headers: { ...FORM, authorization: basic(c.clientId, c.secret) },
      payload: new URLSearchParams({ token: pair.refresh_token }).toString(),
    });
    expect(response.statusCode).toBe(200);
    expect(events.filter((e) => e.action === 'auth.logout' && e.actor === `client:${c.clientId}`)).toEqual(
      [],
    );
  });
});
