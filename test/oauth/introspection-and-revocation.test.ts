import { decodeJwt } from 'jose';
import { afterEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';
import { basic, FORM, seedClient, type SeededClient } from './oauth-helpers.js';

describeEachDatabase('POST /oauth/introspect (RFC 7662) and /oauth/revoke (RFC 7009)', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  const form = (params: Record<string, string>) => new URLSearchParams(params).toString();
  const introspect = (c: SeededClient, token: string) =>
    t.app.inject({ method: 'POST', url: '/oauth/introspect', headers: { ...FORM, authorization: basic(c.clientId, c.secret) }, payload: form({ token }) });
  const revoke = (c: SeededClient, token: string) =>
    t.app.inject({ method: 'POST', url: '/oauth/revoke', headers: { ...FORM, authorization: basic(c.clientId, c.secret) }, payload: form({ token }) });
  const grant = async (c: SeededClient, scope?: string): Promise<string> => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: basic(c.clientId, c.secret) },
      payload: form({ grant_type: 'client_credentials', ...(scope === undefined ? {} : { scope }) }),
    });
    return response.json().access_token as string;
  };

  it('a client token works on a guarded route with exactly its scope, and stops at once when the client is revoked', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['keys:read', 'users:read']);
    const token = await grant(c, 'keys:read');
    expect((await t.app.inject({ url: '/v1/keys', headers: bearer(token) })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/v1/users', headers: bearer(token) })).statusCode).toBe(403);
    const { oauthOf } = await import('../../src/oauth/oauth-domain.js');
    await oauthOf(t.context).clients.revoke(c.clientId, { actor: 'system' });
    const after = await t.app.inject({ url: '/v1/keys', headers: bearer(token) });
    expect(after.statusCode).toBe(401);
  });

  it('reports active client tokens, user tokens, refresh tokens and API keys, and inactive for garbage', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['tokens:introspect', 'keys:read']);
    const clientToken = await grant(c, 'keys:read');
    expect((await introspect(c, clientToken)).json()).toMatchObject({ active: true, sub: c.clientId, client_id: c.clientId, scope: 'keys:read', token_type: 'Bearer' });

    const user = await seedUser(t);
    const pair = await login(t.app, user.email);
    expect((await introspect(c, pair.access_token)).json()).toMatchObject({ active: true, sub: user.id });
    expect((await introspect(c, pair.refresh_token)).json()).toMatchObject({ active: true, token_type: 'refresh_token', sub: user.id });

    const { key } = await t.context.apiKeys!.service.create({ name: 'ci', ownerId: c.ownerId, permissions: ['keys:read'] }, { actor: 'system' });
    expect((await introspect(c, key)).json()).toMatchObject({ active: true, token_type: 'api_key', sub: c.ownerId, scope: 'keys:read' });

    for (const garbage of ['nope', "' OR 1=1 --", `${clientToken.slice(0, -4)}AAAA`, 'wrt_unknown', 'wdn_live_unknown']) {
      const response = await introspect(c, garbage);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ active: false });
    }
  });

  it('reports an expired token and a rotated-away refresh token as inactive', async () => {
    t = await createTestApp({ dialect, env: { WARDEN_ACCESS_TOKEN_TTL: '60' } });
    const c = await seedClient(t, ['tokens:introspect']);
    const user = await seedUser(t);
    const pair = await login(t.app, user.email);
    const refreshed = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: pair.refresh_token } });
    expect(refreshed.statusCode).toBe(200);
    expect((await introspect(c, pair.refresh_token)).json()).toEqual({ active: false });
    expect((await introspect(c, refreshed.json().refresh_token)).json()).toMatchObject({ active: true });
    // An expired JWT: signed by the same keys, but with exp in the past.
    const { ClientTokenIssuer } = await import('../../src/oauth/client-token-issuer.js');
    const { identityOf } = await import('../../src/identity/identity-service.js');
    const old = new ClientTokenIssuer({
      keys: identityOf(t.context).keys,
      issuer: t.settings.jwtIssuer,
      audience: t.settings.jwtAudience,
      ttlSeconds: 60,
      now: () => Date.now() - 3_600_000,
    });
    const expired = await old.issue(c.clientId, ['tokens:introspect']);
    expect((await introspect(c, expired.token)).json()).toEqual({ active: false });
  });

  it('needs the tokens:introspect scope and client authentication', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['keys:read']);
    const token = await grant(c);
    const denied = await introspect(c, token);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error).toBe('invalid_client');
    const anonymous = await t.app.inject({ method: 'POST', url: '/oauth/introspect', headers: FORM, payload: form({ token }) });
    expect(anonymous.statusCode).toBe(401);
  });

  it("revoking a refresh token also ends its session's access tokens", async () => {
    t = await createTestApp({ dialect });
    const admin = await seedClient(t, ['tokens:revoke', 'tokens:introspect']);
    const user = await seedUser(t);
    const pair = await login(t.app, user.email);
    expect((await t.app.inject({ url: '/v1/auth/me', headers: bearer(pair.access_token) })).statusCode).toBe(200);
    expect((await revoke(admin, pair.refresh_token)).statusCode).toBe(200);
    expect((await introspect(admin, pair.access_token)).json()).toEqual({ active: false });
    expect((await t.app.inject({ url: '/v1/auth/me', headers: bearer(pair.access_token) })).statusCode).toBe(401);
  });

  it('keeps a revoked access token on the denylist for as long as the verifier would accept it (exp + clock skew)', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['keys:read']);
    const token = await grant(c);
    await revoke(c, token);
    const { exp, jti } = decodeJwt(token);
    const entry = await t.context.storage.db.selectFrom('revoked_tokens').select('expires_at').where('subject', '=', `jti:${String(jti)}`).executeTakeFirstOrThrow();
    expect(Number(entry.expires_at)).toBeGreaterThanOrEqual(((exp ?? 0) + t.settings.clockSkewSeconds) * 1000);
  });

  it('revokes a client its own access token; others only with tokens:revoke; always answers 200', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['tokens:introspect', 'keys:read']);
    const other = await seedClient(t, ['keys:read']);
    const mine = await grant(c);
    const theirs = await grant(other);

    expect((await revoke(c, theirs)).statusCode).toBe(200);
    expect((await introspect(c, theirs)).json()).toMatchObject({ active: true });

    expect((await revoke(c, mine)).statusCode).toBe(200);
    expect((await introspect(c, mine)).json()).toEqual({ active: false });
    expect((await t.app.inject({ url: '/v1/keys', headers: bearer(mine) })).statusCode).toBe(401);

    expect((await revoke(c, 'not-a-token')).statusCode).toBe(200);

    const admin = await seedClient(t, ['tokens:revoke', 'tokens:introspect']);
    const user = await seedUser(t);
    const pair = await login(t.app, user.email);
    const { key } = await t.context.apiKeys!.service.create({ name: 'x', ownerId: admin.ownerId, permissions: ['keys:read'] }, { actor: 'system' });
    for (const token of [theirs, pair.access_token, pair.refresh_token, key]) {
      expect((await revoke(admin, token)).statusCode).toBe(200);
      expect((await introspect(admin, token)).json(), token.slice(0, 4)).toEqual({ active: false });
    }
  });
});
