import { afterEach, beforeEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, identityOfApp, seedUser } from '../identity/identity-helpers.js';

/**
 * A user access token with a `scope` claim may do at most what its scope lists — also when the
 * list is empty (`issue({ scope: [] })`, say a caller that intersected the requested and the
 * allowed permissions and got none): such a token holds nothing, not every permission of its
 * user, as wardenTokenGuard already decides.
 */
let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => t.close());

it('a user token restricted to an empty scope holds nothing (not all of its user\'s permissions)', async () => {
  const identity = identityOfApp(t);
  const user = await seedUser(t, { isAdmin: true });
  const session = await identity.sessions.create(user.id, { ip: '192.0.2.1', userAgent: 'review' });

  // Sanity: a token restricted to keys:read cannot read roles.
  const narrow = await identity.issuer.issue({ userId: user.id, sessionId: session.sessionId, scope: ['keys:read'] });
  expect((await t.app.inject({ method: 'GET', url: '/v1/roles', headers: bearer(narrow.token) })).statusCode).toBe(403);

  // Restricted to nothing: must be refused as well.
  const none = await identity.issuer.issue({ userId: user.id, sessionId: session.sessionId, scope: [] });
  const response = await t.app.inject({ method: 'GET', url: '/v1/roles', headers: bearer(none.token) });
  expect(response.statusCode).toBe(403);
});
