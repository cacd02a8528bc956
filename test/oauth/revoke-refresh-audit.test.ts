import { afterEach, expect, it } from 'vitest';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import { WardenError } from '../../src/errors/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { tapAudit } from '../helpers/audit-tap.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';
import { basic, FORM, seedClient } from './oauth-helpers.js';

/**
 * /oauth/revoke of a refresh token records `auth.logout` (entity: the session) as ending the
 * session only for the request that ended it. A repeat within one access-token lifetime writes
 * the session's marker again and is recorded as such (`details.repeat: true`): the retry of a
 * request that ended the session and then failed (its marker or its audit write) must not leave
 * the end unrecorded. Nothing claims to have ended a session that was already ended.
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
    expect(sessionEnds.map((e) => (e.details as { repeat?: boolean }).repeat ?? false)).toEqual([
      false,
      true,
      true,
    ]);
  });

  it('records only a repeat for a refresh token of a session the user already logged out of', async () => {
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
    const byClient = events.filter((e) => e.action === 'auth.logout' && e.actor === `client:${c.clientId}`);
    expect(byClient.map((e) => (e.details as { repeat?: boolean }).repeat)).toEqual([true]);
  });

  it('records the end of the session on the retry of a revocation whose audit write failed', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['tokens:revoke']);
    const user = await seedUser(t);
    const pair = await login(t.app, user.email);
    const recorded: AuditEventInput[] = [];
    const durable = t.context.audit;
    let failNextLogout = true;
    t.context.audit = {
      async record(event) {
        if (event.action === 'auth.logout' && failNextLogout) {
          failNextLogout = false;
          throw new WardenError('audit_unavailable', 'The audit log could not be written');
        }
        await durable.record(event);
        recorded.push(event);
      },
    };
    const revoke = () =>
      t.app.inject({
        method: 'POST',
        url: '/oauth/revoke',
        headers: { ...FORM, authorization: basic(c.clientId, c.secret) },
        payload: new URLSearchParams({ token: pair.refresh_token }).toString(),
      });
    expect((await revoke()).statusCode).toBe(503);
    expect((await revoke()).statusCode).toBe(200);
    const ends = recorded.filter(
      (e) => e.action === 'auth.logout' && e.entity_type === 'session' && e.actor === `client:${c.clientId}`,
    );
    expect(ends).toHaveLength(1);
  });
});
