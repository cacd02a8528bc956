import { Redis } from 'ioredis';
import { expect, it, vi } from 'vitest';
import { AuthzService } from '../../src/authz/authz-service.js';
import { createRedisInvalidationBus, type InvalidationBus } from '../../src/cache/invalidation-bus.js';
import { createTestStorage, DIALECTS } from '../helpers/databases.js';
import { createTestRedis, describeWithRedis } from '../helpers/redis.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { insertUser, memoryAudit, userPrincipal } from './fixtures.js';

describeWithRedis('effective-permission cache across two instances', () => {
  for (const dialect of DIALECTS) {
    it(`a revocation on instance A stops the permission on instance B within 1 s [${dialect}]`, async () => {
      const storage = await createTestStorage(dialect);
      const testRedis = await createTestRedis();
      const connections: Redis[] = [];
      const buses: InvalidationBus[] = [];
      const instance = async (): Promise<AuthzService> => {
        const redis = new Redis(testRedis.url, { maxRetriesPerRequest: 1 });
        connections.push(redis);
        const bus = createRedisInvalidationBus(redis, `${testRedis.prefix}invalidate`);
        buses.push(bus);
        // An hour-long TTL: only the invalidation message can make B forget.
        return new AuthzService({ db: storage.db, invalidation: bus, audit: () => memoryAudit(), cacheTtlMs: 3_600_000 });
      };
      const a = await instance();
      const b = await instance();
      try {
        const root = { principal: userPrincipal(await insertUser(storage.db, { isAdmin: true })) };
        const user = await insertUser(storage.db);
        await a.createRole(root, { name: 'ops', permissions: ['keys:write'] });
        await a.assignRole(root, { userId: user, role: 'ops' });
        // B may still be subscribing; wait until it sees the grant, which also warms its cache.
        await vi.waitFor(async () => expect(await b.can(userPrincipal(user), 'keys:write')).toBe(true), { timeout: 2000, interval: 20 });
        expect(await b.can(userPrincipal(user), 'keys:write')).toBe(true);

        await a.removeRole(root, { userId: user, role: 'ops' });
        await vi.waitFor(async () => expect(await b.can(userPrincipal(user), 'keys:write')).toBe(false), { timeout: 1000, interval: 10 });

        // A role edit (not a membership change) is invalidated too.
        await a.assignRole(root, { userId: user, role: 'ops' });
        await vi.waitFor(async () => expect(await b.can(userPrincipal(user), 'keys:write')).toBe(true), { timeout: 1000, interval: 10 });
        await a.updateRole(root, 'ops', { permissions: ['keys:read'] });
        await vi.waitFor(async () => expect(await b.can(userPrincipal(user), 'keys:write')).toBe(false), { timeout: 1000, interval: 10 });
      } finally {
        a.close();
        b.close();
        for (const bus of buses) await bus.close();
        for (const redis of connections) redis.disconnect();
        await testRedis.cleanup();
        await storage.close();
      }
    });
  }

  it('while B cannot hear the bus (a partition that closes nothing), a revocation on A still stops the permission on B within seconds', async () => {
    const storage = await createTestStorage('postgres');
    const testRedis = await createTestRedis();
    const proxy = await startTcpProxy(testRedis.url);
    const connections: Redis[] = [];
    const buses: InvalidationBus[] = [];
    const instance = (url: string): AuthzService => {
      const redis = new Redis(url, { maxRetriesPerRequest: 1 });
      connections.push(redis);
      const bus = createRedisInvalidationBus(redis, `${testRedis.prefix}invalidate`, { heartbeatMs: 250, onError: () => undefined });
      buses.push(bus);
      return new AuthzService({ db: storage.db, invalidation: bus, audit: () => memoryAudit(), cacheTtlMs: 3_600_000 });
    };
    const a = instance(testRedis.url);
    const b = instance(proxy.url);
    try {
      const root = { principal: userPrincipal(await insertUser(storage.db, { isAdmin: true })) };
      const user = await insertUser(storage.db);
      await a.createRole(root, { name: 'ops', permissions: ['keys:write'] });
      await a.assignRole(root, { userId: user, role: 'ops' });
      await vi.waitFor(async () => expect(await b.can(userPrincipal(user), 'keys:write')).toBe(true), { timeout: 2000, interval: 20 });
      // Pub/sub keeps order: once B hears a marker sent after the grant, nothing older is still on its way.
      const [busA, busB] = buses as [InvalidationBus, InvalidationBus];
      let markerHeard = false;
      busB.subscribe('test-marker', () => (markerHeard = true));
      await busA.publish({ topic: 'test-marker', id: 'm' });
      await vi.waitFor(() => expect(markerHeard).toBe(true), { timeout: 2000, interval: 10 });
      expect(await b.can(userPrincipal(user), 'keys:write')).toBe(true);

      proxy.blackhole();
      await a.removeRole(root, { userId: user, role: 'ops' });
      // The message is lost; B notices its silent subscriber and stops trusting answers over 1 s old.
      await vi.waitFor(async () => expect(await b.can(userPrincipal(user), 'keys:write')).toBe(false), { timeout: 4000, interval: 50 });
    } finally {
      a.close();
      b.close();
      for (const bus of buses) await bus.close();
      for (const redis of connections) redis.disconnect();
      await proxy.close();
      await testRedis.cleanup();
      await storage.close();
    }
  });
});
