import { afterEach, beforeEach, expect, it } from 'vitest';
import { identityOf } from '../../src/identity/identity-service.js';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { describeWithRedis } from '../helpers/redis.js';
import { useTwoInstances } from '../helpers/two-instances.js';
import { basic, FORM, seedClient, type SeededClient } from './oauth-helpers.js';

// A client's authentication is served from a cache (a resource server introspects on every
// request), as its status is. A rotation without grace, a revocation and the owner's
// deactivation still take effect at once: on this instance, and on the others through the bus.

const SYSTEM = { actor: 'system', ip: undefined, userAgent: undefined };

/** A client-credentials grant with the given secret: the status code. */
async function grant(t: TestApp, c: SeededClient, secret = c.secret): Promise<number> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...FORM, authorization: basic(c.clientId, secret) },
    payload: 'grant_type=client_credentials',
  });
  return response.statusCode;
}

describeEachDatabase('client authentication served from the cache', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp({ dialect });
  });
  afterEach(async () => t.close());

  it('refuses the old secret at once after a rotation without grace, and takes the new one', async () => {
    const c = await seedClient(t, ['users:read']);
    expect(await grant(t, c)).toBe(200); // cached now
    const { secret } = await oauthOf(t.context).clients.rotate(c.clientId, 0, { actor: 'system' });
    expect(await grant(t, c)).toBe(401);
    expect(await grant(t, c, secret)).toBe(200);
  });

  it('refuses at once after a revocation and after the owner is deactivated', async () => {
    const revoked = await seedClient(t, ['users:read']);
    const ownerGone = await seedClient(t, ['users:read']);
    expect(await grant(t, revoked)).toBe(200);
    expect(await grant(t, ownerGone)).toBe(200);
    await oauthOf(t.context).clients.revoke(revoked.clientId, { actor: 'system' });
    await identityOf(t.context).userAdmin.update(ownerGone.ownerId, { isActive: false }, SYSTEM);
    expect(await grant(t, revoked)).toBe(401);
    expect(await grant(t, ownerGone)).toBe(401);
  });
});

describeWithRedis('client authentication cached on another instance', () => {
  const instances = useTwoInstances();

  it('refuses the old secret there once the rotation is announced', async () => {
    const { first, secondContext } = instances;
    const c = await seedClient(first, ['users:read']);
    const clientsOnSecond = oauthOf(secondContext).clients;
    expect(await clientsOnSecond.authenticate(c.clientId, c.secret)).toMatchObject({ ok: true }); // cached there
    await oauthOf(first.context).clients.rotate(c.clientId, 0, { actor: 'system' });
    await expect
      .poll(async () => (await clientsOnSecond.authenticate(c.clientId, c.secret)).ok, { timeout: 5000 })
      .toBe(false);
  });
});
