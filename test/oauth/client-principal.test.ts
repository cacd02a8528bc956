import { afterEach, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer } from '../identity/identity-helpers.js';
import { basic, FORM, seedClient } from './oauth-helpers.js';

// docs/oauth.md, "Using a client token": a client is its own principal (subject = client id),
// as a Keycloak service account or an Auth0 machine-to-machine application is; it does not act
// as its owner. Its owner only caps what it may hold.
describeEachDatabase('a client-credentials token is the client, not its owner', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  async function tokenFor(scopes: readonly string[]): Promise<{ auth: Record<string, string>; ownerId: string; clientId: string }> {
    const client = await seedClient(t, scopes);
    const grant = await t.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM, authorization: basic(client.clientId, client.secret) }, payload: 'grant_type=client_credentials' });
    expect(grant.statusCode, grant.body).toBe(200);
    return { auth: bearer(grant.json<{ access_token: string }>().access_token), ownerId: client.ownerId, clientId: client.clientId };
  }

  it("lists no keys with keys:read alone (it owns none), and reaches its owner's keys only with users:read", async () => {
    t = await createTestApp({ dialect });
    const narrow = await tokenFor(['keys:read']);
    await (t.context.apiKeys as ApiKeys).service.create({ name: 'owners-key', ownerId: narrow.ownerId, permissions: ['keys:read'] }, { actor: 'system' });

    const own = await t.app.inject({ url: '/v1/keys', headers: narrow.auth });
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({ data: [] });
    const owners = await t.app.inject({ url: `/v1/keys?owner_id=${narrow.ownerId}`, headers: narrow.auth });
    expect(owners.statusCode).toBe(403);
    expect(owners.json()).toMatchObject({ code: 'forbidden' });

    const wide = await tokenFor(['keys:read', 'users:read']);
    const listed = await t.app.inject({ url: `/v1/keys?owner_id=${narrow.ownerId}`, headers: wide.auth });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().data.map((k: { name: string }) => k.name)).toEqual(['owners-key']);
  });
});
