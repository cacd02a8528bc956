import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authzCacheTtlMs } from '../../src/authz/authz-domain.js';
import { AuthzService, type AuthzActor } from '../../src/authz/authz-service.js';
import { roleStore } from '../../src/authz/role-store.js';
import { createMemoryInvalidationBus, type InvalidationBus } from '../../src/cache/invalidation-bus.js';
import { openDatabase, type Storage } from '../../src/storage/index.js';
import { createTestApp } from '../helpers/app.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { instrumentedDb, insertUser, memoryAudit, userPrincipal } from './fixtures.js';

const HOUR = 3_600_000;

describeEachDatabase('effective-permission loading', (dialect) => {
  let storage: Storage & { url: string };
  let bus: InvalidationBus;
  let instrumented: ReturnType<typeof instrumentedDb>;
  let root: AuthzActor;
  const services: AuthzService[] = [];
  const connections: Storage[] = [];

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    bus = createMemoryInvalidationBus();
    instrumented = instrumentedDb(storage.db);
    root = { principal: userPrincipal(await insertUser(storage.db, { isAdmin: true })) };
  });
  afterEach(async () => {
    for (const service of services.splice(0)) service.close();
    for (const connection of connections.splice(0)) await connection.close();
    await storage.close();
  });

  function service(options: { db?: Storage['db']; bus?: InvalidationBus; cacheTtlMs?: number; now?: () => number } = {}): AuthzService {
    const created = new AuthzService({
      db: options.db ?? instrumented.db,
      invalidation: options.bus ?? bus,
      audit: () => memoryAudit(),
      cacheTtlMs: options.cacheTtlMs ?? HOUR,
      now: options.now,
    });
    services.push(created);
    return created;
  }

  /** A service on its own connection: it can write while a held read keeps the first one busy (SQLite has one). */
  function writer(): AuthzService {
    const connection = openDatabase(storage.url, { poolSize: 1, statementTimeoutMs: 10_000 });
    connections.push(connection);
    return service({ db: connection.db });
  }

  it('concurrent misses for one user run one role-table read and one grants load', async () => {
    const authz = service();
    const user = await insertUser(storage.db);
    await roleStore.addMembership(storage.db, { userId: user, role: 'member', scope: undefined, createdBy: 'test' }, Date.now());
    const answers = await Promise.all(Array.from({ length: 10 }, () => authz.can(userPrincipal(user), 'keys:write')));
    expect(answers).toEqual(Array.from({ length: 10 }, () => true));
    expect(instrumented.selects('roles')).toBe(1);
    expect(instrumented.selects('role_memberships')).toBe(1);
    expect(instrumented.selects('users')).toBe(1);
  });

  it('concurrent misses for different users and scopes share one role-table read', async () => {
    const authz = service();
    const users = await Promise.all(Array.from({ length: 5 }, () => insertUser(storage.db)));
    await Promise.all(users.flatMap((user) => ['org-a', 'org-b'].map((scope) => authz.can(userPrincipal(user), 'keys:read', scope))));
    expect(instrumented.selects('roles')).toBe(1);
    expect(instrumented.selects('role_memberships')).toBe(10);
  });

  it('a role change during a role-table read is not cached, and later callers do not join that read', async () => {
    const authz = service();
    const changer = writer();
    const user = await insertUser(storage.db);
    await changer.createRole(root, { name: 'editor', permissions: ['docs:write'] });
    await changer.assignRole(root, { userId: user, role: 'editor' });

    const held = instrumented.holdNextFrom('roles');
    const racing = authz.can(userPrincipal(user), 'docs:write');
    await held; // the role table has been read with docs:write; the caller has not seen it yet
    await changer.updateRole(root, 'editor', { permissions: ['docs:read'] });
    const after = authz.can(userPrincipal(user), 'docs:write');
    instrumented.release();
    await racing; // it raced the change: either answer is allowed for this one call

    expect(await after).toBe(false);
    expect(await authz.can(userPrincipal(user), 'docs:write')).toBe(false);
    expect(await authz.can(userPrincipal(user), 'docs:read')).toBe(true);
  });

  it('a membership revoked during a grants load is not cached', async () => {
    const authz = service();
    const changer = writer();
    const user = await insertUser(storage.db);
    await changer.assignRole(root, { userId: user, role: 'member' });
    await authz.roles(); // warm the role table so the next read is the memberships'

    const held = instrumented.holdNextFrom('role_memberships');
    const racing = authz.can(userPrincipal(user), 'keys:write');
    await held;
    await changer.removeRole(root, { userId: user, role: 'member' });
    const after = authz.can(userPrincipal(user), 'keys:write');
    instrumented.release();
    await racing;

    expect(await after).toBe(false);
    expect(await authz.can(userPrincipal(user), 'keys:write')).toBe(false);
  });

  it('serves cached permissions for the TTL without invalidation, then reloads', async () => {
    let now = Date.UTC(2026, 0, 1);
    const authz = service({ cacheTtlMs: 30_000, now: () => now });
    // Another process without a shared bus: this service hears nothing of its changes.
    const elsewhere = service({ db: storage.db, bus: createMemoryInvalidationBus() });
    const user = await insertUser(storage.db);
    await elsewhere.createRole(root, { name: 'ops', permissions: ['ops:run'] });
    await elsewhere.assignRole(root, { userId: user, role: 'ops' });
    expect(await authz.can(userPrincipal(user), 'ops:run')).toBe(true);

    await elsewhere.removeRole(root, { userId: user, role: 'ops' });
    now += 29_999;
    expect(await authz.can(userPrincipal(user), 'ops:run')).toBe(true);
    now += 1;
    expect(await authz.can(userPrincipal(user), 'ops:run')).toBe(false);

    // The role table has the same bound.
    await elsewhere.createRole(root, { name: 'late', permissions: [] });
    expect((await authz.roles()).has('late')).toBe(false);
    now += 30_000;
    expect((await authz.roles()).has('late')).toBe(true);
  });

  it('a role change lost to the bus is seen within one TTL by a user first loaded from an aging role table', async () => {
    let now = Date.UTC(2026, 0, 1);
    const authz = service({ cacheTtlMs: 30_000, now: () => now });
    const elsewhere = service({ db: storage.db, bus: createMemoryInvalidationBus() });
    await elsewhere.createRole(root, { name: 'ops', permissions: ['ops:run'] });
    const [early, late] = [await insertUser(storage.db), await insertUser(storage.db)];
    await elsewhere.assignRole(root, { userId: late, role: 'ops' });
    expect(await authz.can(userPrincipal(early), 'ops:run')).toBe(false); // reads the role table at t0

    now += 29_000;
    await elsewhere.updateRole(root, 'ops', { permissions: ['ops:read'] }); // never heard here
    expect(await authz.can(userPrincipal(late), 'ops:run')).toBe(true); // built from the t0 table
    now += 1_000; // t0 + TTL: the role table and everything computed from it have expired
    expect(await authz.can(userPrincipal(late), 'ops:run')).toBe(false);
    expect(await authz.can(userPrincipal(late), 'ops:read')).toBe(true);
  });
});

describe('createAuthz and WARDEN_AUTHZ_CACHE_TTL_MS', () => {
  /** Grants the reader role behind the service's back (as another process without Redis would). */
  async function grantOutOfBand(db: Storage['db'], userId: string): Promise<void> {
    await roleStore.addMembership(db, { userId, role: 'reader', scope: undefined, createdBy: 'test' }, Date.now());
  }

  it('defaults to 30 s with Redis (invalidations reach every process) and 1 s without', () => {
    expect(authzCacheTtlMs(undefined, true)).toBe(30_000);
    expect(authzCacheTtlMs(undefined, false)).toBe(1_000);
    expect(authzCacheTtlMs(5_000, false)).toBe(5_000);
    expect(authzCacheTtlMs(0, true)).toBe(0);
  });

  it('caches by default: an out-of-band change is not seen at once', async () => {
    const t = await createTestApp();
    try {
      expect(t.settings.authzCacheTtlMs).toBeUndefined();
      const user = await insertUser(t.context.storage.db);
      const authz = t.context.authz as AuthzService;
      expect(await authz.can(userPrincipal(user), 'keys:read')).toBe(false);
      await grantOutOfBand(t.context.storage.db, user);
      expect(await authz.can(userPrincipal(user), 'keys:read')).toBe(false);
    } finally {
      await t.close();
    }
  });

  it('without Redis, sees an out-of-band change within the 1 s default', async () => {
    const t = await createTestApp();
    try {
      expect(t.context.redis).toBeUndefined();
      const user = await insertUser(t.context.storage.db);
      const authz = t.context.authz as AuthzService;
      expect(await authz.can(userPrincipal(user), 'keys:read')).toBe(false);
      await grantOutOfBand(t.context.storage.db, user);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(await authz.can(userPrincipal(user), 'keys:read')).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('takes the TTL from the setting: 0 turns the cache off', async () => {
    const t = await createTestApp({ env: { WARDEN_AUTHZ_CACHE_TTL_MS: '0' } });
    try {
      const user = await insertUser(t.context.storage.db);
      const authz = t.context.authz as AuthzService;
      expect(await authz.can(userPrincipal(user), 'keys:read')).toBe(false);
      await grantOutOfBand(t.context.storage.db, user);
      expect(await authz.can(userPrincipal(user), 'keys:read')).toBe(true);
    } finally {
      await t.close();
    }
  });
});
