import { afterEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer } from '../identity/identity-helpers.js';
import { basic, FORM, seedClient } from './oauth-helpers.js';

/**
 * Every access token Warden accepts (up to WARDEN_JWT_MAX_BYTES) can be introspected and revoked,
 * however long its scope makes it; and /oauth/token never hands out a token longer than that,
 * which Warden itself would refuse: the grant is `invalid_scope` instead.
 */
describeEachDatabase('a valid client token longer than 4096 characters', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  it('can be introspected and revoked', async () => {
    t = await createTestApp({ dialect });
    const scopes = [
      'keys:read',
      ...Array.from(
        { length: 99 },
        (_, i) => `reportingresource${String(i).padStart(2, '0')}:readeverything`,
      ),
    ];
    const c = await seedClient(t, ['tokens:introspect', 'tokens:revoke', ...scopes]);
    const auth = { ...FORM, authorization: basic(c.clientId, c.secret) };
    const granted = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: auth,
      payload: 'grant_type=client_credentials',
    });
    expect(granted.statusCode).toBe(200);
    const token = granted.json().access_token as string;
    expect(token.length).toBeGreaterThan(4096);
    expect(token.length).toBeLessThanOrEqual(t.settings.jwtMaxBytes);
    // A working bearer token.
    expect((await t.app.inject({ url: '/v1/keys', headers: bearer(token) })).statusCode).toBe(200);

    const introspected = await t.app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: auth,
      payload: new URLSearchParams({ token }).toString(),
    });
    expect(introspected.statusCode, introspected.body).toBe(200);
    expect(introspected.json()).toMatchObject({ active: true, client_id: c.clientId });

    const revoked = await t.app.inject({
      method: 'POST',
      url: '/oauth/revoke',
      headers: auth,
      payload: new URLSearchParams({ token }).toString(),
    });
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect((await t.app.inject({ url: '/v1/keys', headers: bearer(token) })).statusCode).toBe(401);
  });

  it('is never issued beyond WARDEN_JWT_MAX_BYTES, where Warden itself refuses it', async () => {
    t = await createTestApp({ dialect });
    // 100 scopes, each as long as the schema allows: what POST /v1/clients accepts.
    const scopes = [
      'keys:read',
      ...Array.from(
        { length: 99 },
        (_, i) => `r${String(i).padStart(2, '0')}${'x'.repeat(60)}:${'y'.repeat(63)}`,
      ),
    ];
    const c = await seedClient(t, scopes);
    const granted = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: basic(c.clientId, c.secret) },
      payload: 'grant_type=client_credentials',
    });
    if (granted.statusCode === 200) {
      // A token the endpoint hands out must be one Warden accepts.
      const token = granted.json().access_token as string;
      expect(
        (await t.app.inject({ url: '/v1/keys', headers: bearer(token) })).statusCode,
        `token of ${token.length} bytes`,
      ).toBe(200);
    } else {
      expect(granted.statusCode).toBe(400);
      expect(granted.json().error).toBe('invalid_scope');
    }
  });
});
