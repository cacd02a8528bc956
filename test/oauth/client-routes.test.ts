import { afterEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';

describeEachDatabase('/v1/clients', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  async function adminToken(): Promise<string> {
    const admin = await seedUser(t, { isAdmin: true });
    return (await login(t.app, admin.email)).access_token;
  }

  it('creates a client (secret shown once), lists, gets, rotates and revokes it — all audited', async () => {
    t = await createTestApp({ dialect });
    const auth = bearer(await adminToken());
    const created = await t.app.inject({ method: 'POST', url: '/v1/clients', headers: auth, payload: { name: 'billing', scopes: ['keys:read'] } });
    expect(created.statusCode).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const body = created.json();
    expect(body.client_secret).toMatch(/^wcs_[0-9A-Za-z]{43}$/);
    expect(body.client_id).toMatch(/^[0-9a-f-]{36}$/);

    const listed = await t.app.inject({ url: '/v1/clients', headers: auth });
    expect(listed.json().data).toHaveLength(1);
    expect(listed.body).not.toContain(body.client_secret);
    expect(listed.body).not.toContain('secret_hash');
    const got = await t.app.inject({ url: `/v1/clients/${body.client_id}`, headers: auth });
    expect(got.json()).toMatchObject({ client_id: body.client_id, name: 'billing', scopes: ['keys:read'], revoked_at: null });

    const rotated = await t.app.inject({ method: 'POST', url: `/v1/clients/${body.client_id}/rotate`, headers: auth, payload: { grace_ms: 0 } });
    expect(rotated.json().client_secret).not.toBe(body.client_secret);
    const revoked = await t.app.inject({ method: 'DELETE', url: `/v1/clients/${body.client_id}`, headers: auth });
    expect(typeof revoked.json().revoked_at).toBe('number');

    const actions = (await t.context.storage.db.selectFrom('audit_events').select('action').where('entity_id', '=', body.client_id).execute()).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['client.created', 'client.rotated', 'client.revoked']));
    const raw = JSON.stringify(await t.context.storage.db.selectFrom('audit_events').selectAll().execute());
    expect(raw).not.toContain(body.client_secret);
    expect(raw).not.toContain(rotated.json().client_secret);
  });

  it('refuses a client with more than its owner holds, bad scopes, unknown fields, and callers without clients:write', async () => {
    t = await createTestApp({ dialect });
    const adminAuth = bearer(await adminToken());
    const user = await seedUser(t);
    const escalate = await t.app.inject({ method: 'POST', url: '/v1/clients', headers: adminAuth, payload: { name: 'x', owner_id: user.id, scopes: ['users:write'] } });
    expect(escalate.statusCode).toBe(403);
    expect(escalate.json().code).toBe('privilege_escalation');
    const badScope = await t.app.inject({ method: 'POST', url: '/v1/clients', headers: adminAuth, payload: { name: 'x', scopes: ["'; DROP TABLE users; --"] } });
    expect(badScope.statusCode).toBe(400);
    const unknown = await t.app.inject({ method: 'POST', url: '/v1/clients', headers: adminAuth, payload: { name: 'x', scopes: [], secret: 'mine' } });
    expect(unknown.statusCode).toBe(400);
    const plain = bearer((await login(t.app, user.email)).access_token);
    expect((await t.app.inject({ method: 'POST', url: '/v1/clients', headers: plain, payload: { name: 'x', scopes: [] } })).statusCode).toBe(403);
    expect((await t.app.inject({ url: '/v1/clients' })).statusCode).toBe(401);
    expect((await t.app.inject({ url: '/v1/clients/not-a-uuid', headers: adminAuth })).statusCode).toBe(400);
  });
});
