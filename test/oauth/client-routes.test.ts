import { afterEach, expect, it } from 'vitest';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { cursorOf, expectCursorsRefused, expectQueriesRefused, forgedCursors, readAllPages, type Page } from '../helpers/pages.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';

/** What `Date.prototype.toISOString` writes: UTC, milliseconds, `Z`. */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

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

    // The body names the grace period as key rotation does; the old name is an unknown field.
    const oldName = await t.app.inject({ method: 'POST', url: `/v1/clients/${body.client_id}/rotate`, headers: auth, payload: { grace_ms: 0 } });
    expect(oldName.json()).toMatchObject({ status: 400, code: 'validation_failed', detail: 'body has an unknown field "grace_ms"' });
    const tooLong = await t.app.inject({ method: 'POST', url: `/v1/clients/${body.client_id}/rotate`, headers: auth, payload: { grace_period_ms: 30 * 86_400_000 + 1 } });
    expect(tooLong.json()).toMatchObject({ status: 400, code: 'validation_failed' });
    const rotated = await t.app.inject({ method: 'POST', url: `/v1/clients/${body.client_id}/rotate`, headers: auth, payload: { grace_period_ms: 0 } });
    expect(rotated.statusCode, rotated.body).toBe(200);
    expect(rotated.json().client_secret).not.toBe(body.client_secret);
    // No body at all is the default grace period (24 h), as for an API key's rotate.
    const bare = await t.app.inject({ method: 'POST', url: `/v1/clients/${body.client_id}/rotate`, headers: auth });
    expect(bare.statusCode, bare.body).toBe(200);
    const rotation = await t.context.storage.db.selectFrom('audit_events').select('details').where('entity_id', '=', body.client_id).where('action', '=', 'client.rotated').orderBy('seq').execute();
    expect(rotation.map((r) => JSON.parse(String(r.details)))).toEqual([{ grace_period_ms: 0 }, { grace_period_ms: 86_400_000 }]);
    const revoked = await t.app.inject({ method: 'DELETE', url: `/v1/clients/${body.client_id}`, headers: auth });
    expect(revoked.json().revoked_at).toMatch(ISO_UTC);

    const actions = (await t.context.storage.db.selectFrom('audit_events').select('action').where('entity_id', '=', body.client_id).execute()).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['client.created', 'client.rotated', 'client.revoked']));
    const raw = JSON.stringify(await t.context.storage.db.selectFrom('audit_events').selectAll().execute());
    expect(raw).not.toContain(body.client_secret);
    expect(raw).not.toContain(rotated.json().client_secret);
    expect(raw).not.toContain(bare.json().client_secret);
  });

  it('takes and shows times as ISO 8601 strings, like API keys and users', async () => {
    t = await createTestApp({ dialect });
    const auth = bearer(await adminToken());
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/clients',
      headers: auth,
      payload: { name: 'billing', scopes: ['keys:read'], expires_at: '2030-01-01T01:00:00+01:00' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const body = created.json();
    expect(body).toMatchObject({ expires_at: '2030-01-01T00:00:00.000Z', revoked_at: null, last_used_at: null, previous_secret_expires_at: null });
    expect(body.created_at).toMatch(ISO_UTC);
    expect(Math.abs(Date.parse(body.created_at) - Date.now())).toBeLessThan(60_000);

    // Every response carrying a client uses the same form.
    const listed = await t.app.inject({ url: '/v1/clients', headers: auth });
    expect(listed.json().data[0]).toMatchObject({ client_id: body.client_id, created_at: body.created_at, expires_at: '2030-01-01T00:00:00.000Z' });
    const got = await t.app.inject({ url: `/v1/clients/${body.client_id}`, headers: auth });
    expect(got.json()).toMatchObject({ created_at: body.created_at, expires_at: '2030-01-01T00:00:00.000Z' });
    const rotated = await t.app.inject({ method: 'POST', url: `/v1/clients/${body.client_id}/rotate`, headers: auth, payload: { grace_period_ms: 60_000 } });
    expect(rotated.json().previous_secret_expires_at).toMatch(ISO_UTC);
    expect(Date.parse(rotated.json().previous_secret_expires_at) - Date.now()).toBeGreaterThan(50_000);

    // No expiry: omitted or null.
    const never = await t.app.inject({ method: 'POST', url: '/v1/clients', headers: auth, payload: { name: 'n', scopes: [], expires_at: null } });
    expect(never.statusCode).toBe(201);
    expect(never.json().expires_at).toBeNull();
  });

  it('refuses an expires_at that is not an RFC 3339 date-time with a time zone, naming the field', async () => {
    t = await createTestApp({ dialect });
    const auth = bearer(await adminToken());
    const cases: [unknown, RegExp][] = [
      [1_893_456_000_000, /^body\.expires_at must be of type string$/],
      ['2030-01-01T00:00:00', /^body\.expires_at must match format "date-time"$/],
      ['2030-01-01', /^body\.expires_at must match format "date-time"$/],
      ['2030-02-30T00:00:00Z', /^body\.expires_at must match format "date-time"$/],
      ['next tuesday', /^body\.expires_at must match format "date-time"$/],
      ['2030-12-31T23:59:60Z', /^body\.expires_at is not a representable date-time/],
      ['2020-01-01T00:00:00Z', /^expires_at must be in the future$/],
    ];
    for (const [expiresAt, detail] of cases) {
      const response = await t.app.inject({ method: 'POST', url: '/v1/clients', headers: auth, payload: { name: 'x', scopes: [], expires_at: expiresAt } });
      expect(response.statusCode, String(expiresAt)).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json(), String(expiresAt)).toMatchObject({ code: 'validation_failed', detail: expect.stringMatching(detail) });
    }
    expect(await t.context.storage.db.selectFrom('oauth_clients').select('id').execute()).toHaveLength(0);
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
  /** An admin's token, and six clients of theirs, two per millisecond (ties are ordered by id). */
  async function sixClients(): Promise<{ auth: Record<string, string>; expected: string[] }> {
    const admin = await seedUser(t, { isAdmin: true });
    const auth = bearer((await login(t.app, admin.email)).access_token);
    for (let i = 0; i < 6; i += 1) {
      const { client } = await oauthOf(t.context).clients.create({ name: `c${i}`, ownerId: admin.id, scopes: [] }, { actor: 'system' });
      await t.context.storage.db.updateTable('oauth_clients').set({ created_at: Date.UTC(2026, 0, 1) + Math.floor(i / 2) }).where('id', '=', client.client_id).execute();
    }
    // As the list must serve them: created_at, then id, both descending.
    const rows = (await t.context.storage.db.selectFrom('oauth_clients').select(['id', 'created_at']).execute()).map((r) => ({ id: r.id, createdAt: Number(r.created_at) }));
    rows.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    return { auth, expected: rows.map((r) => r.id) };
  }

  it('pages through every client exactly once, newest first, at every page size; only the last page has no cursor', async () => {
    t = await createTestApp({ dialect });
    const { auth, expected } = await sixClients();
    // 1, 2, 3 and 6 divide 6: the last full page must still say it is the last.
    for (const limit of [1, 2, 3, 4, 5, 6, 7]) {
      const served = await readAllPages<{ client_id: string }>(t.app, '/v1/clients', auth, limit);
      expect(served.map((c) => c.client_id), `limit ${limit}`).toEqual(expected);
    }
    const all = (await t.app.inject({ url: '/v1/clients', headers: auth })).json<Page<{ client_id: string }>>();
    expect(all.next_cursor).toBeNull();
    expect(all.data.map((c) => c.client_id)).toEqual(expected);

    // A client created while someone pages is newer than their cursor: no repeat, no gap.
    let added = '';
    const walked = await readAllPages<{ client_id: string }>(t.app, '/v1/clients', auth, 2, async (index) => {
      if (index === 0) added = (await t.app.inject({ method: 'POST', url: '/v1/clients', headers: auth, payload: { name: 'late', scopes: [] } })).json<{ client_id: string }>().client_id;
    });
    expect(walked.map((c) => c.client_id)).toEqual(expected);
    expect((await readAllPages<{ client_id: string }>(t.app, '/v1/clients', auth, 4)).map((c) => c.client_id)).toEqual([added, ...expected]);
  });

  it('refuses a cursor it did not make with 400 naming cursor, changing nothing; unknown query fields are 400', async () => {
    t = await createTestApp({ dialect });
    const { auth, expected } = await sixClients();
    const valid = (await t.app.inject({ url: '/v1/clients?limit=2', headers: auth })).json<Page<unknown>>().next_cursor as string;
    const usersCursor = (await t.app.inject({ url: '/v1/users?limit=1', headers: auth })).json<Page<unknown>>().next_cursor;
    const auditCursor = (await t.app.inject({ url: '/v1/audit?limit=1', headers: auth })).json<Page<unknown>>().next_cursor;
    const snapshot = async (): Promise<unknown[]> => t.context.storage.db.selectFrom('oauth_clients').selectAll().orderBy('id').execute();
    const before = await snapshot();
    await expectCursorsRefused(t.app, '/v1/clients?limit=2', auth, forgedCursors(valid, [usersCursor as string, auditCursor as string, cursorOf('keys')]));
    const garbage = await t.app.inject({ url: `/v1/clients?cursor=${encodeURIComponent("' OR 1=1 --")}`, headers: auth });
    expect(garbage.json()).toMatchObject({ status: 400, code: 'validation_failed', field: 'cursor' });
    expect(await snapshot()).toEqual(before);
    const second = (await t.app.inject({ url: `/v1/clients?limit=2&cursor=${valid}`, headers: auth })).json<Page<{ client_id: string }>>();
    expect(second.data.map((c) => c.client_id)).toEqual(expected.slice(2, 4));
    await expectQueriesRefused(t.app, '/v1/clients', auth, ['owner_id=x', 'page=2', 'after=x', 'limit=0', 'limit=201', 'limit=1.5', 'cursor=']);
  });
});
