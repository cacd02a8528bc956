import { afterEach, beforeEach, expect, it } from 'vitest';
import { AuthzService, type AuthzActor } from '../../src/authz/authz-service.js';
import { MAX_INHERITANCE_DEPTH } from '../../src/authz/role-graph.js';
import { createMemoryInvalidationBus, type InvalidationBus } from '../../src/cache/invalidation-bus.js';
import type { Principal } from '../../src/http/principal.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { insertUser, memoryAudit, userPrincipal } from './fixtures.js';

describeEachDatabase('AuthzService', (dialect) => {
  let storage: Storage;
  let authz: AuthzService;
  let audit: ReturnType<typeof memoryAudit>;
  let root: AuthzActor;

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    audit = memoryAudit();
    // A long TTL: every freshness assertion below must come from invalidation, not expiry.
    authz = new AuthzService({ db: storage.db, invalidation: createMemoryInvalidationBus(), audit: () => audit, cacheTtlMs: 3_600_000 });
    root = { principal: userPrincipal(await insertUser(storage.db, { isAdmin: true })) };
  });
  afterEach(async () => {
    authz.close();
    await storage.close();
  });

  it('seeds admin, member and reader; member inherits reader', async () => {
    const roles = await authz.listRoles();
    expect(roles.map((r) => [r.name, r.permissions, r.inherits, r.builtin])).toEqual([
      ['admin', ['*:*'], [], true],
      ['member', ['keys:write'], ['reader'], true],
      ['reader', ['*:read'], [], true],
    ]);
  });

  it('a new user holds nothing (least privilege); an is_admin user holds *:*', async () => {
    const user = await insertUser(storage.db);
    expect(await authz.effectivePermissions(user)).toEqual([]);
    expect(await authz.can(userPrincipal(user), 'keys:read')).toBe(false);
    expect(await authz.effectivePermissions(root.principal.subject)).toEqual(['*:*']);
    expect(await authz.can(root.principal, 'anything:delete')).toBe(true);
  });

  it('inherited permissions count, with their source', async () => {
    const user = await insertUser(storage.db);
    await authz.createRole(root, { name: 'lead', permissions: ['users:write'], inherits: ['member'] });
    await authz.assignRole(root, { userId: user, role: 'lead' });
    expect(await authz.effectivePermissions(user)).toEqual(['users:write', 'keys:write', '*:read']);
    expect(await authz.check(user, 'audit:read')).toBe(true);
    expect(await authz.check(user, 'keys:delete')).toBe(false);
    const grants = await authz.grants(user);
    expect(grants.find((g) => g.permission === '*:read')).toEqual({ permission: '*:read', source: 'membership', role: 'reader', via: ['lead', 'member', 'reader'], scope: undefined });
  });

  it('refuses a role whose name differs from an existing one only in case (409), and creates nothing', async () => {
    for (const name of ['Admin', 'READER', 'mEmBeR']) {
      await expect(authz.createRole(root, { name, permissions: ['keys:read'] })).rejects.toMatchObject({ code: 'conflict', status: 409 });
    }
    await authz.createRole(root, { name: 'Support', permissions: ['keys:read'] });
    await expect(authz.createRole(root, { name: 'support', permissions: ['keys:read'] })).rejects.toMatchObject({ code: 'conflict' });
    expect((await authz.listRoles()).map((r) => r.name).sort()).toEqual(['Support', 'admin', 'member', 'reader']);
  });

  it('rejects creating or updating a role into an inheritance cycle', async () => {
    await authz.createRole(root, { name: 'a', permissions: ['x:read'], inherits: [] });
    await authz.createRole(root, { name: 'b', permissions: [], inherits: ['a'] });
    await authz.createRole(root, { name: 'c', permissions: [], inherits: ['b'] });
    await expect(authz.updateRole(root, 'a', { inherits: ['c'] })).rejects.toMatchObject({ code: 'role_cycle', fields: { cycle: ['a', 'c', 'b', 'a'] } });
    await expect(authz.createRole(root, { name: 'self', permissions: [], inherits: ['self'] })).rejects.toMatchObject({ code: 'role_cycle' });
    expect((await authz.getRole('a')).inherits).toEqual([]);
    await expect(authz.createRole(root, { name: 'd', permissions: [], inherits: ['nope'] })).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('refuses inheritance chains deeper than MAX_INHERITANCE_DEPTH, also when a chain is extended from below', async () => {
    // c1 ← c2 ← … ← c32: the deepest chain allowed.
    await authz.createRole(root, { name: 'c1', permissions: ['x:read'] });
    for (let i = 2; i <= MAX_INHERITANCE_DEPTH; i++) await authz.createRole(root, { name: `c${i}`, permissions: [], inherits: [`c${i - 1}`] });
    expect(await authz.notHeld(root.principal, ['x:read'])).toEqual([]);
    await expect(authz.createRole(root, { name: 'c33', permissions: [], inherits: [`c${MAX_INHERITANCE_DEPTH}`] })).rejects.toMatchObject({ code: 'validation_failed', status: 400 });
    // Giving the bottom of the chain a parent deepens every role above it.
    await authz.createRole(root, { name: 'floor', permissions: [] });
    await expect(authz.updateRole(root, 'c1', { inherits: ['floor'] })).rejects.toMatchObject({ code: 'validation_failed', fields: { field: 'inherits' } });
    expect((await authz.getRole('c1')).inherits).toEqual([]);
  });

  it('scoped memberships apply only in their scope; global ones everywhere', async () => {
    const user = await insertUser(storage.db);
    await authz.assignRole(root, { userId: user, role: 'admin', scope: 'tenant-a' });
    await authz.assignRole(root, { userId: user, role: 'reader', scope: 'tenant-b' });
    expect(await authz.check(user, 'keys:write', 'tenant-a')).toBe(true);
    expect(await authz.check(user, 'keys:write', 'tenant-b')).toBe(false);
    expect(await authz.check(user, 'keys:read', 'tenant-b')).toBe(true);
    expect(await authz.check(user, 'keys:read')).toBe(false);
    expect(await authz.check(user, 'keys:read', 'tenant-c')).toBe(false);
    await authz.assignRole(root, { userId: user, role: 'reader' });
    expect(await authz.check(user, 'keys:read', 'tenant-c')).toBe(true);
    expect(await authz.can(userPrincipal(user), 'users:delete', 'tenant-a')).toBe(true);
    expect(await authz.can(userPrincipal(user), 'users:delete')).toBe(false);
  });

  it('assigning twice is idempotent; removing a missing membership is 404', async () => {
    const user = await insertUser(storage.db);
    expect(await authz.assignRole(root, { userId: user, role: 'reader' })).toBe(true);
    expect(await authz.assignRole(root, { userId: user, role: 'reader' })).toBe(false);
    expect(await authz.memberships(user)).toHaveLength(1);
    await authz.removeRole(root, { userId: user, role: 'reader' });
    await expect(authz.removeRole(root, { userId: user, role: 'reader' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(authz.assignRole(root, { userId: 'no-such-user', role: 'reader' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(authz.assignRole(root, { userId: user, role: 'no-such-role' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('a revoked membership or role permission stops working at once (cache invalidated)', async () => {
    const user = await insertUser(storage.db);
    await authz.createRole(root, { name: 'ops', permissions: ['keys:write'] });
    await authz.assignRole(root, { userId: user, role: 'ops' });
    expect(await authz.can(userPrincipal(user), 'keys:write')).toBe(true); // now cached
    await authz.updateRole(root, 'ops', { permissions: ['keys:read'] });
    expect(await authz.can(userPrincipal(user), 'keys:write')).toBe(false);
    expect(await authz.can(userPrincipal(user), 'keys:read')).toBe(true);
    await authz.removeRole(root, { userId: user, role: 'ops' });
    expect(await authz.can(userPrincipal(user), 'keys:read')).toBe(false);
  });

  it('canCached() answers without waiting exactly when the grants are cached, the same as can(), and forgets on a change', async () => {
    const user = await insertUser(storage.db);
    await authz.assignRole(root, { userId: user, role: 'member' });
    const principal = userPrincipal(user);
    const key: Principal = { kind: 'api_key', subject: user, permissions: ['keys:read'], credentialId: 'k0', keyId: 'k0' };
    // Decided by the credential alone: no grants needed.
    expect(authz.canCached(key, 'users:write')).toBe(false);
    expect(authz.canCached(principal, 'not a permission')).toBe(false);
    // Needs the user's grants, not loaded yet: no answer.
    expect(authz.canCached(principal, 'keys:write')).toBeUndefined();
    expect(authz.canCached(key, 'keys:read')).toBeUndefined();
    expect(await authz.can(principal, 'keys:write')).toBe(true);
    for (const [who, permission] of [[principal, 'keys:write'], [principal, 'roles:write'], [key, 'keys:read']] as const) {
      expect(authz.canCached(who, permission)).toBe(await authz.can(who, permission));
    }
    expect(authz.canCached(principal, 'keys:read', 'tenant-a')).toBeUndefined();
    await authz.removeRole(root, { userId: user, role: 'member' });
    expect(authz.canCached(principal, 'keys:write')).toBeUndefined();
    expect(await authz.can(principal, 'keys:write')).toBe(false);
    expect(authz.canCached(principal, 'keys:write')).toBe(false);
  });

  it('refuses privilege escalation: a users:write holder cannot give itself admin', async () => {
    const user = await insertUser(storage.db);
    await authz.createRole(root, { name: 'user-manager', permissions: ['users:write', 'users:read'] });
    await authz.assignRole(root, { userId: user, role: 'user-manager' });
    const self: AuthzActor = { principal: userPrincipal(user) };
    await expect(authz.assignRole(self, { userId: user, role: 'admin' })).rejects.toMatchObject({ code: 'privilege_escalation', status: 403 });
    await expect(authz.assignRole(self, { userId: user, role: 'member' })).rejects.toMatchObject({ code: 'privilege_escalation' });
    // …nor create a role wider than itself, nor widen its own role, nor strip admin from others.
    await expect(authz.createRole(self, { name: 'mine', permissions: ['*:*'] })).rejects.toMatchObject({ code: 'privilege_escalation' });
    await expect(authz.updateRole(self, 'user-manager', { permissions: ['users:*'] })).rejects.toMatchObject({ code: 'privilege_escalation' });
    await expect(authz.updateRole(self, 'user-manager', { inherits: ['admin'] })).rejects.toMatchObject({ code: 'privilege_escalation' });
    await expect(authz.removeRole(self, { userId: root.principal.subject, role: 'admin' }).catch((e: unknown) => e)).resolves.toMatchObject({
      code: 'privilege_escalation',
    });
    expect(await authz.effectivePermissions(user)).toEqual(['users:write', 'users:read']);
    expect(audit.events.filter((e) => e.outcome === 'denied').length).toBeGreaterThanOrEqual(6);
    // What it does hold, it may grant.
    const other = await insertUser(storage.db);
    await authz.assignRole(self, { userId: other, role: 'user-manager' });
  });

  it('a restricted token only holds the intersection; an api key only its own permissions', async () => {
    const user = await insertUser(storage.db);
    await authz.assignRole(root, { userId: user, role: 'member' });
    const restricted = userPrincipal(user, ['keys:read']);
    expect(await authz.can(restricted, 'keys:read')).toBe(true);
    expect(await authz.can(restricted, 'keys:write')).toBe(false);
    const key: Principal = { kind: 'api_key', subject: user, permissions: ['users:read'], credentialId: 'k1', keyId: 'k1' };
    expect(await authz.can(key, 'users:read')).toBe(true);
    expect(await authz.can(key, 'keys:write')).toBe(false);
    // A restricted token cannot grant beyond its restriction even when the user could.
    const other = await insertUser(storage.db);
    await expect(authz.assignRole({ principal: userPrincipal(root.principal.subject, ['users:write']) }, { userId: other, role: 'reader' })).rejects.toMatchObject({
      code: 'privilege_escalation',
    });
  });

  it('an api key holds only what it carries and its owner still holds: demoting the owner narrows the key at once', async () => {
    const user = await insertUser(storage.db);
    await authz.assignRole(root, { userId: user, role: 'admin' });
    const key: Principal = { kind: 'api_key', subject: user, permissions: ['*:*'], credentialId: 'k2', keyId: 'k2' };
    expect(await authz.can(key, 'roles:write')).toBe(true);
    await authz.removeRole(root, { userId: user, role: 'admin' });
    await authz.assignRole(root, { userId: user, role: 'reader' });
    // Still a reader: the key keeps what the owner keeps, and loses the rest.
    expect(await authz.can(key, 'roles:write')).toBe(false);
    expect(await authz.can(key, 'users:write')).toBe(false);
    expect(await authz.effectivePermissions(user)).not.toContain('roles:write');
    const [held] = await authz.effectivePermissions(user);
    if (held !== undefined) expect(await authz.can(key, held)).toBe(true);
    // A key with an empty list holds nothing, unlike an unrestricted user token.
    expect(await authz.can({ ...key, permissions: [] }, held ?? 'users:read')).toBe(false);
  });

  it('deactivated users hold nothing', async () => {
    const user = await insertUser(storage.db, { isActive: false, isAdmin: true });
    expect(await authz.effectivePermissions(user)).toEqual([]);
  });

  it('a role in use or inherited cannot be deleted; built-ins included; unused ones can', async () => {
    const user = await insertUser(storage.db);
    await authz.assignRole(root, { userId: user, role: 'reader' });
    await expect(authz.deleteRole(root, 'reader')).rejects.toMatchObject({ code: 'role_in_use' });
    await authz.removeRole(root, { userId: user, role: 'reader' });
    // still inherited by member
    await expect(authz.deleteRole(root, 'reader')).rejects.toMatchObject({ code: 'role_in_use', fields: { inherited_by: ['member'] } });
    await authz.updateRole(root, 'member', { inherits: [] });
    await authz.deleteRole(root, 'reader');
    await expect(authz.getRole('reader')).rejects.toMatchObject({ code: 'not_found' });
    await expect(authz.deleteRole(root, 'reader')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('names that look like SQL or markup are refused before storage; odd but valid names round-trip exactly', async () => {
    await expect(authz.createRole(root, { name: "x'; DROP TABLE roles; --", permissions: [] })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(authz.createRole(root, { name: '<img src=x>', permissions: [] })).rejects.toMatchObject({ code: 'validation_failed' });
    const role = await authz.createRole(root, { name: 'drop--table.roles', description: "Robert'); DROP TABLE roles;-- <b>", permissions: ['read'] });
    expect(role.name).toBe('drop--table.roles');
    expect((await authz.getRole('drop--table.roles')).description).toBe("Robert'); DROP TABLE roles;-- <b>");
    expect(role.permissions).toEqual(['*:read']); // coarse "read" expanded
    await expect(authz.createRole(root, { name: 'drop--table.roles', permissions: [] })).rejects.toMatchObject({ code: 'conflict' });
  });

  it('every change writes an audit event', async () => {
    const user = await insertUser(storage.db);
    await authz.createRole(root, { name: 'ops', permissions: ['keys:read'] });
    await authz.updateRole(root, 'ops', { permissions: ['keys:write'] });
    await authz.assignRole(root, { userId: user, role: 'ops', scope: 'org:1' });
    await authz.removeRole(root, { userId: user, role: 'ops', scope: 'org:1' });
    await authz.deleteRole(root, 'ops');
    expect(audit.events.map((e) => [e.action, e.outcome, e.entity_id])).toEqual([
      ['role.created', 'success', 'ops'],
      ['role.updated', 'success', 'ops'],
      ['permission.granted', 'success', 'ops'],
      ['permission.revoked', 'success', 'ops'],
      ['membership.added', 'success', user],
      ['membership.removed', 'success', user],
      ['role.deleted', 'success', 'ops'],
    ]);
    expect(audit.events.every((e) => e.actor === root.principal.subject)).toBe(true);
  });

  it('widening a role through a new parent is audited as permission.granted, narrowing as permission.revoked', async () => {
    await authz.createRole(root, { name: 'ops', permissions: ['keys:read'] });
    await authz.updateRole(root, 'ops', { inherits: ['admin'] });
    await authz.updateRole(root, 'ops', { inherits: [] });
    const changes = audit.events.filter((e) => e.action === 'permission.granted' || e.action === 'permission.revoked');
    expect(changes.map((e) => [e.action, e.entity_id, e.details])).toEqual([
      ['permission.granted', 'ops', { permissions: ['*:*'] }],
      ['permission.revoked', 'ops', { permissions: ['*:*'] }],
    ]);
  });

  it('a refused escalation is audited with its target: who tried to give what to whom', async () => {
    const manager = await insertUser(storage.db);
    const victim = await insertUser(storage.db);
    await authz.createRole(root, { name: 'user-manager', permissions: ['users:write'] });
    await authz.assignRole(root, { userId: manager, role: 'user-manager' });
    const self: AuthzActor = { principal: userPrincipal(manager) };
    await expect(authz.assignRole(self, { userId: victim, role: 'admin', scope: 'acme' })).rejects.toMatchObject({ code: 'privilege_escalation' });
    await expect(authz.updateRole(self, 'user-manager', { inherits: ['admin'] })).rejects.toMatchObject({ code: 'privilege_escalation' });
    expect(audit.events.filter((e) => e.outcome === 'denied')).toEqual([
      expect.objectContaining({
        action: 'permission.granted',
        actor: manager,
        entity_type: 'user',
        entity_id: victim,
        details: { operation: 'membership.add', role: 'admin', scope: 'acme', reason: 'privilege_escalation', missing: ['*:*'] },
      }),
      expect.objectContaining({ actor: manager, entity_type: 'role', entity_id: 'user-manager', details: { operation: 'role.update', reason: 'privilege_escalation', missing: ['*:*'] } }),
    ]);
  });

  it('a change is still audited when publishing its invalidation fails (Redis down), and this instance forgets at once', async () => {
    const local = createMemoryInvalidationBus();
    const failing: InvalidationBus = {
      ...local,
      async publish(message) {
        await local.publish(message); // the Redis bus tells its own instance first
        throw new Error('redis down');
      },
    };
    const instance = new AuthzService({ db: storage.db, invalidation: failing, audit: () => audit, cacheTtlMs: 3_600_000 });
    try {
      const user = await insertUser(storage.db);
      await authz.assignRole(root, { userId: user, role: 'member' });
      expect(await instance.can(userPrincipal(user), 'keys:write')).toBe(true); // now cached
      await expect(instance.removeRole(root, { userId: user, role: 'member' })).rejects.toThrow('redis down');
      expect(audit.events.at(-1)).toMatchObject({ action: 'membership.removed', outcome: 'success', entity_id: user });
      expect(await instance.can(userPrincipal(user), 'keys:write')).toBe(false);
      await expect(instance.createRole(root, { name: 'ops', permissions: ['keys:read'] })).rejects.toThrow('redis down');
      expect(audit.events.at(-1)).toMatchObject({ action: 'role.created', entity_id: 'ops' });
    } finally {
      instance.close();
    }
  });

  it('deleting a user removes its memberships (ON DELETE CASCADE)', async () => {
    const user = await insertUser(storage.db);
    await authz.assignRole(root, { userId: user, role: 'reader' });
    await storage.db.deleteFrom('users').where('id', '=', user).execute();
    await authz.deleteRole(root, 'member'); // member is unassigned
    expect(await storage.db.selectFrom('role_memberships').selectAll().where('user_id', '=', user).execute()).toEqual([]);
  });
});
