import { afterEach, beforeEach, expect, it } from 'vitest';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { cursorOf, expectCursorsRefused, expectQueriesRefused, forgedCursors, readAllPages, type Page } from '../helpers/pages.js';
import { bearer, identityOfApp, login, seedUser, STRONG_PASSWORD } from './identity-helpers.js';

describeEachDatabase('/v1/users', (dialect) => {
  let t: TestApp;
  let adminToken: string;
  beforeEach(async () => {
    t = await createTestApp({ dialect });
    const admin = await seedUser(t, { email: 'root@example.test', isAdmin: true });
    adminToken = (await login(t.app, admin.email)).access_token;
  });
  afterEach(async () => t.close());

  const create = (payload: Record<string, unknown>, token = adminToken) =>
    t.app.inject({ method: 'POST', url: '/v1/users', headers: bearer(token), payload });

  it('creates a user with a normalised email and a UUID id, never returning the hash', async () => {
    const response = await create({ email: '  New.User@Example.TEST ', password: STRONG_PASSWORD, name: 'New' });
    expect(response.statusCode).toBe(201);
    const body = response.json() as Record<string, unknown>;
    expect(body).toMatchObject({ email: 'new.user@example.test', name: 'New', is_active: true, is_admin: false });
    expect(body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(JSON.stringify(body)).not.toContain('argon2');
    expect((await create({ email: 'new.user@EXAMPLE.test', password: STRONG_PASSWORD })).json()).toMatchObject({ status: 409, code: 'email_taken' });
  });

  it('refuses weak passwords, bad emails and unknown fields', async () => {
    expect((await create({ email: 'a@example.test', password: 'short' })).json()).toMatchObject({ status: 400, code: 'weak_password' });
    expect((await create({ email: 'a@example.test', password: 'password1234567' })).json()).toMatchObject({ code: 'weak_password' });
    expect((await create({ email: 'not-an-email', password: STRONG_PASSWORD })).json()).toMatchObject({ status: 400, code: 'validation_failed' });
    expect((await create({ email: 'a@example.test', password: STRONG_PASSWORD, role: 'admin' })).json()).toMatchObject({ code: 'validation_failed' });
    expect((await create({ email: 'a@example.test', password: 12345678901234 })).json()).toMatchObject({ code: 'validation_failed' });
  });

  it('refuses a name with control characters or bidi controls (a right-to-left override makes one name pass for another), creating and updating, changing nothing', async () => {
    for (const name of ['evil\u202Enimda', 'tab\there', 'nul\u0000byte', 'c1\u0085x', 'iso\u2066late', 'arabic\u061Cmark', 'line\u2028sep']) {
      expect((await create({ email: 'named@example.test', password: STRONG_PASSWORD, name })).json(), JSON.stringify(name)).toMatchObject({ status: 400, code: 'validation_failed', field: 'name' });
    }
    const ok = await create({ email: 'named@example.test', password: STRONG_PASSWORD, name: 'Zoë O’Brien — ops 🚀' });
    expect(ok.statusCode).toBe(201);
    const id = ok.json<{ id: string }>().id;
    const patched = await t.app.inject({ method: 'PATCH', url: `/v1/users/${id}`, headers: bearer(adminToken), payload: { name: 'admin\u202Egnp.exe' } });
    expect(patched.json()).toMatchObject({ status: 400, field: 'name' });
    expect((await t.app.inject({ url: `/v1/users/${id}`, headers: bearer(adminToken) })).json()).toMatchObject({ name: 'Zoë O’Brien — ops 🚀' });
  });

  // The canonical form (canonicalEmail, tested on its own in email-canonical-form.test.ts) at work.
  it('an ideographic full stop in the domain is the dot it stands for: one mailbox, one account', async () => {
    expect((await create({ email: 'jo@mail.example.com', password: STRONG_PASSWORD })).statusCode).toBe(201);
    expect((await create({ email: 'jo@mail.example\u3002com', password: STRONG_PASSWORD })).json()).toMatchObject({ status: 409, code: 'email_taken' });
  });

  it('logs in with exactly the address the account was created with', async () => {
    // A trailing 。 that the domain mapping turns into a dot; punycode decoding to upper-case Cherokee.
    for (const raw of ['jo@xn--bcher-kva.example\u3002', 'jo@xn--bcea.com']) {
      expect((await create({ email: raw, password: STRONG_PASSWORD })).statusCode, raw).toBe(201);
      const response = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: raw, password: STRONG_PASSWORD } });
      expect(response.statusCode, raw).toBe(200);
    }
    expect((await create({ email: 'jo@ꮻꮻ.com', password: STRONG_PASSWORD })).json()).toMatchObject({ status: 409, code: 'email_taken' });
  });

  it('needs users:write to create and answers 401 without a token', async () => {
    const plain = await seedUser(t);
    const plainToken = (await login(t.app, plain.email)).access_token;
    expect((await create({ email: 'x@example.test', password: STRONG_PASSWORD }, plainToken)).statusCode).toBe(403);
    const anonymous = await t.app.inject({ method: 'POST', url: '/v1/users', payload: { email: 'x@example.test', password: STRONG_PASSWORD } });
    expect(anonymous.json()).toMatchObject({ status: 401, code: 'token_missing' });
  });

  it('needs users:admin (not just users:write) to grant or remove the admin flag', async () => {
    const editor = await seedUser(t);
    const editorToken = (await login(t.app, editor.email)).access_token;
    // An editor holding users:write but not users:admin (authz would grant this through a role).
    t.context.authorize = async (principal, permission) =>
      principal.subject === editor.id ? ['users:write', 'users:read'].includes(permission) : principal.permissions.includes('*:*');
    const asEditor = await create({ email: 'sneaky@example.test', password: STRONG_PASSWORD, is_admin: true }, editorToken);
    expect(asEditor.json()).toMatchObject({ status: 403, code: 'privilege_escalation' });
    const plain = (await create({ email: 'plain@example.test', password: STRONG_PASSWORD }, editorToken)).json() as { id: string };
    const promote = await t.app.inject({ method: 'PATCH', url: `/v1/users/${plain.id}`, headers: bearer(editorToken), payload: { is_admin: true } });
    expect(promote.json()).toMatchObject({ code: 'privilege_escalation' });
    expect((await create({ email: 'second-admin@example.test', password: STRONG_PASSWORD, is_admin: true })).statusCode).toBe(201);
  });

  it('a deletion names in its audit event the live API keys and OAuth clients that went with the user', async () => {
    const user = await seedUser(t, { email: 'leaving@example.test' });
    const key = await t.context.apiKeys!.service.create({ name: 'ci', ownerId: user.id, permissions: [] }, { actor: 'system' });
    const revoked = await t.context.apiKeys!.service.create({ name: 'old', ownerId: user.id, permissions: [] }, { actor: 'system' });
    await t.context.apiKeys!.service.revoke(revoked.record.id, { actor: 'system' });
    const { client } = await oauthOf(t.context).clients.create({ name: 'svc', ownerId: user.id, scopes: [], expiresAt: null }, { actor: 'system' });

    expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${user.id}`, headers: bearer(adminToken) })).statusCode).toBe(204);
    const row = await t.context.storage.db.selectFrom('audit_events').select('details').where('action', '=', 'user.deleted').where('entity_id', '=', user.id).executeTakeFirstOrThrow();
    expect(JSON.parse(String(row.details))).toEqual({
      keys_deleted: { ids: [key.record.id], count: 1 },
      clients_deleted: { ids: [client.client_id], count: 1 },
    });
    expect(await t.context.storage.db.selectFrom('api_keys').select('id').where('owner_id', '=', user.id).execute()).toEqual([]);
  });

  it('gets, updates and deletes a user; deleting stops the user’s tokens', async () => {
    const id = ((await create({ email: 'd@example.test', password: STRONG_PASSWORD })).json() as { id: string }).id;
    const userToken = (await login(t.app, 'd@example.test')).access_token;
    expect((await t.app.inject({ method: 'GET', url: `/v1/users/${id}`, headers: bearer(adminToken) })).json()).toMatchObject({ id, email: 'd@example.test' });
    const patched = await t.app.inject({ method: 'PATCH', url: `/v1/users/${id}`, headers: bearer(adminToken), payload: { name: 'Dee', is_admin: true } });
    expect(patched.json()).toMatchObject({ name: 'Dee', is_admin: true });
    expect((await t.app.inject({ method: 'PATCH', url: `/v1/users/${id}`, headers: bearer(adminToken), payload: {} })).statusCode).toBe(400);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${id}`, headers: bearer(adminToken) })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `/v1/users/${id}`, headers: bearer(adminToken) })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(userToken) })).json()).toMatchObject({ code: 'token_revoked' });
    // A revocation marker too, so other instances deny the tokens even if they never hear of the deletion.
    const revoked = await identityOfApp(t).revocations.isRevoked({ jti: 'any', userId: id, issuedAtMs: Date.now() - 1000 });
    expect(revoked).toBe(true);
  });

  it('removing the admin flag ends the user’s access tokens (they claim the admin role), but not their sessions', async () => {
    const second = await seedUser(t, { email: 'second@example.test', isAdmin: true });
    const tokens = await login(t.app, second.email);
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1] ?? '', 'base64url').toString()) as { roles?: string[] };
    expect(claims.roles).toEqual(['admin']);
    const demoted = await t.app.inject({ method: 'PATCH', url: `/v1/users/${second.id}`, headers: bearer(adminToken), payload: { is_admin: false } });
    expect(demoted.json()).toMatchObject({ is_admin: false });
    expect((await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(tokens.access_token) })).json()).toMatchObject({ code: 'token_revoked' });
    // Other instances (and services checking Warden's denylist) see the marker too.
    expect(await identityOfApp(t).revocations.isRevoked({ jti: 'any', userId: second.id, issuedAtMs: Date.now() - 1000 })).toBe(true);
    // The session survives: a refresh gives a token without the role, which works.
    const refreshed = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: tokens.refresh_token } });
    expect(refreshed.statusCode).toBe(200);
    const fresh = refreshed.json<{ access_token: string }>().access_token;
    expect((JSON.parse(Buffer.from(fresh.split('.')[1] ?? '', 'base64url').toString()) as { roles?: string[] }).roles).toBeUndefined();
    expect((await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(fresh) })).statusCode).toBe(200);
    const audit = await t.context.storage.db.selectFrom('audit_events').select(['action', 'details']).where('entity_id', '=', second.id).where('action', '=', 'user.updated').execute();
    expect(audit.map((row) => JSON.parse(String(row.details)))).toContainEqual({ fields: ['is_admin'], changed: { is_admin: false }, revoked: 'issued access' });
  });

  it('lists users with a cursor, each exactly once, oldest first (created_at, then id), at every page size', async () => {
    for (let i = 0; i < 5; i += 1) {
      const user = await seedUser(t, { email: `page${i}@example.test` });
      // Two users per millisecond: the order within a tie is the id's, which a page boundary must respect.
      await t.context.storage.db.updateTable('users').set({ created_at: Date.UTC(2026, 0, 1) + Math.floor(i / 2) }).where('id', '=', user.id).execute();
    }
    const rows = (await t.context.storage.db.selectFrom('users').select(['id', 'created_at']).execute()).map((r) => ({ id: r.id, createdAt: Number(r.created_at) }));
    rows.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const expected = rows.map((r) => r.id);
    expect(expected).toHaveLength(6);
    // 1, 2, 3 and 6 divide 6: the last full page must still say it is the last.
    for (const limit of [1, 2, 3, 4, 5, 6, 7]) {
      const served = await readAllPages<{ id: string }>(t.app, '/v1/users', bearer(adminToken), limit);
      expect(served.map((u) => u.id), `limit ${limit}`).toEqual(expected);
    }
    const all = (await t.app.inject({ url: '/v1/users', headers: bearer(adminToken) })).json<Page<{ id: string }>>();
    expect(all).toMatchObject({ next_cursor: null });
    expect(all.data).toHaveLength(6);
  });

  it('refuses a cursor it did not make with 400 naming cursor, changing nothing; unknown query fields are 400', async () => {
    for (let i = 0; i < 3; i += 1) await seedUser(t, { email: `page${i}@example.test` });
    const valid = (await t.app.inject({ url: '/v1/users?limit=2', headers: bearer(adminToken) })).json<Page<unknown>>().next_cursor as string;
    const auditCursor = (await t.app.inject({ url: '/v1/audit?limit=1', headers: bearer(adminToken) })).json<Page<unknown>>().next_cursor;
    expect(auditCursor).toEqual(expect.any(String));
    const snapshot = async (): Promise<unknown[]> => t.context.storage.db.selectFrom('users').selectAll().orderBy('id').execute();
    const before = await snapshot();
    await expectCursorsRefused(t.app, '/v1/users?limit=2', bearer(adminToken), forgedCursors(valid, [auditCursor as string, cursorOf('keys'), cursorOf('clients'), 'garbage']));
    const garbage = await t.app.inject({ url: `/v1/users?cursor=${encodeURIComponent("' OR 1=1 --")}`, headers: bearer(adminToken) });
    expect(garbage.json()).toMatchObject({ status: 400, code: 'validation_failed', field: 'cursor' });
    expect(await snapshot()).toEqual(before);
    expect((await t.app.inject({ url: `/v1/users?limit=2&cursor=${valid}`, headers: bearer(adminToken) })).json<Page<unknown>>().data).toHaveLength(2);
    await expectQueriesRefused(t.app, '/v1/users', bearer(adminToken), ['page=2', 'after=x', 'email=a@example.test', 'limit=0', 'limit=201', 'limit=1.5', 'cursor=']);
  });
});
