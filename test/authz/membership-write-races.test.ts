import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { AuthzService, type AuthzActor } from '../../src/authz/authz-service.js';
import { createMemoryInvalidationBus } from '../../src/cache/invalidation-bus.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { insertUser, memoryAudit, userPrincipal } from './fixtures.js';

/**
 * A role assignment is decided on the role table and the user as they are when it is written:
 * it takes the role-write lock and re-checks the role's lineage under it, as role writes do. A
 * role deleted and re-created with more between the check and the write is checked again (and
 * refused); a user deleted meanwhile is 404, not a raw foreign-key error. A removal is decided
 * likewise: a role widened meanwhile is not stripped by a caller who does not hold what it now
 * grants. The tests stage the concurrent write right after the escalation check.
 */
describeEachDatabase('membership writes decided on a stale read', (dialect) => {
  let storage: Storage;
  let authz: AuthzService;
  let root: AuthzActor;
  const audit = memoryAudit();

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    authz = new AuthzService({
      db: storage.db,
      invalidation: createMemoryInvalidationBus(),
      audit: () => audit,
      cacheTtlMs: 3_600_000,
    });
    root = { principal: userPrincipal(await insertUser(storage.db, { isAdmin: true })) };
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    authz.close();
    await storage.close();
  });

  /** Runs `meanwhile` once, right after the next membership change's escalation check. */
  function afterNextCheck(meanwhile: () => Promise<void>): void {
    const check = authz.notHeld.bind(authz);
    const spy = vi.spyOn(authz, 'notHeld').mockImplementationOnce(async (...args) => {
      spy.mockRestore();
      const missing = await check(...args);
      await meanwhile();
      return missing;
    });
  }

  it(`a user editor cannot end up assigning a role that grants more than it holds (role deleted and re-created meanwhile) [${dialect}]`, async () => {
    const editor = await insertUser(storage.db);
    await authz.createRole(root, { name: 'helpdesk', permissions: ['users:write', '*:read'] });
    await authz.assignRole(root, { userId: editor, role: 'helpdesk' });
    await authz.createRole(root, { name: 'viewer', permissions: ['*:read'] });
    const target = await insertUser(storage.db);
    // Another instance's administrator replaces `viewer` with a role of that name granting everything.
    afterNextCheck(async () => {
      await authz.deleteRole(root, 'viewer');
      await authz.createRole(root, { name: 'viewer', permissions: ['*:*'] });
    });
    await expect(
      authz.assignRole({ principal: userPrincipal(editor) }, { userId: target, role: 'viewer' }),
    ).rejects.toMatchObject({ code: 'privilege_escalation' });
    expect(await authz.check(editor, 'users:delete')).toBe(false);
    expect(await authz.check(target, 'users:delete')).toBe(false);
  });

  it(`a user editor cannot strip a role widened to everything meanwhile: 403, the membership stays [${dialect}]`, async () => {
    const editor = await insertUser(storage.db);
    await authz.createRole(root, { name: 'helpdesk', permissions: ['users:write', '*:read'] });
    await authz.assignRole(root, { userId: editor, role: 'helpdesk' });
    await authz.createRole(root, { name: 'ops', permissions: ['*:read'] });
    const target = await insertUser(storage.db);
    await authz.assignRole(root, { userId: target, role: 'ops' });
    // An administrator widens `ops` to everything: `target` is now an administrator.
    afterNextCheck(async () => {
      await authz.updateRole(root, 'ops', { permissions: ['*:*'] });
    });
    await expect(authz.removeRole({ principal: userPrincipal(editor) }, { userId: target, role: 'ops' })).rejects.toMatchObject({ code: 'privilege_escalation' });
    expect((await authz.memberships(target)).map((m) => m.role)).toEqual(['ops']);
  });

  it(`assigning a role to a user deleted meanwhile is 404 not_found, not a raw foreign-key error (500) [${dialect}]`, async () => {
    const target = await insertUser(storage.db);
    afterNextCheck(async () => {
      await storage.db.deleteFrom('users').where('id', '=', target).execute();
    });
    await expect(authz.assignRole(root, { userId: target, role: 'reader' })).rejects.toMatchObject({
      code: 'not_found',
      status: 404,
    });
  });
});
