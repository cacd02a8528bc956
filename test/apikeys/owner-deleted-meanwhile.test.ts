import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuthzService } from '../../src/authz/authz-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, identityOfApp, login, seedUser } from '../identity/identity-helpers.js';

const system = { actor: 'system', ip: undefined, userAgent: undefined };

/**
 * Creating an API key or an OAuth client checks that the owner exists, reads the owner's
 * permissions, then inserts the row. An owner deleted in between is answered as if it had
 * never existed (400 naming owner_id for a key, 404 for a client, as before the check), not
 * with the insert's foreign-key error as a 500; nothing is stored.
 */
describeEachDatabase('a credential created while its owner is being deleted', (dialect) => {
  let t: TestApp;
  let adminToken: string;
  let ownerId: string;
  beforeEach(async () => {
    t = await createTestApp({ dialect });
    const admin = await seedUser(t, { email: 'root@example.test', isAdmin: true });
    adminToken = (await login(t.app, admin.email)).access_token;
    ownerId = (await seedUser(t, { email: 'owner@example.test' })).id;
  });
  afterEach(async () => t.close());

  /** Deletes the owner the moment the owner's permissions are read for the credential (after its existence check). */
  function deleteOwnerWhenItsPermissionsAreRead(): { deleted: () => boolean } {
    const authz = t.context.authz as AuthzService;
    const real = authz.effectivePermissions.bind(authz);
    let deleted = false;
    authz.effectivePermissions = async (subject: string, scope?: string) => {
      const result = await real(subject, scope);
      if (subject === ownerId && !deleted) {
        deleted = true;
        expect(await identityOfApp(t).userAdmin.delete(ownerId, system)).toBe(true);
      }
      return result;
    };
    return { deleted: () => deleted };
  }

  it('POST /v1/keys for an owner deleted meanwhile is 400 naming owner_id, and stores no key', async () => {
    const race = deleteOwnerWhenItsPermissionsAreRead();
    const response = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: bearer(adminToken), payload: { name: 'ci', owner_id: ownerId, permissions: [] } });
    expect(race.deleted()).toBe(true);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'validation_failed', field: 'owner_id' });
    expect(await t.context.storage.db.selectFrom('api_keys').select('id').where('owner_id', '=', ownerId).execute()).toEqual([]);
  });

  it('POST /v1/clients for an owner deleted meanwhile is 404, and stores no client', async () => {
    const race = deleteOwnerWhenItsPermissionsAreRead();
    const response = await t.app.inject({ method: 'POST', url: '/v1/clients', headers: bearer(adminToken), payload: { name: 'svc', owner_id: ownerId, scopes: [] } });
    expect(race.deleted()).toBe(true);
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'not_found' });
    expect(await t.context.storage.db.selectFrom('oauth_clients').select('id').where('owner_id', '=', ownerId).execute()).toEqual([]);
  });
});
