import { decodeJwt } from 'jose';
import { afterEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { basic, FORM, seedClient } from './oauth-helpers.js';

describeEachDatabase('audit events of client authentication and client-credentials grants', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  const attempt = (clientId: string, secret: string, scope?: string) =>
    t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: basic(clientId, secret), 'user-agent': 'billing/1.0' },
      payload: `grant_type=client_credentials${scope === undefined ? '' : `&scope=${encodeURIComponent(scope)}`}`,
    });
  const rows = (action: string) => t.context.storage.db.selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('seq').execute();

  it('records a throttled client authentication as denied, with the client id and never the secret', async () => {
    t = await createTestApp({ dialect, env: { WARDEN_LOGIN_MAX_FAILURES_PER_IP: '3' } });
    const c = await seedClient(t, ['keys:read']);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await attempt(c.clientId, `wrong-${i}`)).statusCode);
    expect(statuses).toContain(429);
    // The address is locked out even with the right secret: that attempt is audited as throttled too.
    const locked = await attempt(c.clientId, c.secret);
    expect(locked.statusCode).toBe(429);

    const events = await rows('client.auth.failed');
    const throttled = events.filter((row) => row.outcome === 'denied');
    // Two throttled attempts, one row: refusals of a locked-out address are sampled per address
    // and window (docs/audit.md), so a flood cannot grow the log.
    expect(throttled).toHaveLength(1);
    for (const row of throttled) {
      expect(row).toMatchObject({ actor: `client:${c.clientId}`, entity_type: 'oauth_client', entity_id: c.clientId, user_agent: 'billing/1.0' });
      expect(row.request_id).toEqual(expect.any(String));
      expect(JSON.parse(String(row.details))).toEqual({ reason: 'throttled', method: 'client_secret_basic' });
    }
    expect(events.filter((row) => row.outcome === 'failure').map((row) => JSON.parse(String(row.details)).reason)).toEqual(expect.arrayContaining(['bad_secret']));
    const stored = JSON.stringify(await t.context.storage.db.selectFrom('audit_events').selectAll().execute());
    expect(stored).not.toContain(c.secret);
    expect(stored).not.toContain('wrong-');
    // No grant succeeded, so none is recorded.
    expect(await rows('client.token.issued')).toEqual([]);
  });

  it('records a throttled authentication with an id that is not a client id as client:invalid', async () => {
    t = await createTestApp({ dialect, env: { WARDEN_LOGIN_MAX_FAILURES_PER_IP: '2' } });
    const c = await seedClient(t, ['keys:read']);
    // Secret and id swapped: the "id" is the secret, and must not reach the log.
    for (let i = 0; i < 4; i++) await attempt(c.secret, c.clientId);
    const throttled = (await rows('client.auth.failed')).filter((row) => row.outcome === 'denied');
    expect(throttled.length).toBeGreaterThan(0);
    expect(new Set(throttled.map((row) => row.actor))).toEqual(new Set(['client:invalid']));
    expect(JSON.stringify(await t.context.storage.db.selectFrom('audit_events').selectAll().execute())).not.toContain(c.secret);
  });

  it('records each successful client-credentials grant with the client, the granted scope and the jti, never the token or secret', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['keys:read', 'users:read']);
    const all = await attempt(c.clientId, c.secret);
    const narrowed = await attempt(c.clientId, c.secret, 'keys:read');
    expect(all.statusCode).toBe(200);
    expect(narrowed.statusCode).toBe(200);
    const refused = await attempt(c.clientId, c.secret, 'keys:write');
    expect(refused.json()).toMatchObject({ error: 'invalid_scope' });

    const events = await rows('client.token.issued');
    expect(events).toHaveLength(2);
    const tokens = [all.json().access_token as string, narrowed.json().access_token as string];
    expect(events.map((row) => row.entity_id)).toEqual(tokens.map((token) => decodeJwt(token).jti));
    for (const row of events) {
      expect(row).toMatchObject({ actor: `client:${c.clientId}`, entity_type: 'access_token', outcome: 'success', user_agent: 'billing/1.0' });
      expect(row.request_id).toEqual(expect.any(String));
    }
    expect(events.map((row) => JSON.parse(String(row.details)))).toEqual([
      { grant_type: 'client_credentials', scope: ['keys:read', 'users:read'] },
      { grant_type: 'client_credentials', scope: ['keys:read'] },
    ]);
    const stored = JSON.stringify(await t.context.storage.db.selectFrom('audit_events').selectAll().execute());
    expect(stored).not.toContain(c.secret);
    for (const token of tokens) {
      expect(stored).not.toContain(token);
      // Nor the signature alone, which is what makes the token usable.
      expect(stored).not.toContain(token.split('.')[2]);
    }
  });
});
