import { afterEach, expect, it } from 'vitest';
import type { Principal } from '../../src/http/principal.js';
import { identityOf } from '../../src/identity/identity-service.js';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';
import { basic, FORM, seedClient, type SeededClient } from './oauth-helpers.js';

const ROOT = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'test' } satisfies Principal, auditActor: 'system' };
const TOKEN_ADMIN = ['tokens:introspect', 'tokens:revoke'];

/** The two ways an owner loses a permission: the role is taken away, or the role loses it. */
const DEMOTIONS = ['the role is removed from the owner', 'the permissions are removed from the role'] as const;
type Demotion = (typeof DEMOTIONS)[number];

describeEachDatabase("introspection and revocation are capped by what the client's owner holds now", (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  const form = (params: Record<string, string>) => new URLSearchParams(params).toString();
  const introspect = (c: SeededClient, token: string) =>
    t.app.inject({ method: 'POST', url: '/oauth/introspect', headers: { ...FORM, authorization: basic(c.clientId, c.secret) }, payload: form({ token }) });
  const revoke = (c: SeededClient, token: string) =>
    t.app.inject({ method: 'POST', url: '/oauth/revoke', headers: { ...FORM, authorization: basic(c.clientId, c.secret) }, payload: form({ token }) });

  /** A non-admin owner holding the token-admin permissions (and `extra`) through a role, and its client carrying them as scopes. */
  async function delegatedClient(extra: readonly string[] = []): Promise<SeededClient & { role: string }> {
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    await identityOf(t.context).initialise();
    const owner = await seedUser(t);
    const role = `token-admin-${owner.id.slice(0, 8)}`;
    const permissions = [...TOKEN_ADMIN, ...extra];
    await authz.createRole(ROOT, { name: role, permissions });
    await authz.assignRole(ROOT, { userId: owner.id, role });
    const { client, secret } = await oauthOf(t.context).clients.create({ name: 'token-admin', ownerId: owner.id, scopes: permissions }, { actor: 'system' });
    return { clientId: client.client_id, secret, ownerId: owner.id, role };
  }

  async function demote(c: { ownerId: string; role: string }, how: Demotion): Promise<void> {
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    if (how === 'the role is removed from the owner') await authz.removeRole(ROOT, { userId: c.ownerId, role: c.role });
    else await authz.updateRole(ROOT, c.role, { permissions: ['keys:read'] });
  }

  for (const how of DEMOTIONS) {
    it(`refuses a client whose owner lost tokens:introspect and tokens:revoke (${how}); the victim's tokens keep working`, async () => {
      t = await createTestApp({ dialect });
      const delegated = await delegatedClient();
      // An independent witness, owned by an admin, to check the victim's tokens from outside.
      const witness = await seedClient(t, TOKEN_ADMIN);
      const lacking = await seedClient(t, ['keys:read']);
      const victim = await seedUser(t);

      // Before the demotion, both endpoints work for the delegated client.
      const before = await login(t.app, victim.email);
      expect((await introspect(delegated, before.access_token)).json()).toMatchObject({ active: true, sub: victim.id });
      expect((await revoke(delegated, before.refresh_token)).statusCode).toBe(200);
      expect((await introspect(witness, before.refresh_token)).json()).toEqual({ active: false });
      expect((await t.app.inject({ url: '/v1/auth/me', headers: bearer(before.access_token) })).statusCode).toBe(401);

      await demote(delegated, how);
      const pair = await login(t.app, victim.email);
      const { key } = await t.context.apiKeys!.service.create({ name: 'victim-key', ownerId: victim.id, permissions: [] }, { actor: 'system' });

      // Introspection: exactly the answer a client without the scope gets.
      const refused = await introspect(delegated, pair.access_token);
      const withoutScope = await introspect(lacking, pair.access_token);
      expect(withoutScope.statusCode).toBe(403);
      expect(refused.statusCode).toBe(withoutScope.statusCode);
      expect(refused.json()).toEqual(withoutScope.json());
      expect(refused.body).not.toContain('"active"');

      // Revocation: the usual 200, and nothing of the victim's is revoked.
      for (const token of [pair.access_token, pair.refresh_token, key]) {
        const response = await revoke(delegated, token);
        expect(response.statusCode).toBe(200);
        expect(response.body).toBe('');
        expect((await introspect(witness, token)).json(), token.slice(0, 4)).toMatchObject({ active: true });
      }
      expect((await t.app.inject({ url: '/v1/auth/me', headers: bearer(pair.access_token) })).statusCode).toBe(200);
      const refreshed = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: pair.refresh_token } });
      expect(refreshed.statusCode).toBe(200);
      const logouts = await t.context.storage.db.selectFrom('audit_events').select('actor').where('action', '=', 'auth.logout').execute();
      // Only the revocation made before the demotion.
      expect(logouts.filter((row) => row.actor === `client:${delegated.clientId}`)).toHaveLength(1);
    });
  }

  it('still lets a demoted client revoke the access tokens issued to itself', async () => {
    t = await createTestApp({ dialect });
    // The owner keeps keys:read after the demotion, so the client can still be granted a token.
    const delegated = await delegatedClient(['keys:read']);
    const witness = await seedClient(t, TOKEN_ADMIN);
    await demote(delegated, 'the permissions are removed from the role');
    const granted = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: basic(delegated.clientId, delegated.secret) },
      payload: 'grant_type=client_credentials',
    });
    expect(granted.json().scope).toBe('keys:read');
    const token = granted.json().access_token as string;
    expect((await introspect(witness, token)).json()).toMatchObject({ active: true });
    expect((await revoke(delegated, token)).statusCode).toBe(200);
    expect((await introspect(witness, token)).json()).toEqual({ active: false });
  });
});
