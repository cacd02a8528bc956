import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createMemoryInvalidationBus, createRedisInvalidationBus, type InvalidationBus, type InvalidationMessage } from '../../src/cache/invalidation-bus.js';
import { createTestRedis, describeWithRedis, type TestRedis } from '../helpers/redis.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

it('the in-process bus delivers at once and is always subscribed', async () => {
  const bus = createMemoryInvalidationBus();
  const heard: InvalidationMessage[] = [];
  bus.subscribe('user', (m) => heard.push(m));
  await bus.publish({ topic: 'user', id: 'u1' });
  expect(heard).toEqual([{ topic: 'user', id: 'u1' }]);
  expect(await bus.whenSubscribed(0)).toBe(true);
  expect(bus.isListening?.()).toBe(true);
  await bus.close();
});

it('whenSubscribed answers false after the timeout when Redis cannot be reached', async () => {
  // A port that refuses connections: bind one, then close it.
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address() as { port: number };
      probe.close(() => resolve(address.port));
    });
  });
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  const bus = createRedisInvalidationBus(redis, 'nowhere', { onError: () => undefined });
  try {
    expect(await bus.whenSubscribed(300)).toBe(false);
  } finally {
    await bus.close();
    redis.disconnect();
  }
});

describeWithRedis('the Redis invalidation bus', () => {
  let testRedis: TestRedis;
  const buses: InvalidationBus[] = [];
  const connections: Redis[] = [];
  let subscriberName: string;

  beforeEach(async () => {
    testRedis = await createTestRedis();
    subscriberName = `warden-test-${randomBytes(6).toString('hex')}`;
  });
  afterEach(async () => {
    for (const bus of buses.splice(0)) await bus.close();
    for (const redis of connections.splice(0)) redis.disconnect();
    await testRedis.cleanup();
  });

  const instance = (connectionName?: string): InvalidationBus => {
    const redis = new Redis(testRedis.url, { maxRetriesPerRequest: 1 });
    connections.push(redis);
    const bus = createRedisInvalidationBus(redis, `${testRedis.prefix}invalidate`, connectionName === undefined ? {} : { connectionName });
    buses.push(bus);
    return bus;
  };

  it('delivers one instance’s message to the other, and not back to the sender', async () => {
    const a = instance();
    const b = instance();
    const heardByA: InvalidationMessage[] = [];
    const heardByB: InvalidationMessage[] = [];
    a.subscribe('apikey', (m) => heardByA.push(m));
    b.subscribe('apikey', (m) => heardByB.push(m));
    expect(await a.whenSubscribed(5000)).toBe(true);
    expect(await b.whenSubscribed(5000)).toBe(true);
    heardByA.length = 0;
    heardByB.length = 0;
    await a.publish({ topic: 'apikey', id: 'k1' });
    await vi.waitFor(() => expect(heardByB).toContainEqual({ topic: 'apikey', id: 'k1' }), { timeout: 2000, interval: 10 });
    // A heard its own message once, in process; the echo from Redis is dropped.
    expect(heardByA).toEqual([{ topic: 'apikey', id: 'k1' }]);
  });

  it('survives whatever anyone publishes on its channel (topic "error", prototype names, huge ids, non-objects), and keeps delivering', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => void rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const redis = new Redis(testRedis.url, { maxRetriesPerRequest: 1 });
      connections.push(redis);
      const bus = createRedisInvalidationBus(redis, `${testRedis.prefix}invalidate`);
      buses.push(bus);
      const heard: InvalidationMessage[] = [];
      bus.subscribe('user', (m) => heard.push(m));
      expect(await bus.whenSubscribed(5000)).toBe(true);
      heard.length = 0;
      const hostile = [
        { topic: 'error', id: 'x', from: 'attacker' },
        { topic: 'newListener', id: 'x' },
        { topic: '__proto__', id: 'x' },
        { topic: 'constructor', id: 'x' },
        { topic: 'user', id: 'x'.repeat(100_000) },
        { topic: 'u'.repeat(10_000), id: 'x' },
        { topic: 'user', id: 7 },
        ['user', 'x'],
        'user',
        null,
      ];
      for (const message of hostile) await testRedis.redis.publish(`${testRedis.prefix}invalidate`, JSON.stringify(message));
      await testRedis.redis.publish(`${testRedis.prefix}invalidate`, '{not json');
      await testRedis.redis.publish(`${testRedis.prefix}invalidate`, JSON.stringify({ topic: 'user', id: 'u1', from: 'someone' }));
      await vi.waitFor(() => expect(heard).toEqual([{ topic: 'user', id: 'u1' }]), { timeout: 2000, interval: 10 });
      await new Promise((resolve) => setImmediate(resolve));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('runs every handler of a topic even when one throws: a remote message reports it to onError, a local publish to the caller', async () => {
    const errors: Error[] = [];
    const redis = new Redis(testRedis.url, { maxRetriesPerRequest: 1 });
    connections.push(redis);
    const bus = createRedisInvalidationBus(redis, `${testRedis.prefix}invalidate`, { onError: (error) => errors.push(error) });
    buses.push(bus);
    const other = instance();
    const heard: string[] = [];
    bus.subscribe('apikey', () => {
      throw new Error('a cache that breaks');
    });
    bus.subscribe('apikey', (m) => heard.push(m.id));
    expect(await bus.whenSubscribed(5000)).toBe(true);
    errors.length = 0;
    heard.length = 0;
    await other.publish({ topic: 'apikey', id: 'from-elsewhere' });
    await vi.waitFor(() => expect(heard).toEqual(['from-elsewhere']), { timeout: 2000, interval: 10 });
    expect(errors.map((e) => e.message)).toEqual(['a cache that breaks']);
    await expect(bus.publish({ topic: 'apikey', id: 'from-here' })).rejects.toThrow('a cache that breaks');
    expect(heard).toEqual(['from-elsewhere', 'from-here']);
  });

  it('after its subscriber reconnects, an instance drops every cached entry (messages sent meanwhile are lost)', async () => {
    const a = instance(subscriberName);
    const heard: InvalidationMessage[] = [];
    a.subscribe('user', (m) => heard.push(m));
    expect(await a.whenSubscribed(5000)).toBe(true);
    heard.length = 0;

    // Cut the subscriber's connection, as a network blip or a Redis restart would.
    const clients = (await testRedis.redis.call('CLIENT', 'LIST')) as string;
    const line = clients.split('\n').find((l) => l.includes(` name=${subscriberName} `));
    const id = /(?:^|\s)id=(\d+)/.exec(line ?? '')?.[1];
    expect(id).toBeDefined();
    await testRedis.redis.call('CLIENT', 'KILL', 'ID', id as string);

    // Whatever may have been missed, every 'user' entry is forgotten once it is back.
    await vi.waitFor(() => expect(heard).toContainEqual({ topic: 'user', id: '*' }), { timeout: 5000, interval: 20 });
    expect(await a.whenSubscribed(5000)).toBe(true);
  });

  /** A subscribed bus over `redis` with a fast heartbeat, recording its errors and what it hears after subscribing. */
  const heartbeatBus = async (redis: Redis, heartbeatMs: number): Promise<{ bus: InvalidationBus; errors: Error[]; heard: InvalidationMessage[] }> => {
    connections.push(redis);
    const errors: Error[] = [];
    const bus = createRedisInvalidationBus(redis, `${testRedis.prefix}invalidate`, { heartbeatMs, onError: (error) => errors.push(error) });
    buses.push(bus);
    const heard: InvalidationMessage[] = [];
    bus.subscribe('user', (m) => heard.push(m));
    expect(await bus.whenSubscribed(5000)).toBe(true);
    expect(bus.isListening?.()).toBe(true);
    heard.length = 0; // the flush of the first subscription
    return { bus, errors, heard };
  };

  it('notices a subscription that silently stops answering, stops vouching for caches, and recovers with a flush', async () => {
    // A proxy that can stop forwarding without closing anything: a network partition, as
    // opposed to a reset, which ioredis would notice at once.
    const proxy = await startTcpProxy(testRedis.url);
    try {
      const { bus, errors, heard } = await heartbeatBus(new Redis(proxy.url, { maxRetriesPerRequest: 1 }), 200);
      proxy.blackhole();
      // One beat to send a PING, one for it to go unanswered (plus scheduling slack).
      await vi.waitFor(() => expect(bus.isListening?.()).toBe(false), { timeout: 2000, interval: 20 });
      expect(errors.map((e) => e.message).join('\n')).toMatch(/did not answer a PING/);

      // Long enough for the reconnect to dial in and lose its handshake to the partition too.
      await new Promise((resolve) => setTimeout(resolve, 600));
      await proxy.restore();
      // Nothing answers that handshake now; the heartbeat gives up on it and dials again.
      await vi.waitFor(() => expect(bus.isListening?.()).toBe(true), { timeout: 10_000, interval: 50 });
      expect(heard).toContainEqual({ topic: 'user', id: '*' });
    } finally {
      await proxy.close();
    }
  });

  it('does not call the subscription lost when the event loop was blocked while a PING was answered', async () => {
    const { bus, errors, heard } = await heartbeatBus(new Redis(testRedis.url, { maxRetriesPerRequest: 1 }), 100);
    // Right after a PING goes out, hold the event loop longer than a heartbeat: when it frees,
    // the overdue timer runs before the PONG waiting in the socket is read.
    const ping = Redis.prototype.ping;
    let blocked = 0;
    const spy = vi.spyOn(Redis.prototype, 'ping').mockImplementation(function (this: Redis, ...args: unknown[]) {
      const sent = (ping as (...a: unknown[]) => Promise<string>).apply(this, args);
      if (blocked < 3) {
        blocked += 1;
        // Later in the same turn of the loop, once I/O was polled (before the PONG is back).
        setImmediate(() => {
          const until = Date.now() + 300;
          while (Date.now() < until) {
            // busy: a long synchronous task on the event loop
          }
        });
      }
      return sent;
    } as never);
    try {
      await vi.waitFor(() => expect(blocked).toBe(3), { timeout: 5000, interval: 20 });
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      spy.mockRestore();
    }
    expect(errors).toEqual([]);
    expect(bus.isListening?.()).toBe(true);
    expect(heard).toEqual([]); // no reconnect, so no flush
  });

  it('takes an error reply to PING (a Redis user without PING rights) as a live connection, and says so once', async () => {
    const user = `warden-test-${randomBytes(6).toString('hex')}`;
    const password = randomBytes(16).toString('hex');
    await testRedis.redis.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all', '-ping');
    try {
      const url = new URL(testRedis.url);
      const { bus, errors, heard } = await heartbeatBus(new Redis({ host: url.hostname, port: Number(url.port || 6379), username: user, password, maxRetriesPerRequest: 1 }), 100);
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(bus.isListening?.()).toBe(true);
      expect(heard).toEqual([]); // never reconnected, so never flushed
      expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/PING was refused \(NOPERM\); grant PING/)]);
    } finally {
      await testRedis.redis.call('ACL', 'DELUSER', user);
    }
  });
});
