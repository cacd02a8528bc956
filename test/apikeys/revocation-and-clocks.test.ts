import { afterEach, beforeEach, expect, it } from 'vitest';
import { ApiKeyService, type ApiKeyServiceOptions } from '../../src/apikeys/api-key-service.js';
import { keyStatus } from '../../src/apikeys/api-key-store.js';
import { ApiKeyVerifier } from '../../src/apikeys/api-key-verifier.js';
import { createPepperKeyring } from '../../src/apikeys/pepper-keyring.js';
import { UsageTracker } from '../../src/apikeys/usage-tracker.js';
import { createMemoryInvalidationBus } from '../../src/cache/invalidation-bus.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { insertUser, manualClock } from './fixtures.js';

const keyring = createPepperKeyring({ secretKey: 'k3Y9vQ2mZx7Lr4Tn8Wp1Hs6Bd0Fg5Jc2Nq7Rv3Xy9Ua4Ze8Mw1Ko6Pi5Ls0Dt2Gb' });
const SYSTEM = { actor: 'system' };
const DAY = 86_400_000;

/**
 * A revocation is stamped with the clock of the process that made it, and read by processes
 * with clocks of their own. An explicit revocation is in force from its commit, whatever either
 * clock says; only a rotation's grace period ends by the clock.
 */
describeEachDatabase('API key revocation across clocks and races', (dialect) => {
  let storage: Storage;
  let usage: UsageTracker;
  let ownerId: string;
  const bus = createMemoryInvalidationBus();
  const service = (now: () => number, extra: Partial<ApiKeyServiceOptions> = {}) =>
    new ApiKeyService({ db: storage.db, keyring, usage, invalidation: bus, audit: () => ({ record: async () => undefined }), now, ...extra });
  const verifier = (now: () => number, cacheTtlMs = 0) => new ApiKeyVerifier({ db: storage.db, keyring, usage, cacheTtlMs, now });

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    usage = new UsageTracker({ db: storage.db, flushIntervalMs: 0 });
    ownerId = await insertUser(storage.db);
  });
  afterEach(async () => {
    await usage.close();
    await storage.close();
  });

  it('a revoke that commits while a rotation runs (after it read the clock) fails the rotation with 409: no live replacement', async () => {
    const clock = manualClock();
    let duringRotation: (() => Promise<void>) | undefined;
    // The grant check runs after the rotation took `now` and before its transaction reads the key.
    const rotator = service(clock.now, {
      ownerPermissions: async () => {
        const hook = duringRotation;
        duringRotation = undefined;
        await hook?.();
        return ['*:*'];
      },
    });
    const issued = await rotator.create({ name: 'ci', ownerId, permissions: ['reports:read'] }, SYSTEM);
    duringRotation = async () => {
      clock.advance(5);
      await service(clock.now).revoke(issued.record.id, SYSTEM);
    };
    await expect(rotator.rotate(issued.record.id, SYSTEM, { graceMs: DAY })).rejects.toMatchObject({ code: 'conflict' });
    expect(await verifier(clock.now).verify(issued.key)).toMatchObject({ valid: false, code: 'revoked' });
    const rows = await storage.db.selectFrom('api_keys').select(['id', 'revoked_reason']).execute();
    expect(rows).toEqual([{ id: issued.record.id, revoked_reason: 'revoked' }]);
  });

  it('a revoke stamped by a process whose clock runs ahead is in force at once on an instance with a correct clock, and the key cannot be rotated', async () => {
    const clock = manualClock();
    const ahead = () => clock.now() + 60_000;
    const server = service(clock.now);
    const issued = await server.create({ name: 'ci', ownerId, permissions: ['reports:read'] }, SYSTEM);
    await service(ahead).revoke(issued.record.id, SYSTEM);

    expect(await verifier(clock.now).verify(issued.key)).toMatchObject({ valid: false, code: 'revoked' });
    await expect(server.rotate(issued.record.id, SYSTEM, { graceMs: 0 })).rejects.toMatchObject({ code: 'conflict' });
    await expect(server.setEnabled(issued.record.id, false, SYSTEM)).rejects.toMatchObject({ code: 'conflict' });
    const record = await server.get(issued.record.id);
    expect(record === undefined ? undefined : keyStatus(record, clock.now())).toBe('revoked');
  });

  it('a rotated key still works until its grace period ends by the clock (control)', async () => {
    const clock = manualClock();
    const server = service(clock.now);
    const issued = await server.create({ name: 'ci', ownerId, permissions: ['reports:read'] }, SYSTEM);
    await server.rotate(issued.record.id, SYSTEM, { graceMs: 60_000 });
    expect(await verifier(clock.now).verify(issued.key)).toMatchObject({ valid: true });
    clock.advance(60_000);
    expect(await verifier(clock.now).verify(issued.key)).toMatchObject({ valid: false, code: 'revoked' });
  });

  it('a cache entry from before a clock stepped back is not fresh for as long as the step', async () => {
    const clock = manualClock();
    const server = service(clock.now);
    const issued = await server.create({ name: 'ci', ownerId, permissions: ['reports:read'] }, SYSTEM);
    const cached = verifier(clock.now, 1000);
    expect(await cached.verify(issued.key)).toMatchObject({ valid: true });
    clock.advance(-3_600_000);
    // Revoked where this verifier hears nothing of it (no bus): only the cache's age can end the entry.
    await storage.db.updateTable('api_keys').set({ revoked_at: clock.now(), revoked_reason: 'revoked' }).where('id', '=', issued.record.id).execute();
    expect(await cached.verify(issued.key)).toMatchObject({ valid: false, code: 'revoked' });
  });
});
