import { afterEach, expect, it } from 'vitest';
import { identityOf } from '../../src/identity/identity-service.js';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { seedUser } from '../identity/identity-helpers.js';

/**
 * A deactivated user gets no new credential: as for API keys, creating an OAuth client for them,
 * or rotating one of their clients' secrets, is refused (400 validation_failed) and changes
 * nothing; otherwise the new secret would escape the deactivation's revocation markers and work
 * as soon as the owner is reactivated.
 */
describeEachDatabase('creating an OAuth client for a deactivated owner', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  it('is refused like an API key for that owner, and nothing is created', async () => {
    t = await createTestApp({ dialect });
    await identityOf(t.context).initialise();
    const owner = await seedUser(t);
    await identityOf(t.context).userAdmin.update(
      owner.id,
      { isActive: false },
      { actor: 'system', ip: undefined, userAgent: undefined },
    );

    const keyAttempt = t.context.apiKeys!.service.create(
      { name: 'ci', ownerId: owner.id, permissions: [] },
      { actor: 'system' },
    );
    await expect(keyAttempt).rejects.toMatchObject({ code: 'validation_failed' });

    const clientAttempt = oauthOf(t.context).clients.create(
      { name: 'bot', ownerId: owner.id, scopes: [] },
      { actor: 'system' },
    );
    await expect(clientAttempt).rejects.toMatchObject({ code: 'validation_failed' });
    const page = await oauthOf(t.context).clients.list({ ownerId: owner.id, limit: 10 });
    expect(page.data).toEqual([]);
  });

  it("refuses to rotate a deactivated owner's client, and its secret stays as it was", async () => {
    t = await createTestApp({ dialect });
    await identityOf(t.context).initialise();
    const owner = await seedUser(t);
    const clients = oauthOf(t.context).clients;
    const { client, secret } = await clients.create(
      { name: 'bot', ownerId: owner.id, scopes: [] },
      { actor: 'system' },
    );
    await identityOf(t.context).userAdmin.update(
      owner.id,
      { isActive: false },
      { actor: 'system', ip: undefined, userAgent: undefined },
    );
    await expect(clients.rotate(client.client_id, 0, { actor: 'system' })).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await identityOf(t.context).userAdmin.update(
      owner.id,
      { isActive: true },
      { actor: 'system', ip: undefined, userAgent: undefined },
    );
    expect(await clients.authenticate(client.client_id, secret)).toMatchObject({ ok: true });
  });
});
