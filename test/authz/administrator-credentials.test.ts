import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import type { Principal } from '../../src/http/principal.js';
import { identityOf } from '../../src/identity/identity-service.js';
import type { User } from '../../src/identity/user-store.js';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';
import { basic, FORM } from '../oauth/oauth-helpers.js';
import { tapAudit } from '../helpers/audit-tap.js';

const ROOT = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'test' } satisfies Principal, auditActor: 'system' };
/** What reaching the key and client routes needs, besides managing users. */
const CREDENTIALS = ['keys:read', 'keys:write', 'clients:read', 'clients:write'];
const ESCALATION = { status: 403, code: 'privilege_escalation', permission: 'users:admin' };

type Headers = Record<string, string>;

// A user editor (users:read, users:write, no users:admin) may look at an administrator's API
// keys and OAuth clients but not create, rotate, disable or revoke them: cutting off an
// administrator's automation is the lock-out that protecting their account already refuses.
describeEachDatabase("an administrator's API keys and OAuth clients need users:admin to change", (dialect) => {
  let t: TestApp;
  let keys: ApiKeys;
  let audited: AuditEventInput[];
  let admin: User;
  let adminAuth: Headers;
  let plain: User;
  let helpdesk: Headers;

  /** A user holding exactly these permissions (through a role of their own), logged in. */
  async function userWith(permissions: readonly string[]): Promise<{ user: User; auth: Headers }> {
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    const user = await seedUser(t);
    const role = `role-${user.id.slice(0, 8)}`;
    await authz.createRole(ROOT, { name: role, permissions: [...permissions] });
    await authz.assignRole(ROOT, { userId: user.id, role });
    return { user, auth: bearer((await login(t.app, user.email)).access_token) };
  }

  beforeEach(async () => {
    t = await createTestApp({ dialect });
    keys = t.context.apiKeys as ApiKeys;
    await identityOf(t.context).initialise();
    admin = await seedUser(t, { isAdmin: true });
    adminAuth = bearer((await login(t.app, admin.email)).access_token);
    // keys:read is what the keys and clients below carry: their owners must hold it.
    plain = (await userWith(['keys:read'])).user;
    helpdesk = (await userWith(['users:read', 'users:write', ...CREDENTIALS])).auth;
    audited = tapAudit(t);
  });
  afterEach(async () => t.close());

  const keyOf = async (ownerId: string) => keys.service.create({ name: 'automation', ownerId, permissions: ['keys:read'] }, { actor: 'system' });
  const clientOf = async (ownerId: string) =>
    oauthOf(t.context).clients.create({ name: 'automation', ownerId, scopes: ['keys:read'] }, { actor: 'system' });
  const grant = (clientId: string, secret: string) =>
    t.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM, authorization: basic(clientId, secret) }, payload: 'grant_type=client_credentials' });
  const denied = () => audited.filter((e) => e.outcome === 'denied');

  /** Every key route that changes something, in an order that each can succeed when allowed (revoke last). */
  const keyChanges = (ownerId: string, keyId: string) =>
    [
      { method: 'POST', url: '/v1/keys', payload: { name: 'for-them', owner_id: ownerId, permissions: ['keys:read'] } },
      { method: 'PATCH', url: `/v1/keys/${keyId}`, payload: { enabled: false } },
      { method: 'PATCH', url: `/v1/keys/${keyId}`, payload: { enabled: true } },
      { method: 'POST', url: `/v1/keys/${keyId}/rotate`, payload: { grace_period_ms: 60_000 } },
      { method: 'POST', url: `/v1/keys/${keyId}/revoke` },
      { method: 'DELETE', url: `/v1/keys/${keyId}` },
    ] as const;
  const clientChanges = (ownerId: string, clientId: string) =>
    [
      { method: 'POST', url: '/v1/clients', payload: { name: 'for-them', owner_id: ownerId, scopes: ['keys:read'] } },
      { method: 'POST', url: `/v1/clients/${clientId}/rotate`, payload: { grace_period_ms: 60_000 } },
      { method: 'DELETE', url: `/v1/clients/${clientId}` },
    ] as const;

  it("refuses a user editor every change to an administrator's keys (403 privilege_escalation, audited as denied) but lets it list and show them", async () => {
    const target = await keyOf(admin.id);
    audited.length = 0;
    for (const change of keyChanges(admin.id, target.record.id)) {
      const res = await t.app.inject({ ...change, headers: helpdesk });
      expect(res.statusCode, `${change.method} ${change.url}`).toBe(403);
      expect(res.json()).toMatchObject(ESCALATION);
      expect(res.body).not.toMatch(/wdn_/);
    }
    // Nothing changed: no key was made, the key is neither disabled, rotated nor revoked.
    expect((await keys.service.list({ ownerId: admin.id, limit: 10 })).data.map((k) => k.id)).toEqual([target.record.id]);
    expect(await keys.service.get(target.record.id)).toMatchObject({ enabled: true, revokedAt: undefined, replacedBy: undefined });
    expect(await keys.verifier.verify(target.key)).toMatchObject({ valid: true });

    const details = { reason: 'privilege_escalation', missing: ['users:admin'], owner_id: admin.id };
    expect(denied().map((e) => [e.action, e.entity_id])).toEqual([
      ['apikey.created', undefined],
      ['apikey.updated', target.record.id],
      ['apikey.updated', target.record.id],
      ['apikey.rotated', target.record.id],
      ['apikey.revoked', target.record.id],
      ['apikey.revoked', target.record.id],
    ]);
    expect(denied()[0]).toMatchObject({ entity_type: 'api_key', details });
    expect(denied()[1]).toMatchObject({ details: { ...details, prefix: target.record.prefix, enabled: false } });
    expect(audited.filter((e) => e.outcome === 'success')).toEqual([]);

    // Looking stays under users:read.
    const shown = await t.app.inject({ url: `/v1/keys/${target.record.id}`, headers: helpdesk });
    expect(shown.statusCode).toBe(200);
    expect(shown.json()).toMatchObject({ id: target.record.id, owner_id: admin.id, status: 'active' });
    const listed = await t.app.inject({ url: `/v1/keys?owner_id=${admin.id}`, headers: helpdesk });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().data.map((k: { id: string }) => k.id)).toEqual([target.record.id]);
  });

  it("refuses a user editor every change to an administrator's clients (403 privilege_escalation, audited as denied) but lets it list and show them", async () => {
    const target = await clientOf(admin.id);
    for (const change of clientChanges(admin.id, target.client.client_id)) {
      const res = await t.app.inject({ ...change, headers: helpdesk });
      expect(res.statusCode, `${change.method} ${change.url}`).toBe(403);
      expect(res.json()).toMatchObject(ESCALATION);
      expect(res.body).not.toContain('client_secret');
    }
    expect((await oauthOf(t.context).clients.list({ ownerId: admin.id, limit: 10 })).data.map((c) => c.client_id)).toEqual([target.client.client_id]);
    expect(await oauthOf(t.context).clients.get(target.client.client_id)).toMatchObject({ revoked_at: null, previous_secret_expires_at: null });
    expect(audited.filter((e) => e.outcome === 'success').map((e) => e.action)).toEqual(['client.created']); // the fixture's
    expect((await grant(target.client.client_id, target.secret)).statusCode).toBe(200);

    expect(denied().map((e) => [e.action, e.entity_id])).toEqual([
      ['client.created', undefined],
      ['client.rotated', target.client.client_id],
      ['client.revoked', target.client.client_id],
    ]);
    for (const event of denied()) {
      expect(event).toMatchObject({ entity_type: 'oauth_client', details: { reason: 'privilege_escalation', missing: ['users:admin'], owner_id: admin.id } });
    }

    const shown = await t.app.inject({ url: `/v1/clients/${target.client.client_id}`, headers: helpdesk });
    expect(shown.statusCode).toBe(200);
    expect(shown.json()).toMatchObject({ client_id: target.client.client_id, owner_id: admin.id });
    const listed = await t.app.inject({ url: '/v1/clients', headers: helpdesk });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().data.map((c: { client_id: string }) => c.client_id)).toContain(target.client.client_id);
  });

  it("lets the user editor change the keys and clients of an owner who is not an administrator", async () => {
    const key = await keyOf(plain.id);
    for (const change of keyChanges(plain.id, key.record.id)) {
      const res = await t.app.inject({ ...change, headers: helpdesk });
      expect(res.statusCode, `${change.method} ${change.url}: ${res.body}`).toBeLessThan(300);
    }
    const client = await clientOf(plain.id);
    for (const change of clientChanges(plain.id, client.client.client_id)) {
      const res = await t.app.inject({ ...change, headers: helpdesk });
      expect(res.statusCode, `${change.method} ${change.url}: ${res.body}`).toBeLessThan(300);
    }
    expect(denied()).toEqual([]);
  });

  it('counts a global role granting users:admin as an administrator; a scoped one does not', async () => {
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    const roleAdmin = await seedUser(t);
    await authz.assignRole(ROOT, { userId: roleAdmin.id, role: 'admin' });
    const key = await keyOf(roleAdmin.id);
    const client = await clientOf(roleAdmin.id);
    expect((await t.app.inject({ method: 'POST', url: `/v1/keys/${key.record.id}/revoke`, headers: helpdesk })).json()).toMatchObject(ESCALATION);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/clients/${client.client.client_id}`, headers: helpdesk })).json()).toMatchObject(ESCALATION);
    // Deactivated, they are still an administrator (reactivating gives the role back).
    expect((await t.app.inject({ method: 'PATCH', url: `/v1/users/${roleAdmin.id}`, headers: adminAuth, payload: { is_active: false } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/clients/${client.client.client_id}`, headers: helpdesk })).json()).toMatchObject(ESCALATION);

    const tenantAdmin = (await userWith(['keys:read'])).user;
    await authz.assignRole(ROOT, { userId: tenantAdmin.id, role: 'admin', scope: 'tenant-1' });
    const tenantKey = await keyOf(tenantAdmin.id);
    expect((await t.app.inject({ method: 'POST', url: `/v1/keys/${tenantKey.record.id}/revoke`, headers: helpdesk })).statusCode).toBe(200);
  });

  it("lets a holder of users:admin change an administrator's keys and clients", async () => {
    const manager = (await userWith(['users:read', 'users:write', 'users:admin', ...CREDENTIALS])).auth;
    const key = await keyOf(admin.id);
    for (const change of keyChanges(admin.id, key.record.id)) {
      const res = await t.app.inject({ ...change, headers: manager });
      expect(res.statusCode, `${change.method} ${change.url}: ${res.body}`).toBeLessThan(300);
    }
    const client = await clientOf(admin.id);
    for (const change of clientChanges(admin.id, client.client.client_id)) {
      const res = await t.app.inject({ ...change, headers: manager });
      expect(res.statusCode, `${change.method} ${change.url}: ${res.body}`).toBeLessThan(300);
    }
    expect(denied()).toEqual([]);
  });

  it('lets the administrator change their own keys and clients, also with a narrow key of theirs', async () => {
    const key = await keyOf(admin.id);
    for (const change of keyChanges(admin.id, key.record.id)) {
      const res = await t.app.inject({ ...change, headers: adminAuth });
      expect(res.statusCode, `${change.method} ${change.url}: ${res.body}`).toBeLessThan(300);
    }
    const client = await clientOf(admin.id);
    for (const change of clientChanges(admin.id, client.client.client_id)) {
      const res = await t.app.inject({ ...change, headers: adminAuth });
      expect(res.statusCode, `${change.method} ${change.url}: ${res.body}`).toBeLessThan(300);
    }
    // A key of the administrator acts as them: no users:* needed for their own keys.
    const narrow = (await keys.service.create({ name: 'narrow', ownerId: admin.id, permissions: ['keys:read', 'keys:write'] }, { actor: 'system' })).key;
    const other = await keyOf(admin.id);
    for (const change of keyChanges(admin.id, other.record.id)) {
      const res = await t.app.inject({ ...change, headers: { 'x-api-key': narrow } });
      expect(res.statusCode, `${change.method} ${change.url}: ${res.body}`).toBeLessThan(300);
    }
    expect(denied()).toEqual([]);
  });

  it("refuses an OAuth client with users:write, even the administrator's own: a client never acts as its owner", async () => {
    const bot = await oauthOf(t.context).clients.create(
      { name: 'bot', ownerId: admin.id, scopes: ['users:read', 'users:write', ...CREDENTIALS] },
      { actor: 'system' },
    );
    const token = (await grant(bot.client.client_id, bot.secret)).json().access_token as string;
    const key = await keyOf(admin.id);
    const refused = await t.app.inject({ method: 'POST', url: `/v1/keys/${key.record.id}/revoke`, headers: bearer(token) });
    expect(refused.json()).toMatchObject(ESCALATION);
    expect(denied()).toEqual([expect.objectContaining({ action: 'apikey.revoked', actor: `client:${bot.client.client_id}` })]);
    const plainKey = await keyOf(plain.id);
    expect((await t.app.inject({ method: 'POST', url: `/v1/keys/${plainKey.record.id}/revoke`, headers: bearer(token) })).statusCode).toBe(200);
  });
});
