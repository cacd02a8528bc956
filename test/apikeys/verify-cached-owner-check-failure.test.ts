import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import type { Authorizer } from '../../src/http/auth-guard.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { insertTestUser } from '../helpers/users.js';

/**
 * verifyCached() asks `ownerHolds`; when the authorizer cannot answer from its cache it returns
 * a promise, which verifyCached leaves to verify() (it asks again and answers for a failure). A
 * rejection of that dropped promise (the owner's grants cannot be read: a database error) must
 * fail the one request, never go unhandled: the server's crash handler ends the process on an
 * unhandled rejection.
 */
let t: TestApp;
let gateway: string;
let owner: string;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeEach(async () => {
  t = await createTestApp();
  const db = t.context.storage.db;
  const admin = await insertTestUser(db, { isAdmin: true });
  owner = await insertTestUser(db, { isAdmin: true });
  gateway = (
    await (t.context.apiKeys as ApiKeys).service.create(
      { name: 'gw', ownerId: admin, permissions: ['keys:verify'] },
      { actor: 'system' },
    )
  ).key;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  unhandled.length = 0;
  await t.close();
});

it('a failing owner lookup on a cached key fails the request only, with no unhandled rejection', async () => {
  const { key } = await (t.context.apiKeys as ApiKeys).service.create(
    { name: 'k', ownerId: owner, permissions: ['reports:read'] },
    { actor: 'system' },
  );
  const verify = () =>
    t.app.inject({
      method: 'POST',
      url: '/v1/keys/verify',
      headers: { 'x-api-key': gateway },
      payload: { key, permissions: ['reports:read'] },
    });
  // Puts the key in the verifier's cache.
  expect((await verify()).json()).toMatchObject({ valid: true });

  // The owner's grants can no longer be read (what authz.can() does when its query fails).
  const original: Authorizer = t.context.authorize;
  t.context.authorize = (principal, permission, scope) =>
    principal.subject === owner
      ? Promise.reject(new Error('grants could not be read'))
      : original(principal, permission, scope);

  const res = await verify();
  expect(res.statusCode).toBeGreaterThanOrEqual(500);
  // Give Node the tick it needs to report an unhandled rejection.
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(unhandled).toEqual([]);
});
