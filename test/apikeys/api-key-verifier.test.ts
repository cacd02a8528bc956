import type { Kysely } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ApiKeyService } from '../../src/apikeys/api-key-service.js';
import { ApiKeyVerifier } from '../../src/apikeys/api-key-verifier.js';
import { generateApiKey } from '../../src/apikeys/key-format.js';
import { createPepperKeyring, type PepperKeyring } from '../../src/apikeys/pepper-keyring.js';
import { UsageTracker } from '../../src/apikeys/usage-tracker.js';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import { createMemoryInvalidationBus, type InvalidationBus } from '../../src/cache/invalidation-bus.js';
import { createRateLimitService } from '../../src/ratelimit/rate-limit-service.js';
import type { DatabaseSchema, Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { insertUser, instrumentedDb, manualClock, withTypo } from './fixtures.js';

const SECRET = 'verifier-test-secret-0123456789abcdef0123456789abcdef';
const SYSTEM = { actor: 'system' };

/** Wraps a Kysely instance so that every query it starts is counted. */
function countingDb(db: Kysely<DatabaseSchema>): { db: Kysely<DatabaseSchema>; queries: () => number } {
  let count = 0;
  const proxy = new Proxy(db, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (['selectFrom', 'updateTable', 'insertInto', 'transaction'].includes(String(property)) && typeof value === 'function') {
        return (...args: unknown[]) => {
          count += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return value;
    },
  });
  return { db: proxy, queries: () => count };
}

describeEachDatabase('API key verification', (dialect) => {
  let storage: Storage & { url: string };
  let clock: ReturnType<typeof manualClock>;
  let bus: InvalidationBus;
  let usage: UsageTracker;
  let audit: AuditEventInput[];
  let counting: ReturnType<typeof countingDb>;
  let ownerId: string;

  function build(options: { keyring?: PepperKeyring; cacheTtlMs?: number; legacySalt?: string } = {}): { service: ApiKeyService; verifier: ApiKeyVerifier } {
    const keyring = options.keyring ?? createPepperKeyring({ secretKey: SECRET });
    const verifier = new ApiKeyVerifier({
      db: counting.db,
      keyring,
      usage,
      rateLimits: createRateLimitService({ now: clock.now }),
      invalidation: bus,
      cacheTtlMs: options.cacheTtlMs ?? 60_000,
      legacySalt: options.legacySalt,
      now: clock.now,
    });
    const service = new ApiKeyService({
      db: storage.db,
      keyring,
      usage,
      invalidation: bus,
      audit: () => ({ record: async (event) => void audit.push(event) }),
      rotationGraceMs: 60_000,
      now: clock.now,
    });
    return { service, verifier };
  }

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    clock = manualClock();
    bus = createMemoryInvalidationBus();
    usage = new UsageTracker({ db: storage.db, flushIntervalMs: 0 });
    audit = [];
    counting = countingDb(storage.db);
    ownerId = await insertUser(storage.db);
  });

  afterEach(async () => {
    await usage.close();
    await storage.close();
  });

  it('accepts a fresh key and reports its owner, permissions and expiry', async () => {
    const { service, verifier } = build();
    const issued = await service.create({ name: 'ci', ownerId, permissions: ['reports:read'], expiresAt: clock.now() + 3_600_000 }, SYSTEM);
    const result = await verifier.verify(issued.key, { permissions: ['reports:read'] });
    expect(result.valid).toBe(true);
    if (!result.valid) return;
    expect(result.key).toMatchObject({ id: issued.record.id, ownerId, permissions: ['reports:read'], expiresAt: clock.now() + 3_600_000 });
    expect(audit.map((e) => e.action)).toEqual(['apikey.created']);
    expect(JSON.stringify(audit)).not.toContain(issued.key);
  });

  it('stores only the keyed hash and the 8-character prefix, never the key', async () => {
    const { service } = build();
    const issued = await service.create({ name: 'ci', ownerId, permissions: [] }, SYSTEM);
    const row = await storage.db.selectFrom('api_keys').selectAll().executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(issued.key);
    expect(JSON.stringify(row)).not.toContain(issued.key.slice(9, 40));
    expect(row.prefix).toBe(issued.key.slice(9, 17));
    expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(Number(row.pepper_version)).toBe(1);
  });

  it('rejects a typo or a truncated key as malformed without a database query', async () => {
    const { service, verifier } = build();
    const issued = await service.create({ name: 'ci', ownerId, permissions: [] }, SYSTEM);
    const before = counting.queries();
    expect(await verifier.verify(withTypo(issued.key, 30))).toEqual({ valid: false, code: 'malformed' });
    expect(await verifier.verify(issued.key.slice(0, -2))).toEqual({ valid: false, code: 'malformed' });
    expect(await verifier.verify('short')).toEqual({ valid: false, code: 'malformed' });
    expect(await verifier.verify(`${issued.key}${'x'.repeat(500)}`)).toEqual({ valid: false, code: 'malformed' });
    expect(counting.queries()).toBe(before);
    // A typo of a key that is already cached is still malformed: the cache holds the exact bytes only.
    expect((await verifier.verify(issued.key)).valid).toBe(true);
    expect(await verifier.verify(withTypo(issued.key, 30))).toEqual({ valid: false, code: 'malformed' });
  });

  it('answers not_found for a well-formed unknown key, and caches that answer', async () => {
    const { verifier } = build();
    const unknown = generateApiKey('live');
    expect(await verifier.verify(unknown)).toEqual({ valid: false, code: 'not_found' });
    const before = counting.queries();
    expect(await verifier.verify(unknown)).toEqual({ valid: false, code: 'not_found' });
    expect(counting.queries()).toBe(before);
  });

  it('serves repeated verifications from the cache', async () => {
    const { service, verifier } = build();
    const issued = await service.create({ name: 'ci', ownerId, permissions: [] }, SYSTEM);
    await verifier.verify(issued.key);
    const before = counting.queries();
    for (let i = 0; i < 5; i += 1) expect((await verifier.verify(issued.key)).valid).toBe(true);
    expect(counting.queries()).toBe(before);
  });

  it('answers synchronously from the cache the same as verify(), and defers to verify() when it cannot', async () => {
    const { service, verifier } = build();
    const issued = await service.create({ name: 'ci', ownerId, permissions: ['reports:read'], expiresAt: clock.now() + 1000 }, SYSTEM);
    // Not cached yet: no answer, no query, no usage counted.
    expect(verifier.verifyCached(issued.key)).toBeUndefined();
    expect(usage.pending(issued.record.id)).toBeUndefined();
    const fromDatabase = await verifier.verify(issued.key, { permissions: ['reports:read'] });
    const before = counting.queries();
    expect(verifier.verifyCached(issued.key, { permissions: ['reports:read'], ip: '203.0.113.7' })).toEqual(fromDatabase);
    expect(usage.pending(issued.record.id)).toMatchObject({ count: 2, lastUsedIp: '203.0.113.7' });
    // The same checks as verify(), against the current clock.
    expect(verifier.verifyCached(issued.key, { permissions: ['reports:write'] })).toMatchObject({ valid: false, code: 'insufficient_permissions' });
    expect(verifier.verifyCached(withTypo(issued.key, 30))).toBeUndefined();
    expect(verifier.verifyCached(`${issued.key}${'x'.repeat(500)}`)).toEqual({ valid: false, code: 'malformed' });
    clock.advance(1000);
    expect(verifier.verifyCached(issued.key)).toMatchObject({ valid: false, code: 'expired' });
    expect(counting.queries()).toBe(before);
    // A revocation drops the cached entry: the synchronous path has no answer, verify() refuses.
    await service.revoke(issued.record.id, SYSTEM);
    expect(verifier.verifyCached(issued.key)).toBeUndefined();
    expect(await verifier.verify(issued.key)).toMatchObject({ valid: false, code: 'revoked' });
    expect(verifier.verifyCached(issued.key)).toMatchObject({ valid: false, code: 'revoked' });
    // A cached "not found" is an answer too.
    const unknown = generateApiKey('live');
    await verifier.verify(unknown);
    expect(verifier.verifyCached(unknown)).toEqual({ valid: false, code: 'not_found' });
  });

  it('leaves keys with their own rate limit, and a verifier without a cache, to verify()', async () => {
    const { service, verifier } = build();
    const limited = await service.create({ name: 'ci', ownerId, permissions: [], rateLimit: { limit: 1, windowMs: 60_000 } }, SYSTEM);
    expect((await verifier.verify(limited.key)).valid).toBe(true);
    expect(verifier.verifyCached(limited.key)).toBeUndefined();
    expect(await verifier.verify(limited.key)).toMatchObject({ valid: false, code: 'rate_limited' });
    const uncached = build({ cacheTtlMs: 0 }).verifier;
    const plain = await service.create({ name: 'plain', ownerId, permissions: [] }, SYSTEM);
    expect((await uncached.verify(plain.key)).valid).toBe(true);
    expect(uncached.verifyCached(plain.key)).toBeUndefined();
  });

  it('keeps a bounded set of per-limit limiters, and a key whose limiter was forgotten counts on where it left off', async () => {
    const { service, verifier } = build();
    const limited = await service.create({ name: 'ci', ownerId, permissions: [], rateLimit: { limit: 1, windowMs: 60_000 } }, SYSTEM);
    expect((await verifier.verify(limited.key)).valid).toBe(true);
    // Key creators choose (limit, window): 1,100 distinct ones, more than the verifier keeps.
    const many = await Promise.all(
      Array.from({ length: 1100 }, (_, i) => service.create({ name: `k${i}`, ownerId, permissions: [], rateLimit: { limit: 10 + i, windowMs: 60_000 } }, SYSTEM)),
    );
    for (const issued of many) expect((await verifier.verify(issued.key)).valid).toBe(true);
    // White-box: the map of limiters is what must stay bounded.
    expect((verifier as unknown as { limiters: { size: number } }).limiters.size).toBeLessThanOrEqual(1024);
    expect(await verifier.verify(limited.key)).toMatchObject({ valid: false, code: 'rate_limited' });
  });

  it('refuses a revoked key at once even when it was cached', async () => {
    const { service, verifier } = build();
    const issued = await service.create({ name: 'ci', ownerId, permissions: [] }, SYSTEM);
    expect((await verifier.verify(issued.key)).valid).toBe(true);
    await service.revoke(issued.record.id, SYSTEM);
    expect(await verifier.verify(issued.key)).toMatchObject({ valid: false, code: 'revoked' });
    expect(audit.map((e) => e.action)).toContain('apikey.revoked');
  });

  it('refuses an expired key as expired, also from the cache', async () => {
    const { service, verifier } = build();
    const issued = await service.create({ name: 'ci', ownerId, permissions: [], expiresAt: clock.now() + 1000 }, SYSTEM);
    expect((await verifier.verify(issued.key)).valid).toBe(true);
    clock.advance(1000);
    expect(await verifier.verify(issued.key)).toMatchObject({ valid: false, code: 'expired' });
  });

  it('keeps a rotated key working for the grace period, then refuses it as revoked', async () => {
    const { service, verifier } = build();
    const old = await service.create({ name: 'ci', ownerId, permissions: ['a:b'], rateLimit: { limit: 5, windowMs: 1000 }, metadata: { team: 'x' } }, SYSTEM);
    const rotated = await service.rotate(old.record.id, SYSTEM, { graceMs: 30_000 });
    expect(rotated.key).not.toBe(old.key);
    expect(rotated.record).toMatchObject({ name: 'ci', permissions: ['a:b'], rateLimit: { limit: 5, windowMs: 1000 }, metadata: { team: 'x' }, rotatedFrom: old.record.id });
    expect((await verifier.verify(old.key)).valid).toBe(true);
    expect((await verifier.verify(rotated.key)).valid).toBe(true);
    clock.advance(30_000);
    expect(await verifier.verify(old.key)).toMatchObject({ valid: false, code: 'revoked' });
    expect((await verifier.verify(rotated.key)).valid).toBe(true);
  });

  it('revoking a key also ends the grace period of the keys it replaced (a leaked key is often rotated first)', async () => {
    const { service, verifier } = build();
    const first = await service.create({ name: 'ci', ownerId, permissions: [] }, SYSTEM);
    const second = await service.rotate(first.record.id, SYSTEM, { graceMs: 30_000 });
    const third = await service.rotate(second.record.id, SYSTEM, { graceMs: 30_000 });
    expect((await verifier.verify(first.key)).valid).toBe(true);
    await service.revoke(third.record.id, SYSTEM);
    for (const key of [first.key, second.key, third.key]) expect(await verifier.verify(key)).toMatchObject({ valid: false, code: 'revoked' });
    expect(audit.filter((e) => e.action === 'apikey.revoked').map((e) => e.entity_id)).toEqual([third.record.id, second.record.id, first.record.id]);
  });

  it('stops a key rotated with a grace period of 0 at once', async () => {
    const { service, verifier } = build();
    const old = await service.create({ name: 'ci', ownerId, permissions: [] }, SYSTEM);
    expect((await verifier.verify(old.key)).valid).toBe(true);
    await service.rotate(old.record.id, SYSTEM, { graceMs: 0 });
    expect(await verifier.verify(old.key)).toMatchObject({ valid: false, code: 'revoked' });
  });

  it('refuses keys of a deactivated owner as disabled', async () => {
    const { service, verifier } = build();
    const issued = await service.create({ name: 'ci', ownerId, permissions: [] }, SYSTEM);
    // Cached first, so only the 'user' invalidation can make the verifier see the change.
    expect((await verifier.verify(issued.key)).valid).toBe(true);
    await storage.db.updateTable('users').set({ is_active: 0 }).where('id', '=', ownerId).execute();
    await bus.publish({ topic: 'user', id: ownerId });
    expect(await verifier.verify(issued.key)).toMatchObject({ valid: false, code: 'disabled' });
  });

  it('checks required permissions, wildcards included', async () => {
    const { service, verifier } = build();
    const issued = await service.create({ name: 'ci', ownerId, permissions: ['reports:*'] }, SYSTEM);
    expect((await verifier.verify(issued.key, { permissions: ['reports:write'] })).valid).toBe(true);
    expect(await verifier.verify(issued.key, { permissions: ['reports:read', 'users:read'] })).toMatchObject({
      valid: false,
      code: 'insufficient_permissions',
    });
  });

  it('applies the per-key rate limit and reports its state', async () => {
    const { service, verifier } = build();
    const issued = await service.create({ name: 'ci', ownerId, permissions: [], rateLimit: { limit: 2, windowMs: 60_000 } }, SYSTEM);
    const first = await verifier.verify(issued.key);
    expect(first).toMatchObject({ valid: true, ratelimit: { limit: 2, remaining: 1 } });
    await verifier.verify(issued.key);
    const third = await verifier.verify(issued.key);
    expect(third).toMatchObject({ valid: false, code: 'rate_limited', ratelimit: { limit: 2, remaining: 0 } });
  });

  it('refuses to issue more than the creator holds', async () => {
    const { service } = build();
    await expect(
      service.create({ name: 'ci', ownerId, permissions: ['users:write'] }, { actor: ownerId, grantablePermissions: ['keys:*', 'users:read'] }),
    ).rejects.toMatchObject({ code: 'privilege_escalation' });
    await expect(service.create({ name: 'ci', ownerId, permissions: ['keys:read'] }, { actor: ownerId, grantablePermissions: ['keys:*'] })).resolves.toBeDefined();
  });

  it('refuses to rotate a key into the hands of a caller who could not have issued it, and changes nothing', async () => {
    const { service, verifier } = build();
    const issued = await service.create({ name: 'ci', ownerId, permissions: ['users:write'] }, SYSTEM);
    await expect(service.rotate(issued.record.id, { actor: ownerId, grantablePermissions: ['keys:*'] })).rejects.toMatchObject({ code: 'privilege_escalation' });
    expect((await service.get(issued.record.id))?.replacedBy).toBeUndefined();
    expect(await verifier.verify(issued.key)).toMatchObject({ valid: true });
    expect(audit.map((e) => [e.action, e.outcome])).toEqual([
      ['apikey.created', 'success'],
      ['apikey.rotated', 'denied'],
    ]);
    expect(audit[1]?.details).toMatchObject({ reason: 'privilege_escalation', permissions: ['users:write'] });
  });

  it("starts a disabled key's replacement disabled: rotating never re-enables a key", async () => {
    const { service, verifier } = build();
    const issued = await service.create({ name: 'ci', ownerId, permissions: ['reports:read'] }, SYSTEM);
    await service.setEnabled(issued.record.id, false, SYSTEM);
    const replacement = await service.rotate(issued.record.id, SYSTEM);
    expect(replacement.record.enabled).toBe(false);
    expect(await verifier.verify(replacement.key)).toMatchObject({ valid: false, code: 'disabled' });
  });

  it('keeps and audits a change it cannot announce to other instances (they drop the key within the cache TTL)', async () => {
    const failures: unknown[] = [];
    const unreachable: InvalidationBus = { ...bus, publish: async () => Promise.reject(new Error('redis down')) };
    const service = new ApiKeyService({
      db: storage.db,
      keyring: createPepperKeyring({ secretKey: SECRET }),
      usage,
      invalidation: unreachable,
      audit: () => ({ record: async (event) => void audit.push(event) }),
      onAnnounceError: (error) => failures.push(error),
      now: clock.now,
    });
    const first = await service.create({ name: 'a', ownerId, permissions: ['reports:read'] }, SYSTEM);
    const second = await service.create({ name: 'b', ownerId, permissions: ['reports:read'] }, SYSTEM);
    await expect(service.revoke(first.record.id, SYSTEM)).resolves.toMatchObject({ revokedAt: clock.now() });
    const rotated = await service.rotate(second.record.id, SYSTEM);
    expect(rotated.key).toMatch(/^wdn_live_/);
    expect(audit.map((e) => e.action)).toEqual(['apikey.created', 'apikey.created', 'apikey.revoked', 'apikey.rotated']);
    expect(failures).toHaveLength(2);
  });

  // PostgreSQL only: the staging holds a query's result while its connection is still held,
  // and SQLite's single connection would then block the revoke itself.
  it.runIf(dialect === 'postgres')('does not answer a check that starts after a revoke from a lookup that read the key before it', async () => {
    const staged = instrumentedDb(storage.db);
    const { service } = build();
    const verifier = new ApiKeyVerifier({ db: staged.db, keyring: createPepperKeyring({ secretKey: SECRET }), usage, invalidation: bus, cacheTtlMs: 60_000, now: clock.now });
    const issued = await service.create({ name: 'ci', ownerId, permissions: ['reports:read'] }, SYSTEM);
    const held = staged.holdNextResult();
    const before = verifier.verify(issued.key);
    await held; // the lookup has read the key as active; its caller has not seen the row yet
    await service.revoke(issued.record.id, SYSTEM);
    const after = verifier.verify(issued.key);
    staged.release();
    expect(await before).toMatchObject({ valid: true }); // it started before the revoke
    expect(await after).toMatchObject({ valid: false, code: 'revoked' });
    verifier.close();
  });

  it('counts usage without writing per verification, and flushes it in one batch', async () => {
    const { service, verifier } = build();
    const issued = await service.create({ name: 'ci', ownerId, permissions: [] }, SYSTEM);
    for (let i = 0; i < 3; i += 1) await verifier.verify(issued.key, { ip: '203.0.113.9' });
    const stored = await storage.db.selectFrom('api_keys').select('usage_count').executeTakeFirstOrThrow();
    expect(Number(stored.usage_count)).toBe(0);
    expect((await service.get(issued.record.id))?.usageCount).toBe(3);
    await usage.flush();
    const row = await storage.db.selectFrom('api_keys').selectAll().executeTakeFirstOrThrow();
    expect(Number(row.usage_count)).toBe(3);
    expect(Number(row.last_used_at)).toBe(clock.now());
    expect(row.last_used_ip).toBe('203.0.113.9');
  });

  it('verifies keys hashed under an older pepper and re-hashes them with the active one', async () => {
    const v1 = build({ keyring: createPepperKeyring({ secretKey: SECRET }) });
    const issued = await v1.service.create({ name: 'ci', ownerId, permissions: [] }, SYSTEM);
    const rotatedPepper = createPepperKeyring({ secretKey: SECRET, pepperSetting: `2:${Buffer.alloc(32, 9).toString('base64url')}` });
    const { verifier } = build({ keyring: rotatedPepper });
    expect((await verifier.verify(issued.key)).valid).toBe(true);
    const row = await storage.db.selectFrom('api_keys').selectAll().executeTakeFirstOrThrow();
    expect(Number(row.pepper_version)).toBe(2);
    expect(row.key_hash).toBe(rotatedPepper.hash(issued.key, 2));
  });

  it('rolls a new pepper out in two steps: instances that know it but keep v1 active verify keys another instance already re-hashed', async () => {
    const pepper2 = `2:${Buffer.alloc(32, 9).toString('base64url')}`;
    const staged = build({ keyring: createPepperKeyring({ secretKey: SECRET, pepperSetting: `1,${pepper2}` }) });
    const issued = await staged.service.create({ name: 'ci', ownerId, permissions: [] }, SYSTEM);
    // Step one: known, not active. Nothing is re-hashed yet.
    expect((await staged.verifier.verify(issued.key)).valid).toBe(true);
    expect(Number((await storage.db.selectFrom('api_keys').select('pepper_version').executeTakeFirstOrThrow()).pepper_version)).toBe(1);
    // Step two, on one instance first: it re-hashes; the others still verify.
    const moved = build({ keyring: createPepperKeyring({ secretKey: SECRET, pepperSetting: pepper2 }), cacheTtlMs: 0 });
    expect((await moved.verifier.verify(issued.key)).valid).toBe(true);
    expect(Number((await storage.db.selectFrom('api_keys').select('pepper_version').executeTakeFirstOrThrow()).pepper_version)).toBe(2);
    expect((await build({ keyring: createPepperKeyring({ secretKey: SECRET, pepperSetting: `1,${pepper2}` }), cacheTtlMs: 0 }).verifier.verify(issued.key)).valid).toBe(true);
  });
});
