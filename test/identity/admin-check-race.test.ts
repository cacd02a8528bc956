import { afterEach, beforeEach, expect, it } from 'vitest';
import type { User } from '../../src/identity/user-store.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, identityOfApp, login, seedUser } from './identity-helpers.js';

/**
 * Deactivating, reactivating or deleting an administrator needs users:admin, also when the user
 * becomes one while the request is under way: the check is made again inside the write's
 * transaction, which holds off promotions (the flag, or a global role granting users:admin)
 * until it ends. The interleaving is forced: the promotion commits right after the route's
 * first read of the target.
 */
const promotions: Record<string, (t: TestApp, id: string) => Promise<unknown>> = {
  'the is_admin flag': (t, id) =>
    t.context.storage.db.updateTable('users').set({ is_admin: 1 }).where('id', '=', id).execute(),
  'a grant of the admin role': (t, id) =>
    t.context.authz!.assignRole(
      { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'test' } },
      { userId: id, role: 'admin' },
    ),
};

for (const [promotion, promote] of Object.entries(promotions))
  describeEachDatabase(`an administrator check that races a promotion by ${promotion}`, (dialect) => {
    let t: TestApp;
    let editorToken: string;
    let targetId: string;
    beforeEach(async () => {
      t = await createTestApp({ dialect });
      await seedUser(t, { isAdmin: true });
      const editor = await seedUser(t);
      editorToken = (await login(t.app, editor.email)).access_token;
      // An editor holding users:write and users:delete, but not users:admin.
      const original = t.context.authorize;
      t.context.authorize = async (principal, permission) =>
        principal.subject === editor.id
          ? ['users:write', 'users:read', 'users:delete'].includes(permission)
          : original(principal, permission);
      targetId = (await seedUser(t)).id;
      // The first read of the target (the route's administrator check) sees it as it was; a
      // concurrent promotion by an administrator commits just after that read.
      const users = identityOfApp(t).users;
      const findById = users.findById.bind(users);
      let promoted = false;
      users.findById = async (id: string): Promise<User | undefined> => {
        const found = await findById(id);
        if (id === targetId && !promoted) {
          promoted = true;
          await promote(t, targetId);
        }
        return found;
      };
    });
    afterEach(async () => t.close());

    it('a users:write holder cannot deactivate a user who became an administrator meanwhile', async () => {
      const response = await t.app.inject({
        method: 'PATCH',
        url: `/v1/users/${targetId}`,
        headers: bearer(editorToken),
        payload: { is_active: false },
      });
      const row = await t.context.storage.db
        .selectFrom('users')
        .select('is_active')
        .where('id', '=', targetId)
        .executeTakeFirstOrThrow();
      expect(Number(row.is_active), 'an administrator deactivated without users:admin').toBe(1);
      expect(response.json()).toMatchObject({ status: 403, code: 'privilege_escalation' });
    });

    it('a users:delete holder cannot delete a user who became an administrator meanwhile', async () => {
      const response = await t.app.inject({
        method: 'DELETE',
        url: `/v1/users/${targetId}`,
        headers: bearer(editorToken),
      });
      const row = await t.context.storage.db
        .selectFrom('users')
        .select('id')
        .where('id', '=', targetId)
        .executeTakeFirst();
      expect(row, 'an administrator deleted without users:admin').toBeDefined();
      expect(response.json()).toMatchObject({ status: 403, code: 'privilege_escalation' });
    });
  });
