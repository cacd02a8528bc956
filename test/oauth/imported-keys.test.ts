/**
 * `warden keys import` brings keys in whatever format the older store used (`sk_live_…`); they
 * authenticate like any key, so /oauth/revoke must revoke them by value and /oauth/introspect
 * must report them, not only values that start with `wdn_`.
 */
import { afterEach, expect, it } from 'vitest';
import { importKeys } from '../../src/apikeys/key-import.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { basic, FORM, seedClient, type SeededClient } from './oauth-helpers.js';

const LEGACY_KEY = 'sk_live_legacy0123456789abcdefghijKLMNOP';

describeEachDatabase("OAuth endpoints and API keys imported in an older store's format", (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  const call = (url: string, c: SeededClient, token: string) =>
    t.app.inject({ method: 'POST', url, headers: { ...FORM, authorization: basic(c.clientId, c.secret) }, payload: new URLSearchParams({ token }).toString() });

  async function setup(): Promise<SeededClient> {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['tokens:revoke', 'tokens:introspect', 'keys:read']);
    const apiKeys = t.context.apiKeys!;
    const report = await importKeys([{ key: LEGACY_KEY, name: 'legacy', ownerId: c.ownerId, permissions: ['keys:read'] }], {
      db: t.context.storage.db,
      keyring: apiKeys.keyring,
      invalidation: t.context.invalidation,
      actor: 'system',
    });
    expect(report.imported).toBe(1);
    apiKeys.verifier.clear();
    // The imported key works.
    expect((await t.app.inject({ url: '/v1/keys', headers: { 'x-api-key': LEGACY_KEY } })).statusCode).toBe(200);
    return c;
  }

  it('/oauth/revoke revokes an imported API key presented by value', async () => {
    const c = await setup();
    const response = await call('/oauth/revoke', c, LEGACY_KEY);
    expect(response.statusCode).toBe(200);
    // Revoked as DELETE /v1/keys/{id} would.
    expect((await t.context.apiKeys!.verifier.verify(LEGACY_KEY)).valid).toBe(false);
    expect((await t.app.inject({ url: '/v1/keys', headers: { 'x-api-key': LEGACY_KEY } })).statusCode).toBe(401);
  });

  it('/oauth/introspect reports a working imported API key as active', async () => {
    const c = await setup();
    const response = await call('/oauth/introspect', c, LEGACY_KEY);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ active: true, token_type: 'api_key', scope: 'keys:read' });
  });
});
