import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { insertTestUser } from '../helpers/users.js';

/**
 * POST /v1/keys/verify answers `insufficient_permissions` when the key's owner no longer holds a
 * requested permission. Like every other refusal, it neither counts as a use of the key nor
 * spends a token of the key's own rate limit: the owner is asked before either.
 */
describeEachDatabase('POST /v1/keys/verify refused by the owner check', (dialect) => {
  let t: TestApp;
  let apiKeys: ApiKeys;
  let gateway: string;
  let owner: string;

  beforeEach(async () => {
    t = await createTestApp({ dialect });
    apiKeys = t.context.apiKeys as ApiKeys;
    const db = t.context.storage.db;
    const admin = await insertTestUser(db, { isAdmin: true });
    owner = await insertTestUser(db, { isAdmin: true });
    gateway = (
      await apiKeys.service.create(
        { name: 'gw', ownerId: admin, permissions: ['keys:verify'] },
        { actor: 'system' },
      )
    ).key;
  });
  afterEach(async () => t.close());

  const setAdmin = async (isAdmin: boolean): Promise<void> => {
    await t.context.storage.db
      .updateTable('users')
      .set({ is_admin: isAdmin ? 1 : 0 })
      .where('id', '=', owner)
      .execute();
    // What identity does after such a change: every cache of the user is dropped.
    await t.context.invalidation.publish({ topic: 'user', id: owner });
  };
  const verify = async (key: string): Promise<Record<string, unknown>> =>
    (
      await t.app.inject({
        method: 'POST',
        url: '/v1/keys/verify',
        headers: { 'x-api-key': gateway },
        payload: { key, permissions: ['reports:read'] },
      })
    ).json();

  it('does not record usage for a verification it answers valid: false', async () => {
    const issued = await apiKeys.service.create(
      { name: 'k', ownerId: owner, permissions: ['reports:read'] },
      { actor: 'system' },
    );
    await setAdmin(false);
    expect(await verify(issued.key)).toMatchObject({ valid: false, code: 'insufficient_permissions' });
    await apiKeys.usage.flush();
    const stored = await apiKeys.service.get(issued.record.id);
    expect(stored?.usageCount).toBe(0);
    expect(stored?.lastUsedAt).toBeUndefined();
  });

  it("does not spend the key's own rate limit on a verification refused by the owner check", async () => {
    const issued = await apiKeys.service.create(
      {
        name: 'limited',
        ownerId: owner,
        permissions: ['reports:read'],
        rateLimit: { limit: 1, windowMs: 3_600_000 },
      },
      { actor: 'system' },
    );
    await setAdmin(false);
    expect(await verify(issued.key)).toMatchObject({ valid: false, code: 'insufficient_permissions' });
    await setAdmin(true);
    // The one allowed use of the hour has not been spent: the refusal above did not pass every check.
    expect(await verify(issued.key)).toMatchObject({ valid: true, code: null });
  });
});
