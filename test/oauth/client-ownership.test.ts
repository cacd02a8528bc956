import { afterEach, expect, it } from 'vitest';
import type { Principal } from '../../src/http/principal.js';
import { identityOf } from '../../src/identity/identity-service.js';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';
import { basic, FORM, seedClient } from './oauth-helpers.js';

const ROOT = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'test' } satisfies Principal, auditActor: 'system' };

describeEachDatabase('who may hold and manage an OAuth client', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  /** A user holding exactly these permissions (through a role), logged in. */
  async function userWith(permissions: readonly string[]): Promise<{ id: string; auth: Record<string, string> }> {
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    const user = await seedUser(t);
    const role = `role-${user.id.slice(0, 8)}`;
    await authz.createRole(ROOT, { name: role, permissions: [...permissions] });
    await authz.assignRole(ROOT, { userId: user.id, role });
    return { id: user.id, auth: bearer((await login(t.app, user.email)).access_token) };
  }

  const grant = (clientId: string, secret: string, scope?: string) =>
    t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: basic(clientId, secret) },
      payload: `grant_type=client_credentials${scope === undefined ? '' : `&scope=${encodeURIComponent(scope)}`}`,
    });

  it('never hands a caller a secret carrying scopes the caller does not hold, even for an owner who holds them', async () => {
    t = await createTestApp({ dialect });
    await identityOf(t.context).initialise();
    const admin = await seedUser(t, { isAdmin: true });
    // users:admin, since the owner is an administrator (whose clients a user editor may not
    // touch at all); what is tested here is the scope check that follows.
    const editor = await userWith(['users:write', 'users:admin', 'clients:write']);
    const forAdmin = await t.app.inject({ method: 'POST', url: '/v1/clients', headers: editor.auth, payload: { name: 'x', owner_id: admin.id, scopes: ['*:*'] } });
    expect(forAdmin.statusCode).toBe(403);
    expect(forAdmin.json()).toMatchObject({ code: 'privilege_escalation', scopes: ['*:*'] });
    expect(forAdmin.body).not.toContain('client_secret');
    expect((await oauthOf(t.context).clients.list({ limit: 10 })).data).toHaveLength(0);
    // What the editor holds, it may give an admin-owned client.
    const narrow = await t.app.inject({ method: 'POST', url: '/v1/clients', headers: editor.auth, payload: { name: 'x', owner_id: admin.id, scopes: ['users:write'] } });
    expect(narrow.statusCode).toBe(201);
  });

  it("keeps another owner's clients out of reach: not listed, not shown, not rotated, not revoked", async () => {
    t = await createTestApp({ dialect });
    const target = await seedClient(t, ['*:*']);
    const other = await userWith(['clients:read', 'clients:write']);
    const own = await t.app.inject({ method: 'POST', url: '/v1/clients', headers: other.auth, payload: { name: 'mine', scopes: ['clients:read'] } });
    expect(own.statusCode).toBe(201);

    const listed = await t.app.inject({ url: '/v1/clients', headers: other.auth });
    expect(listed.json().data.map((c: { client_id: string }) => c.client_id)).toEqual([own.json().client_id]);
    expect((await t.app.inject({ url: `/v1/clients/${target.clientId}`, headers: other.auth })).statusCode).toBe(404);
    const rotated = await t.app.inject({ method: 'POST', url: `/v1/clients/${target.clientId}/rotate`, headers: other.auth, payload: { grace_period_ms: 0 } });
    expect(rotated.statusCode).toBe(404);
    expect(rotated.body).not.toContain('client_secret');
    const revoked = await t.app.inject({ method: 'DELETE', url: `/v1/clients/${target.clientId}`, headers: other.auth });
    expect(revoked.statusCode).toBe(404);
    // The target's secret still works, unchanged.
    expect((await grant(target.clientId, target.secret)).statusCode).toBe(200);
    // Its own client it may rotate.
    const mine = await t.app.inject({ method: 'POST', url: `/v1/clients/${own.json().client_id}/rotate`, headers: other.auth, payload: {} });
    expect(mine.statusCode).toBe(200);
  });

  it("answers another owner's client exactly as a missing id on every route, unless the caller may see it", async () => {
    t = await createTestApp({ dialect });
    const target = await seedClient(t, ['keys:read']);
    const missing = '00000000-0000-4000-8000-000000000000';
    const routes = [
      { method: 'GET', path: (id: string) => `/v1/clients/${id}` },
      { method: 'POST', path: (id: string) => `/v1/clients/${id}/rotate`, payload: { grace_period_ms: 0 } },
      { method: 'DELETE', path: (id: string) => `/v1/clients/${id}` },
    ] as const;
    const call = (auth: Record<string, string>, route: (typeof routes)[number], id: string) =>
      t.app.inject({ method: route.method, url: route.path(id), headers: auth, ...('payload' in route ? { payload: route.payload } : {}) });
    const answer = (response: { statusCode: number; json: () => Record<string, unknown> }) => {
      const { request_id: _requestId, ...body } = response.json();
      return { status: response.statusCode, body };
    };

    // Without users:read the client is not the caller's to see: 404, as for an id that names nothing.
    const stranger = await userWith(['clients:read', 'clients:write', 'users:write']);
    for (const route of routes) {
      const existing = answer(await call(stranger.auth, route, target.clientId));
      expect(existing.status, `${route.method} ${route.path('{id}')}`).toBe(404);
      expect(existing).toEqual(answer(await call(stranger.auth, route, missing)));
    }
    // With users:read it may see the client: shown, and a change it may not make is 403.
    const viewer = await userWith(['clients:read', 'clients:write', 'users:read']);
    expect((await call(viewer.auth, routes[0], target.clientId)).statusCode).toBe(200);
    for (const route of routes.slice(1)) {
      expect(answer(await call(viewer.auth, route, target.clientId))).toMatchObject({ status: 403, body: { code: 'forbidden' } });
      expect((await call(viewer.auth, route, missing)).statusCode).toBe(404);
    }
    // Nothing was changed.
    expect((await grant(target.clientId, target.secret)).statusCode).toBe(200);
  });

  it('refuses a rotation that would hand the caller more than it holds, even of its own client', async () => {
    t = await createTestApp({ dialect });
    const target = await seedClient(t, ['users:delete']);
    // A token of the owner restricted to clients:write (an API key with only that permission).
    const keys = t.context.apiKeys;
    if (keys === undefined) throw new Error('API keys are not wired');
    const narrowKey = (await keys.service.create({ name: 'narrow', ownerId: target.ownerId, permissions: ['clients:write'] }, { actor: 'system' })).key;
    const rotated = await t.app.inject({ method: 'POST', url: `/v1/clients/${target.clientId}/rotate`, headers: { 'x-api-key': narrowKey }, payload: {} });
    expect(rotated.statusCode).toBe(403);
    expect(rotated.json()).toMatchObject({ code: 'privilege_escalation', scopes: ['users:delete'] });
    expect((await grant(target.clientId, target.secret)).statusCode).toBe(200);
  });

  it("stops a client at once when its owner is deactivated: no new tokens, and issued ones are refused", async () => {
    t = await createTestApp({ dialect });
    const client = await seedClient(t, ['users:read']);
    const token = (await grant(client.clientId, client.secret)).json().access_token as string;
    expect((await t.app.inject({ url: '/v1/users', headers: bearer(token) })).statusCode).toBe(200);

    await identityOf(t.context).userAdmin.update(client.ownerId, { isActive: false }, { actor: 'system', ip: undefined, userAgent: undefined });
    expect((await t.app.inject({ url: '/v1/users', headers: bearer(token) })).statusCode).toBe(401);
    const refused = await grant(client.clientId, client.secret);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ error: 'invalid_client' });
    const reasons = await t.context.storage.db.selectFrom('audit_events').select('details').where('action', '=', 'client.auth.failed').execute();
    expect(reasons.map((r) => JSON.stringify(r.details))).toEqual([expect.stringContaining("owner_inactive")]);
  });

  it("gives new tokens only the client's scopes its owner still holds", async () => {
    t = await createTestApp({ dialect });
    await identityOf(t.context).initialise();
    const owner = await userWith(['users:read', 'clients:write', 'clients:read']);
    const created = await t.app.inject({ method: 'POST', url: '/v1/clients', headers: owner.auth, payload: { name: 'svc', scopes: ['users:read', 'clients:read'] } });
    const { client_id: clientId, client_secret: secret } = created.json();
    expect((await grant(clientId, secret)).json().scope).toBe('users:read clients:read');

    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    const role = `role-${owner.id.slice(0, 8)}`;
    await authz.updateRole(ROOT, role, { permissions: ['clients:write', 'clients:read'] });
    expect((await grant(clientId, secret)).json().scope).toBe('clients:read');
    const asked = await grant(clientId, secret, 'users:read');
    expect(asked.statusCode).toBe(400);
    expect(asked.json()).toMatchObject({ error: 'invalid_scope' });
  });
});
