import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';

// End to end with the identity domain's real login and JWTs (no test authenticator): the
// guard's decisions come from roles, and a revoked membership stops the next request.
describe('authorization with real access tokens [sqlite]', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(async () => t.close());

  it('an is_admin user manages roles; a plain user gets 403 until granted, and again after revocation', async () => {
    const admin = await seedUser(t, { isAdmin: true });
    const user = await seedUser(t);
    const adminToken = (await login(t.app, admin.email)).access_token;
    const userToken = (await login(t.app, user.email)).access_token;
    expect((await t.app.inject({ method: 'GET', url: '/v1/roles', headers: bearer(userToken) })).statusCode).toBe(403);
    const grant = await t.app.inject({ method: 'PUT', url: `/v1/users/${user.id}/roles/reader`, headers: bearer(adminToken) });
    expect(grant.statusCode).toBe(201);
    expect((await t.app.inject({ method: 'GET', url: '/v1/roles', headers: bearer(userToken) })).statusCode).toBe(200);
    // A reader cannot escalate itself.
    const self = await t.app.inject({ method: 'PUT', url: `/v1/users/${user.id}/roles/admin`, headers: bearer(userToken) });
    expect(self.statusCode).toBe(403);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${user.id}/roles/reader`, headers: bearer(adminToken) })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: '/v1/roles', headers: bearer(userToken) })).statusCode).toBe(403);
  });
});
