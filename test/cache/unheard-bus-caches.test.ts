import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../src/apikeys/api-key-service.js';
import { ApiKeyVerifier } from '../../src/apikeys/api-key-verifier.js';
import { createPepperKeyring } from '../../src/apikeys/pepper-keyring.js';
import { UsageTracker } from '../../src/apikeys/usage-tracker.js';
import { AuthzService } from '../../src/authz/authz-service.js';
import { cacheMaxAge, UNHEARD_BUS_MAX_AGE_MS } from '../../src/cache/cache-max-age.js';
import { createMemoryInvalidationBus, type InvalidationBus } from '../../src/cache/invalidation-bus.js';
import { UserStatusCache } from '../../src/identity/user-status-cache.js';
import { ClientSecretHasher } from '../../src/oauth/client-secret.js';
import { OAuthClientService } from '../../src/oauth/oauth-client-service.js';
import type { Storage } from '../../src/storage/index.js';
import { manualClock } from '../apikeys/fixtures.js';
import { insertUser, memoryAudit, userPrincipal } from '../authz/fixtures.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';

const SECRET = 'unheard-bus-test-secret-0123456789abcdef0123456789abcdef';
const HOUR = 3_600_000;

/** An in-process bus whose "heard" state the test sets, as a Redis partition would. */
function switchableBus(): { bus: InvalidationBus; setListening(value: boolean): void } {
  const inner = createMemoryInvalidationBus();
  let listening = true;
  return {
    bus: { ...inner, isListening: () => listening },
    setListening(value) {
      listening = value;
    },
  };
}

describe('cacheMaxAge', () => {
  it('is the TTL while the bus is heard, and at most 1 s while it is not', () => {
    const { bus, setListening } = switchableBus();
    const maxAge = cacheMaxAge(bus, 30_000);
    expect(maxAge()).toBe(30_000);
    setListening(false);
    expect(maxAge()).toBe(UNHEARD_BUS_MAX_AGE_MS);
    expect(cacheMaxAge(bus, 200)()).toBe(200);
    setListening(true);
    expect(maxAge()).toBe(30_000);
  });

  it('is always the TTL without a bus, or with one that cannot tell (no isListening)', () => {
    expect(cacheMaxAge(undefined, 5000)()).toBe(5000);
    const { isListening: _dropped, ...silent } = createMemoryInvalidationBus();
    expect(cacheMaxAge(silent, 5000)()).toBe(5000);
  });
});

// Each cache holds an answer with an hour-long TTL, the database changes behind its back (the
// invalidation message is lost), and the bus then stops being heard: the old answer must go
// within a second instead of an hour.
describeEachDatabase('caches while the invalidation bus is not heard', (dialect) => {
  let storage: Storage;
  let clock: ReturnType<typeof manualClock>;
  let switchable: ReturnType<typeof switchableBus>;
  const closers: (() => void)[] = [];

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    clock = manualClock();
    switchable = switchableBus();
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) close();
    await storage.close();
  });

  const deactivateBehindTheCachesBack = (userId: string): Promise<unknown> =>
    storage.db.updateTable('users').set({ is_active: 0 }).where('id', '=', userId).execute();

  it('user status: a deactivation is seen within 1 s', async () => {
    const cache = new UserStatusCache(storage.db, switchable.bus, { ttlMs: HOUR, now: clock.now });
    closers.push(() => cache.close());
    const userId = await insertUser(storage.db);
    expect(await cache.get(userId)).toMatchObject({ isActive: true });
    await deactivateBehindTheCachesBack(userId);
    clock.advance(5000);
    expect(await cache.get(userId)).toMatchObject({ isActive: true }); // heard bus: the TTL holds
    switchable.setListening(false);
    expect(await cache.get(userId)).toMatchObject({ isActive: false });
    // Fresh answers are still cached while unheard, for up to a second.
    await storage.db.updateTable('users').set({ is_active: 1 }).where('id', '=', userId).execute();
    clock.advance(UNHEARD_BUS_MAX_AGE_MS - 1);
    expect(await cache.get(userId)).toMatchObject({ isActive: false });
    clock.advance(1);
    expect(await cache.get(userId)).toMatchObject({ isActive: true });
  });

  it('permissions: a removed membership is seen within 1 s, by the synchronous check too', async () => {
    const audit = memoryAudit();
    const authz = new AuthzService({ db: storage.db, invalidation: switchable.bus, audit: () => audit, cacheTtlMs: HOUR, now: clock.now });
    closers.push(() => authz.close());
    const user = await insertUser(storage.db);
    const root = { principal: userPrincipal(await insertUser(storage.db, { isAdmin: true })) };
    await authz.createRole(root, { name: 'ops', permissions: ['keys:write'] });
    await authz.assignRole(root, { userId: user, role: 'ops' });
    expect(await authz.can(userPrincipal(user), 'keys:write')).toBe(true);
    expect(authz.canCached(userPrincipal(user), 'keys:write')).toBe(true);

    await storage.db.deleteFrom('role_memberships').where('user_id', '=', user).execute();
    clock.advance(5000);
    expect(await authz.can(userPrincipal(user), 'keys:write')).toBe(true); // heard bus: the TTL holds
    switchable.setListening(false);
    expect(authz.canCached(userPrincipal(user), 'keys:write')).toBeUndefined();
    expect(await authz.can(userPrincipal(user), 'keys:write')).toBe(false);
  });

  it('API keys: a revocation is seen within 1 s even with a long cache TTL', async () => {
    const keyring = createPepperKeyring({ secretKey: SECRET });
    const usage = new UsageTracker({ db: storage.db, flushIntervalMs: 0 });
    const verifier = new ApiKeyVerifier({ db: storage.db, keyring, usage, invalidation: switchable.bus, cacheTtlMs: HOUR, now: clock.now });
    closers.push(() => verifier.close());
    const audit = memoryAudit();
    const service = new ApiKeyService({ db: storage.db, keyring, usage, audit: () => audit, invalidation: createMemoryInvalidationBus(), now: clock.now });
    const ownerId = await insertUser(storage.db);
    const issued = await service.create({ name: 'ci', ownerId, permissions: ['reports:read'] }, { actor: 'system' });
    expect(await verifier.verify(issued.key)).toMatchObject({ valid: true });
    // Revoked through a service on another bus: this verifier hears nothing.
    await service.revoke(issued.record.id, { actor: 'system' });
    clock.advance(5000);
    expect(verifier.verifyCached(issued.key)).toMatchObject({ valid: true }); // heard bus: the TTL holds
    switchable.setListening(false);
    expect(verifier.verifyCached(issued.key)).toBeUndefined();
    expect(await verifier.verify(issued.key)).toMatchObject({ valid: false, code: 'revoked' });
    await usage.close();
  });

  it('OAuth clients: an owner deactivation is seen within 1 s, and an expiry on time even while cached', async () => {
    const clients = new OAuthClientService({
      db: storage.db,
      hasher: new ClientSecretHasher(SECRET),
      audit: () => memoryAudit(),
      invalidation: switchable.bus,
      ownerPermissions: async () => ['reports:read'],
      now: clock.now,
    });
    const ownerId = await insertUser(storage.db);
    const { client } = await clients.create({ name: 'svc', ownerId, scopes: ['reports:read'], expiresAt: clock.now() + 10_000 }, { actor: 'system' });
    expect(await clients.isActive(client.client_id)).toBe(true);
    clock.advance(2000);
    expect(await clients.isActive(client.client_id)).toBe(true);
    clock.advance(8000); // the expiry passes while the answer is cached
    expect(await clients.isActive(client.client_id)).toBe(false);

    const other = (await clients.create({ name: 'svc2', ownerId, scopes: ['reports:read'] }, { actor: 'system' })).client;
    expect(await clients.isActive(other.client_id)).toBe(true);
    await deactivateBehindTheCachesBack(ownerId);
    switchable.setListening(false);
    clock.advance(UNHEARD_BUS_MAX_AGE_MS);
    expect(await clients.isActive(other.client_id)).toBe(false);
  });
});
