import { afterEach, expect, it, vi } from 'vitest';
import type { Principal } from '../../src/http/principal.js';
import { identityOf } from '../../src/identity/identity-service.js';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { describeWithRedis } from '../helpers/redis.js';
import { useTwoInstances } from '../helpers/two-instances.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';
import { basic, FORM, seedClient, type SeededClient } from './oauth-helpers.js';

const ROOT = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'test' } satisfies Principal, auditActor: 'system' };

/** A client-credentials token for a client, over HTTP. */
async function clientToken(t: TestApp, c: SeededClient): Promise<string> {
  const response = await t.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM, authorization: basic(c.clientId, c.secret) }, payload: 'grant_type=client_credentials' });
  if (response.statusCode !== 200) throw new Error(`token grant failed: ${response.statusCode} ${response.body}`);
  return (response.json() as { access_token: string }).access_token;
}

/** The black-box finding F5: a client token issued before its owner's deactivation must not come back with a reactivation. */
describeEachDatabase("OAuth client tokens stay dead after their owner's deactivation, even once the owner is reactivated", (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    vi.useRealTimers();
    await t.close();
  });

  /** Deactivates and reactivates a user over HTTP, as an administrator. */
  async function deactivateAndReactivate(ownerId: string, adminToken: string, between?: () => Promise<void>): Promise<void> {
    const patch = (isActive: boolean) => t.app.inject({ method: 'PATCH', url: `/v1/users/${ownerId}`, headers: bearer(adminToken), payload: { is_active: isActive } });
    expect((await patch(false)).statusCode).toBe(200);
    await between?.();
    expect((await patch(true)).statusCode).toBe(200);
  }

  it('refuses the old client token after the reactivation (as the owner’s own token); new tokens work', async () => {
    // Only Date is faked: the reactivation below comes a moment after the deactivation, and the
    // new token is granted once the deactivation's marker (one clock skew ahead) has passed.
    const start = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now: start });
    t = await createTestApp({ dialect });
    const admin = await seedUser(t, { isAdmin: true });
    const adminToken = (await login(t.app, admin.email)).access_token;
    // The finding's owner: a plain user holding users:read through the built-in reader role.
    const owner = await seedUser(t);
    await t.context.authz?.assignRole(ROOT, { userId: owner.id, role: 'reader' });
    const { client, secret } = await oauthOf(t.context).clients.create({ name: 'svc', ownerId: owner.id, scopes: ['users:read'] }, { actor: 'system' });
    const seeded = { clientId: client.client_id, secret, ownerId: owner.id };
    // Another owner's client is not touched.
    const bystander = await seedClient(t, ['users:read']);
    const bystanderToken = await clientToken(t, bystander);

    const oldClientToken = await clientToken(t, seeded);
    const oldOwnerToken = (await login(t.app, owner.email)).access_token;
    const call = (token: string) => t.app.inject({ url: '/v1/users', headers: bearer(token) });
    expect((await call(oldClientToken)).statusCode).toBe(200);
    expect((await call(oldOwnerToken)).statusCode).toBe(200);

    await deactivateAndReactivate(owner.id, adminToken, async () => {
      expect((await call(oldClientToken)).statusCode).toBe(401);
      expect((await call(oldOwnerToken)).statusCode).toBe(401);
    });

    expect((await call(oldClientToken)).json()).toMatchObject({ status: 401, code: 'token_revoked' });
    expect((await call(oldOwnerToken)).json()).toMatchObject({ status: 401, code: 'token_revoked' });
    vi.setSystemTime(start + t.settings.clockSkewSeconds * 1000 + 1);
    expect((await call(await clientToken(t, seeded))).statusCode).toBe(200);
    expect((await call(bystanderToken)).statusCode).toBe(200);
  });

  it('also refuses a client token issued earlier in the very second of the deactivation (compared in milliseconds)', async () => {
    // Only Date is faked, and it stands still: each step happens at the moment set for it.
    const second = 1_900_000_000_000;
    vi.useFakeTimers({ toFake: ['Date'], now: second + 100 });
    t = await createTestApp({ dialect });
    const client = await seedClient(t, ['users:read']);
    const admin = await seedUser(t, { isAdmin: true });
    const adminToken = (await login(t.app, admin.email)).access_token;
    const token = await clientToken(t, client);
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { iat: number; iat_ms?: number };
    expect(claims).toMatchObject({ iat: Math.floor(second / 1000), iat_ms: second + 100 });

    vi.setSystemTime(second + 500);
    await deactivateAndReactivate(client.ownerId, adminToken);
    vi.setSystemTime(second + 600);
    expect((await t.app.inject({ url: '/v1/users', headers: bearer(token) })).json()).toMatchObject({ code: 'token_revoked' });
    // The marker reaches one clock skew ahead of the deactivation (an instance whose clock runs
    // ahead stamps its tokens later): a token granted within it is refused, one granted after works.
    expect((await t.app.inject({ url: '/v1/users', headers: bearer(await clientToken(t, client)) })).json()).toMatchObject({ code: 'token_revoked' });
    vi.setSystemTime(second + 500 + t.settings.clockSkewSeconds * 1000 + 1);
    expect((await t.app.inject({ url: '/v1/users', headers: bearer(await clientToken(t, client)) })).statusCode).toBe(200);
  });

  it('writes no marker for a revoked client (its tokens are dead for good)', async () => {
    t = await createTestApp({ dialect });
    const client = await seedClient(t, ['users:read']);
    const live = await oauthOf(t.context).clients.create({ name: 'second', ownerId: client.ownerId, scopes: ['users:read'] }, { actor: 'system' });
    await oauthOf(t.context).clients.revoke(client.clientId, { actor: 'system' });
    const identity = identityOf(t.context);
    const revokeUser = vi.spyOn(identity.revocations, 'revokeUser');
    await identity.userAdmin.update(client.ownerId, { isActive: false }, { actor: 'system', ip: undefined, userAgent: undefined });
    expect(revokeUser.mock.calls.map(([subject]) => subject).sort()).toEqual([client.ownerId, live.client.client_id].sort());
  });
});

describeWithRedis('a client token stays dead on another instance after its owner is deactivated and reactivated', () => {
  const instances = useTwoInstances();

  it('refuses it there once the owner is active again', async () => {
    const { first, second } = instances;
    const client = await seedClient(first, ['users:read']);
    const token = await clientToken(first, client);
    expect((await second.verifier.verify(token)).valid).toBe(true);
    const by = { actor: 'system', ip: undefined, userAgent: undefined };
    await identityOf(first.context).userAdmin.update(client.ownerId, { isActive: false }, by);
    await identityOf(first.context).userAdmin.update(client.ownerId, { isActive: true }, by);
    // Whatever the second instance's status caches still say, the shared marker decides.
    // (New tokens once the marker has passed: the single-instance cases above.)
    expect(await second.verifier.verify(token)).toEqual({ valid: false, code: 'token_revoked' });
  });
});
