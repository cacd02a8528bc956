import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { AuthzService, type AuthzActor } from '../../src/authz/authz-service.js';
import { roleStore } from '../../src/authz/role-store.js';
import { createMemoryInvalidationBus } from '../../src/cache/invalidation-bus.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { insertUser, memoryAudit, userPrincipal } from './fixtures.js';

/**
 * Deleting a role answers 409 role_in_use only when it is in use (the foreign key of a
 * membership refuses the delete); any other failure of the DELETE (a lost connection, a
 * timeout) propagates as itself, so a client retries it and the operator sees the outage.
 */
describeEachDatabase('deleteRole error mapping', (dialect) => {
  let storage: Storage;
  let authz: AuthzService;
  let root: AuthzActor;

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    authz = new AuthzService({
      db: storage.db,
      invalidation: createMemoryInvalidationBus(),
      audit: () => memoryAudit(),
      cacheTtlMs: 3_600_000,
    });
    root = { principal: userPrincipal(await insertUser(storage.db, { isAdmin: true })) };
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    authz.close();
    await storage.close();
  });

  it(`a failure of the DELETE that is not the foreign key is not reported as role_in_use [${dialect}]`, async () => {
    await authz.createRole(root, { name: 'unused', permissions: ['keys:read'] });
    const outage = Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
    vi.spyOn(roleStore, 'deleteRole').mockRejectedValueOnce(outage);
    const error: unknown = await authz.deleteRole(root, 'unused').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeDefined();
    expect((error as { code?: string }).code).not.toBe('role_in_use');
    // Nothing is assigned or inherited: the role is not "in use".
    expect(await roleStore.countMemberships(storage.db, 'unused')).toBe(0);
  });
});
