import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterEach, expect, it } from 'vitest';
import type { Principal } from '../../src/http/principal.js';
import { identityOf } from '../../src/identity/identity-service.js';
import { ClientTokenIssuer } from '../../src/oauth/client-token-issuer.js';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { seedUser } from '../identity/identity-helpers.js';
import { basic, FORM, seedClient } from './oauth-helpers.js';

const ROOT = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'test' } satisfies Principal, auditActor: 'system' };

describeEachDatabase('POST /oauth/token (client credentials, RFC 6749 §4.4)', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  it('issues a short-lived signed JWT with sub = client_id and the client scopes, no refresh token', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['keys:read', 'users:read']);
    const response = await t.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM, authorization: basic(c.clientId, c.secret) }, payload: 'grant_type=client_credentials' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers.pragma).toBe('no-cache');
    const body = response.json();
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'keys:read users:read' });
    expect(body.refresh_token).toBeUndefined();
    const claims = decodeJwt(body.access_token);
    expect(claims).toMatchObject({ sub: c.clientId, client_id: c.clientId, scope: 'keys:read users:read', iss: t.settings.jwtIssuer, aud: t.settings.jwtAudience });
    expect(decodeProtectedHeader(body.access_token)).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    expect(typeof decodeProtectedHeader(body.access_token).kid).toBe('string');
  });

  it('ends a token no later than its client: exp and expires_in stop at the client\'s expires_at', async () => {
    t = await createTestApp({ dialect });
    const clientEnd = Date.now() + 120_000;
    const c = await seedClient(t, ['keys:read'], { expiresAt: clientEnd });
    const response = await t.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM, authorization: basic(c.clientId, c.secret) }, payload: 'grant_type=client_credentials' });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    const claims = decodeJwt(body.access_token);
    expect(claims.exp).toBe(Math.floor(clientEnd / 1000));
    expect(body.expires_in).toBe((claims.exp as number) - (claims.iat as number));
    expect(body.expires_in).toBeLessThanOrEqual(120);
  });

  it('gives a client that ends within the current second a token that ends with it, not a second later', async () => {
    t = await createTestApp({ dialect });
    await identityOf(t.context).initialise();
    const now = Date.parse('2026-12-07T12:00:00.250Z');
    const issuer = new ClientTokenIssuer({ keys: identityOf(t.context).keys, issuer: t.settings.jwtIssuer, audience: t.settings.jwtAudience, ttlSeconds: 900, now: () => now });
    const issued = await issuer.issue('client-1', ['keys:read'], { notAfterMs: now + 500 });
    expect(decodeJwt(issued.token).exp).toBe(Math.floor((now + 500) / 1000));
    expect(issued.expiresIn).toBe(0);
    expect((await issuer.issue('client-1', ['keys:read'], { notAfterMs: null })).expiresIn).toBe(900);
  });

  it('accepts client_secret_post and narrows scope on request', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['keys:*']);
    const payload = new URLSearchParams({ grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.secret, scope: 'keys:read' }).toString();
    const response = await t.app.inject({ method: 'POST', url: '/oauth/token', headers: FORM, payload });
    expect(response.statusCode).toBe(200);
    expect(response.json().scope).toBe('keys:read');
  });

  it('answers RFC 6749 §5.2 errors: invalid_client (401 + WWW-Authenticate), invalid_scope, unsupported_grant_type, invalid_request', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['keys:read']);
    const post = (headers: Record<string, string>, payload: string) => t.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM, ...headers }, payload });

    const wrongSecret = await post({ authorization: basic(c.clientId, `${c.secret}x`) }, 'grant_type=client_credentials');
    expect(wrongSecret.statusCode).toBe(401);
    expect(wrongSecret.json()).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed' });
    expect(wrongSecret.headers['www-authenticate']).toMatch(/^Basic realm="warden"/);

    const unknown = await post({ authorization: basic('00000000-0000-4000-8000-000000000000', c.secret) }, 'grant_type=client_credentials');
    expect(unknown.json()).toEqual(wrongSecret.json());

    expect((await post({}, 'grant_type=client_credentials')).json().error).toBe('invalid_client');
    expect((await post({ authorization: basic(c.clientId, c.secret) }, 'grant_type=client_credentials&scope=keys:write')).json()).toMatchObject({ error: 'invalid_scope' });
    expect((await post({ authorization: basic(c.clientId, c.secret) }, 'grant_type=password&username=a&password=b')).json()).toMatchObject({ error: 'unsupported_grant_type' });
    expect((await post({ authorization: basic(c.clientId, c.secret) }, 'scope=keys:read')).json()).toMatchObject({ error: 'invalid_request' });
    const both = await post({ authorization: basic(c.clientId, c.secret) }, `grant_type=client_credentials&client_id=${c.clientId}&client_secret=${c.secret}`);
    expect(both.statusCode).toBe(400);
    expect(both.json().error).toBe('invalid_request');
    const repeated = await post({ authorization: basic(c.clientId, c.secret) }, 'grant_type=client_credentials&grant_type=client_credentials');
    expect(repeated.json().error).toBe('invalid_request');
    const json = await t.app.inject({ method: 'POST', url: '/oauth/token', headers: { authorization: basic(c.clientId, c.secret) }, payload: { grant_type: 'client_credentials' } });
    expect(json.statusCode).toBe(400);
    expect(json.json().error).toBe('invalid_request');
    for (const response of [wrongSecret, both, json]) expect(response.body).not.toContain(c.secret);
  });

  it('audits failed client authentication without the secret, and locks the address out after repeated failures, not the client', async () => {
    t = await createTestApp({ dialect, env: { WARDEN_LOGIN_MAX_FAILURES_PER_IP: '3' } });
    const c = await seedClient(t, ['keys:read']);
    const attempt = (secret: string, remoteAddress = '192.0.2.66') =>
      t.app.inject({ method: 'POST', url: '/oauth/token', remoteAddress, headers: { ...FORM, authorization: basic(c.clientId, secret) }, payload: 'grant_type=client_credentials' });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await attempt(`wrong-${i}`)).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const locked = await attempt(c.secret);
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    // Someone who knows the client id cannot lock the client itself out.
    expect((await attempt(c.secret, '198.51.100.7')).statusCode).toBe(200);
    const rows = await t.context.storage.db.selectFrom('audit_events').selectAll().where('action', '=', 'client.auth.failed').execute();
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(rows)).not.toContain('wrong-0');
  });

  it('never throttles a burst of concurrent correct authentications (a resource server working in parallel)', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['keys:read']);
    const responses = await Promise.all(
      Array.from({ length: 12 }, () =>
        t.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM, authorization: basic(c.clientId, c.secret) }, payload: 'grant_type=client_credentials' }),
      ),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array.from({ length: 12 }, () => 200));
  });

  it('refuses revoked and expired clients, and keeps the old secret working during a rotation grace period', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['keys:read']);
    const { oauthOf } = await import('../../src/oauth/oauth-domain.js');
    const clients = oauthOf(t.context).clients;
    const grant = (secret: string) =>
      t.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM, authorization: basic(c.clientId, secret) }, payload: 'grant_type=client_credentials' });
    const rotated = await clients.rotate(c.clientId, 60_000, { actor: 'system' });
    expect((await grant(c.secret)).statusCode).toBe(200);
    expect((await grant(rotated.secret)).statusCode).toBe(200);
    const noGrace = await clients.rotate(c.clientId, 0, { actor: 'system' });
    expect((await grant(rotated.secret)).statusCode).toBe(401);
    expect((await grant(noGrace.secret)).statusCode).toBe(200);
    await clients.revoke(c.clientId, { actor: 'system' });
    expect((await grant(noGrace.secret)).statusCode).toBe(401);
  });
});


describeEachDatabase('client authentication failures never store what was presented as the id', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  it('records client:invalid for an id that is not a client id (e.g. a swapped secret)', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['keys:read']);
    // Secret and id swapped by the caller: the "id" is the secret.
    const response = await t.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM, authorization: basic(c.secret, c.clientId) }, payload: 'grant_type=client_credentials' });
    expect(response.statusCode).toBe(401);
    const rows = await t.context.storage.db.selectFrom('audit_events').selectAll().where('action', '=', 'client.auth.failed').execute();
    expect(rows.map((r) => r.actor)).toEqual(['client:invalid']);
    expect(JSON.stringify(rows)).not.toContain(c.secret);
    expect(t.rawLogs()).not.toContain(c.secret);
  });
});

describeEachDatabase('POST /oauth/token refuses what RFC 6749 does not allow: an empty grant, two client identities', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  const token = (headers: Record<string, string>, params: Record<string, string>) =>
    t.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM, ...headers }, payload: new URLSearchParams({ grant_type: 'client_credentials', ...params }).toString() });

  it("answers invalid_scope instead of a token with no scope when the owner holds none of the client's scopes", async () => {
    t = await createTestApp({ dialect });
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    await identityOf(t.context).initialise();
    const owner = await seedUser(t);
    await authz.createRole(ROOT, { name: 'reporter', permissions: ['keys:read'] });
    await authz.assignRole(ROOT, { userId: owner.id, role: 'reporter' });
    const { client, secret } = await oauthOf(t.context).clients.create({ name: 'svc', ownerId: owner.id, scopes: ['keys:read'] }, { actor: 'system' });
    const auth = { authorization: basic(client.client_id, secret) };
    expect((await token(auth, {})).json()).toMatchObject({ scope: 'keys:read' });

    await authz.removeRole(ROOT, { userId: owner.id, role: 'reporter' });
    const empty = await token(auth, {});
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({ error: 'invalid_scope' });
    expect(empty.body).not.toContain('access_token');
    expect(await t.context.storage.db.selectFrom('audit_events').select('id').where('action', '=', 'client.token.issued').execute()).toHaveLength(1);

    // A client created without scopes is the same useless grant.
    const none = await seedClient(t, []);
    expect((await token({ authorization: basic(none.clientId, none.secret) }, {})).json()).toMatchObject({ error: 'invalid_scope' });
  });

  it('refuses a body client_id other than the HTTP Basic one, and a body secret with Basic (one method per request, §2.3)', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['keys:read']);
    const other = await seedClient(t, ['keys:read']);
    const auth = { authorization: basic(c.clientId, c.secret) };

    const refused: Record<string, string>[] = [{ client_id: other.clientId }, { client_id: 'someone-else' }, { client_secret: c.secret }, { client_id: c.clientId, client_secret: c.secret }];
    for (const params of refused) {
      const response = await token(auth, params);
      expect(response.statusCode, JSON.stringify(Object.keys(params))).toBe(400);
      expect(response.json().error).toBe('invalid_request');
      expect(response.body).not.toContain(c.secret);
    }
    // Repeating the Basic client_id in the body is allowed, and so are empty parameters: sent
    // without a value, they count as omitted (§3.2).
    const accepted: Record<string, string>[] = [{ client_id: c.clientId }, { client_id: '' }, { client_secret: '' }];
    for (const params of accepted) {
      const same = await token(auth, params);
      expect(same.statusCode, JSON.stringify(params)).toBe(200);
      expect(decodeJwt(same.json().access_token as string).sub).toBe(c.clientId);
    }
  });
});
