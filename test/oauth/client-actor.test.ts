import { afterEach, expect, it } from 'vitest';
import { actorId } from '../../src/authz/audit-actor.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser, STRONG_PASSWORD } from '../identity/identity-helpers.js';
import { basic, FORM, seedClient } from './oauth-helpers.js';

it('names every kind of principal one way: the user, the key, the client (never a token id)', () => {
  expect(actorId({ kind: 'user', subject: 'u-1', permissions: [], credentialId: 'jti-1' })).toBe('u-1');
  expect(actorId({ kind: 'api_key', subject: 'owner-1', permissions: [], credentialId: 'key-1', keyId: 'key-1' })).toBe('apikey:key-1');
  expect(actorId({ kind: 'client', subject: 'client-1', permissions: [], credentialId: 'jti-2' })).toBe('client:client-1');
  expect(actorId(undefined)).toBe('anonymous');
});

// The black-box finding F6: what an OAuth client does is recorded as client:<client_id> by the
// user, key, client and role routes alike, so one actor filter finds all of it.
describeEachDatabase('audit events of actions taken with a client token name the client', (dialect) => {
  let t: TestApp;
  afterEach(async () => t.close());

  it('records client:<client_id> in user, key, client and membership changes; GET /v1/audit?actor= finds them all', async () => {
    t = await createTestApp({ dialect });
    const bot = await seedClient(t, ['users:read', 'users:write', 'keys:read', 'keys:write', 'clients:read', 'clients:write']);
    const granted = await t.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM, authorization: basic(bot.clientId, bot.secret) }, payload: 'grant_type=client_credentials' });
    const { access_token: token } = granted.json() as { access_token: string };
    const jti = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { jti: string }).jti;
    const as = (method: 'POST' | 'PATCH' | 'PUT', url: string, payload?: Record<string, unknown>) => t.app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload }) });

    const user = await as('POST', '/v1/users', { email: 'made-by-bot@example.test', password: STRONG_PASSWORD });
    expect(user.statusCode).toBe(201);
    const userId = (user.json() as { id: string }).id;
    expect((await as('PATCH', `/v1/users/${userId}`, { name: 'Bot-made' })).statusCode).toBe(200);
    expect((await as('POST', '/v1/keys', { name: 'k', owner_id: userId, permissions: [] })).statusCode).toBe(201);
    expect((await as('POST', '/v1/clients', { name: 'c', owner_id: userId, scopes: [] })).statusCode).toBe(201);
    await t.context.authz?.createRole({ principal: { kind: 'user', subject: bot.ownerId, permissions: ['*:*'], credentialId: 'test' } }, { name: 'key-reader', permissions: ['keys:read'] });
    expect((await as('PUT', `/v1/users/${userId}/roles/key-reader`)).statusCode).toBe(201);
    // A refused escalation (reader grants *:read, beyond the bot's scope) names it too.
    expect((await as('PUT', `/v1/users/${userId}/roles/reader`)).statusCode).toBe(403);

    const admin = await seedUser(t, { isAdmin: true });
    const adminToken = (await login(t.app, admin.email)).access_token;
    const query = await t.app.inject({ url: `/v1/audit?limit=50&actor=${encodeURIComponent(`client:${bot.clientId}`)}`, headers: bearer(adminToken) });
    expect(query.statusCode).toBe(200);
    const events = (query.json() as { data: { action: string; actor: string; outcome: string }[] }).data;
    const actions = events.map((e) => `${e.action}/${e.outcome}`);
    expect(actions).toEqual(expect.arrayContaining(['client.token.issued/success', 'user.created/success', 'user.updated/success', 'apikey.created/success', 'client.created/success', 'membership.added/success', 'permission.granted/denied']));
    expect(events.every((e) => e.actor === `client:${bot.clientId}`)).toBe(true);
    // Nothing is recorded under the token's jti or the bare client id (which looks like a user id).
    for (const other of [`client:${jti}`, bot.clientId]) {
      const stray = await t.app.inject({ url: `/v1/audit?limit=50&actor=${encodeURIComponent(other)}`, headers: bearer(adminToken) });
      expect((stray.json() as { data: unknown[] }).data).toEqual([]);
    }
  });
});
