import { sql } from 'kysely';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { AuthzService, type AuthzActor } from '../../src/authz/authz-service.js';
import { roleStore } from '../../src/authz/role-store.js';
import { createMemoryInvalidationBus } from '../../src/cache/invalidation-bus.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { instrumentedDb, insertUser, memoryAudit, userPrincipal } from './fixtures.js';

/*
 * Role writes are checked on a first read of the role table, outside any transaction (the
 * escalation check reads through other services), and carried out under a lock that
 * serialises role writes. These tests make another administrator's change land exactly in
 * between, and require the result to be the one the two changes made one after the other.
 */
describeEachDatabase('role writes racing each other', (dialect) => {
  let storage: Storage;
  let audit: ReturnType<typeof memoryAudit>;
  let root: AuthzActor;
  const services: AuthzService[] = [];
  /** The change to run after the next role-table read outside a transaction, and how many more times. */
  let race: { change: (n: number) => Promise<void>; remaining: number; fired: number } | undefined;

  const service = (db = storage.db): AuthzService => {
    const s = new AuthzService({ db, invalidation: createMemoryInvalidationBus(), audit: () => audit, cacheTtlMs: 0 });
    services.push(s);
    return s;
  };

  /**
   * Runs `change` right after the next `times` role-table reads made outside a transaction:
   * the first read a role write decides on, after which another change may land before its
   * transaction starts. The trigger is off while `change` runs, so its own reads do not fire it.
   */
  const raceFirstReads = (change: (n: number) => Promise<void>, times = 1): { fired: () => number } => {
    race = { change, remaining: times, fired: 0 };
    const armed = race;
    return { fired: () => armed.fired };
  };

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    audit = memoryAudit();
    root = { principal: userPrincipal(await insertUser(storage.db, { isAdmin: true })) };
    const allRoles = roleStore.allRoles;
    vi.spyOn(roleStore, 'allRoles').mockImplementation(async (db) => {
      const roles = await allRoles(db);
      const armed = race;
      if (armed !== undefined && armed.remaining > 0 && !db.isTransaction) {
        race = undefined;
        armed.remaining -= 1;
        armed.fired += 1;
        await armed.change(armed.fired);
        if (armed.remaining > 0) race = armed;
      }
      return roles;
    });
  });
  afterEach(async () => {
    race = undefined;
    vi.restoreAllMocks();
    for (const s of services.splice(0)) s.close();
    await storage.close();
  });

  it('a description-only PATCH racing a revocation leaves the permission revoked, and audits no grant', async () => {
    const admin = service();
    await admin.createRole(root, { name: 'ops', permissions: ['reports:read', 'secrets:read'] });
    const member = await insertUser(storage.db);
    await admin.assignRole(root, { userId: member, role: 'ops' });
    const editor: AuthzActor = { principal: userPrincipal(await insertUser(storage.db, { isAdmin: true })) };

    raceFirstReads(async () => {
      await admin.updateRole(root, 'ops', { permissions: ['reports:read'] });
    });
    const updated = await service().updateRole(editor, 'ops', { description: 'Operations team' });

    expect(updated.permissions).toEqual(['reports:read']);
    expect(updated.description).toBe('Operations team');
    expect(await admin.check(member, 'secrets:read')).toBe(false);
    const trail = audit.events.filter((e) => e.entity_id === 'ops').map((e) => [e.action, e.actor]);
    expect(trail).toEqual([
      ['role.created', root.principal.subject],
      ['role.updated', root.principal.subject],
      ['permission.revoked', root.principal.subject],
      ['role.updated', editor.principal.subject],
    ]);
    const last = audit.events.at(-1);
    expect(last?.details).toEqual({ permissions: ['reports:read'], inherits: [], description_changed: true });
  });

  it('a permissions-only PATCH racing the removal of an admin parent keeps the parent removed, and audits the diff against what it replaced', async () => {
    const admin = service();
    await admin.createRole(root, { name: 'ops', permissions: ['reports:read'], inherits: ['admin'] });
    const member = await insertUser(storage.db);
    await admin.assignRole(root, { userId: member, role: 'ops' });
    const editor: AuthzActor = { principal: userPrincipal(await insertUser(storage.db, { isAdmin: true })) };

    raceFirstReads(async () => {
      await admin.updateRole(root, 'ops', { inherits: [] });
    });
    const updated = await service().updateRole(editor, 'ops', { permissions: ['reports:read', 'audit:read'] });

    expect(updated.inherits).toEqual([]);
    expect(updated.permissions).toEqual(['reports:read', 'audit:read']);
    expect(await admin.check(member, 'secrets:admin')).toBe(false);
    const editorEvents = audit.events.filter((e) => e.entity_id === 'ops' && e.actor === editor.principal.subject);
    expect(editorEvents.map((e) => [e.action, e.details])).toEqual([
      ['role.updated', { permissions: ['reports:read', 'audit:read'], inherits: [], description_changed: false }],
      ['permission.granted', { permissions: ['audit:read'] }],
    ]);
  });

  it('a PATCH cannot remove a permission granted meanwhile that its caller does not hold', async () => {
    const admin = service();
    await admin.createRole(root, { name: 'editors', permissions: ['roles:write', 'reports:read'] });
    const editorId = await insertUser(storage.db);
    await admin.assignRole(root, { userId: editorId, role: 'editors' });
    await admin.createRole(root, { name: 'ops', permissions: ['reports:read'] });

    raceFirstReads(async () => {
      await admin.updateRole(root, 'ops', { permissions: ['reports:read', 'secrets:read'] });
    });
    // From the editor's read this rewrites the list unchanged; by now it would revoke secrets:read.
    await expect(service().updateRole({ principal: userPrincipal(editorId) }, 'ops', { permissions: ['reports:read'] })).rejects.toMatchObject({
      code: 'privilege_escalation',
      fields: { permissions: ['secrets:read'] },
    });
    expect((await admin.getRole('ops')).permissions).toEqual(['reports:read', 'secrets:read']);
  });

  it('creating a role that inherits one deleted meanwhile is refused: no dangling parent is stored', async () => {
    const admin = service();
    await admin.createRole(root, { name: 'base', permissions: ['reports:read'] });

    raceFirstReads(async () => {
      await admin.deleteRole(root, 'base');
    });
    await expect(service().createRole(root, { name: 'team', permissions: [], inherits: ['base'] })).rejects.toMatchObject({
      code: 'validation_failed',
      fields: { field: 'inherits', unknown: ['base'] },
    });
    await expect(admin.getRole('team')).rejects.toMatchObject({ code: 'not_found' });
    expect(audit.events.filter((e) => e.entity_id === 'team')).toEqual([]);
  });

  it('giving a role a parent deleted meanwhile is refused and leaves the role as it was', async () => {
    const admin = service();
    await admin.createRole(root, { name: 'base', permissions: ['reports:read'] });
    await admin.createRole(root, { name: 'team', permissions: ['audit:read'] });

    raceFirstReads(async () => {
      await admin.deleteRole(root, 'base');
    });
    await expect(service().updateRole(root, 'team', { inherits: ['base'] })).rejects.toMatchObject({ code: 'validation_failed', fields: { unknown: ['base'] } });
    expect((await admin.getRole('team')).inherits).toEqual([]);
  });

  it('deleting a role that another role came to inherit meanwhile is refused as role_in_use', async () => {
    const admin = service();
    await admin.createRole(root, { name: 'base', permissions: ['reports:read'] });

    raceFirstReads(async () => {
      await admin.createRole(root, { name: 'team', permissions: [], inherits: ['base'] });
    });
    await expect(service().deleteRole(root, 'base')).rejects.toMatchObject({ code: 'role_in_use', fields: { inherited_by: ['team'] } });
    expect((await admin.getRole('base')).permissions).toEqual(['reports:read']);
    expect((await admin.getRole('team')).inherits).toEqual(['base']);
    expect(audit.events.filter((e) => e.action === 'role.deleted')).toEqual([]);
  });

  it('deleting a role assigned meanwhile is refused as role_in_use', async () => {
    const admin = service();
    await admin.createRole(root, { name: 'base', permissions: ['reports:read'] });
    const member = await insertUser(storage.db);

    raceFirstReads(async () => {
      await admin.assignRole(root, { userId: member, role: 'base' });
    });
    await expect(service().deleteRole(root, 'base')).rejects.toMatchObject({ code: 'role_in_use', fields: { memberships: 1 } });
    expect(await admin.check(member, 'reports:read')).toBe(true);
  });

  it('changes to roles the write does not depend on, however many, do not make it retry', async () => {
    const admin = service();
    await admin.createRole(root, { name: 'ops', permissions: ['reports:read'] });
    await admin.createRole(root, { name: 'unrelated', permissions: ['audit:read'] });

    const racing = raceFirstReads(async (n) => {
      await admin.updateRole(root, 'unrelated', { permissions: ['audit:read', `extra${n}:read`] });
    }, 50);
    await service().updateRole(root, 'ops', { permissions: ['reports:read', 'metrics:read'] });
    race = undefined;
    expect(racing.fired()).toBeGreaterThan(0);
    expect((await admin.getRole('ops')).permissions).toEqual(['reports:read', 'metrics:read']);
  });

  it('a write whose role keeps changing under it gives up with 409 conflict after a few tries, writing nothing', async () => {
    const admin = service();
    await admin.createRole(root, { name: 'ops', permissions: ['reports:read'] });

    const racing = raceFirstReads(async (n) => {
      await admin.updateRole(root, 'ops', { permissions: ['reports:read', `extra${n}:read`] });
    }, 50);
    await expect(service().updateRole(root, 'ops', { description: 'never written' })).rejects.toMatchObject({ code: 'conflict', status: 409 });
    race = undefined;
    expect(racing.fired()).toBeGreaterThanOrEqual(3);
    const role = await admin.getRole('ops');
    expect(role.description).toBeUndefined();
    expect(role.permissions).toEqual(['reports:read', `extra${racing.fired()}:read`]);
    expect(audit.events.filter((e) => e.entity_id === 'ops' && e.details?.description_changed === true)).toEqual([]);
  });

  // PostgreSQL only: on SQLite, Kysely's one connection runs the two transactions one after the other.
  it.skipIf(dialect === 'sqlite')('two concurrent PUTs of the same membership insert it once: the second answers "already existed"', async () => {
    const admin = service();
    const user = await insertUser(storage.db);
    const instrumented = instrumentedDb(storage.db);
    const slow = service(instrumented.db);
    // A system principal's check reads no memberships, so the next role_memberships read is the
    // existence check inside the insert's transaction.
    const system: AuthzActor = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 't' }, auditActor: 'system' };
    const held = instrumented.holdNextFrom('role_memberships');
    const first = slow.assignRole(system, { userId: user, role: 'reader' });
    await held;

    const second = admin.assignRole(root, { userId: user, role: 'reader' });
    // Released once the second waits on a lock (or, were nothing serialising them, has finished).
    let settled = false;
    void second.then(
      () => (settled = true),
      () => (settled = true),
    );
    await vi.waitFor(
      async () => {
        if (settled) return;
        const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`.execute(storage.db);
        expect(waiting.rows[0]?.n).toBeGreaterThan(0);
      },
      { timeout: 5_000, interval: 20 },
    );
    instrumented.release();

    expect(await first).toBe(true);
    expect(await second).toBe(false);
    const rows = await storage.db.selectFrom('role_memberships').select('id').where('user_id', '=', user).execute();
    expect(rows.length).toBe(1);
    // One grant on record; the second is recorded as a repeat of it.
    const added = audit.events.filter((e) => e.action === 'membership.added' && e.entity_id === user);
    expect(added.map((e) => (e.details as { repeat?: boolean } | undefined)?.repeat ?? false).sort()).toEqual([false, true]);
  });
});
