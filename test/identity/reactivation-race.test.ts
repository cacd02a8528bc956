import { afterEach, beforeEach, expect, it } from 'vitest';
import type { IdentityService } from '../../src/identity/identity-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, holdNextUserRead, identityOfApp, login, seedUser } from './identity-helpers.js';

const actor = (name: string) => ({ actor: name, ip: undefined, userAgent: undefined });

/**
 * A deactivation whose revocation failed leaves the user's tokens unmarked (refused only while
 * the user is inactive); a reactivation closes them before the user is active again. That holds
 * also when the deactivation commits while the reactivation is on its way (it read the user as
 * still active): the write finds the user inactive under its lock, and the reactivation starts
 * again, closing what the deactivation left open first.
 */
describeEachDatabase('a reactivation racing a deactivation whose revocation failed', (dialect) => {
  let t: TestApp;
  let identity: IdentityService;
  beforeEach(async () => {
    t = await createTestApp({ dialect });
    identity = identityOfApp(t);
  });
  afterEach(async () => t.close());

  it('tokens issued before the deactivation stay refused after a reactivation that read the user as still active', async () => {
    const user = await seedUser(t, { email: 'flapping@example.test' });
    const tokens = await login(t.app, user.email);
    const me = async () => (await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode;
    expect(await me()).toBe(200);

    // Admin B asks to (re)activate the user: its pre-check reads the user, still active.
    const held = holdNextUserRead(identity);
    const reactivating = identity.userAdmin.update(user.id, { isActive: true }, actor('admin-b'));
    await held.reached;

    // Meanwhile admin A deactivates the user (a compromised account); the revocation fails
    // (denylist unavailable), so the tokens are refused only while the user is inactive.
    const auth = identity.auth;
    const realLogoutAll = auth.logoutAll.bind(auth);
    const realRevoke = auth.revokeIssuedTokens.bind(auth);
    auth.logoutAll = async () => {
      throw new Error('denylist unavailable');
    };
    auth.revokeIssuedTokens = async () => {
      throw new Error('denylist unavailable');
    };
    await expect(identity.userAdmin.update(user.id, { isActive: false }, actor('admin-a'))).rejects.toThrow();
    auth.logoutAll = realLogoutAll;
    auth.revokeIssuedTokens = realRevoke;
    expect(await me()).toBe(401);

    held.release();
    await reactivating;
    expect((await identity.users.findById(user.id))?.isActive).toBe(true);
    // The reactivation found the user inactive under its lock: what the failed deactivation left
    // open must be closed, as it is when the two do not overlap.
    expect(await me()).toBe(401);
  });

  it('without the overlap, a reactivation after a deactivation whose revocation failed refuses the old tokens', async () => {
    const user = await seedUser(t, { email: 'sequential@example.test' });
    const tokens = await login(t.app, user.email);
    const me = async () => (await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode;
    const auth = identity.auth;
    const realLogoutAll = auth.logoutAll.bind(auth);
    auth.logoutAll = async () => {
      throw new Error('denylist unavailable');
    };
    await expect(identity.userAdmin.update(user.id, { isActive: false }, actor('admin-a'))).rejects.toThrow();
    auth.logoutAll = realLogoutAll;
    await identity.userAdmin.update(user.id, { isActive: true }, actor('admin-b'));
    expect(await me()).toBe(401);
  });
});
