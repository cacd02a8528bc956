import { afterEach, beforeEach, expect, it } from 'vitest';
import { ApiKeyService } from '../../src/apikeys/api-key-service.js';
import { ApiKeyVerifier } from '../../src/apikeys/api-key-verifier.js';
import { generateApiKey } from '../../src/apikeys/key-format.js';
import { createPepperKeyring, type PepperKeyring } from '../../src/apikeys/pepper-keyring.js';
import { UsageTracker } from '../../src/apikeys/usage-tracker.js';
import { createMemoryInvalidationBus } from '../../src/cache/invalidation-bus.js';
import { createRateLimitService } from '../../src/ratelimit/rate-limit-service.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { insertUser, instrumentedDb, manualClock, withTypo } from './fixtures.js';

const SECRET = 'identify-test-secret-0123456789abcdef0123456789abcdef';
const SYSTEM = { actor: 'system' };

describeEachDatabase('ApiKeyVerifier.identify: which key these bytes are, without using it', (dialect) => {
  let storage: Storage & { url: string };
  let clock: ReturnType<typeof manualClock>;
  let usage: UsageTracker;
  let ownerId: string;
  let counted: ReturnType<typeof instrumentedDb>;

  function build(keyring: PepperKeyring = createPepperKeyring({ secretKey: SECRET })): { service: ApiKeyService; verifier: ApiKeyVerifier } {
    const bus = createMemoryInvalidationBus();
    const verifier = new ApiKeyVerifier({ db: counted.db, keyring, usage, rateLimits: createRateLimitService({ now: clock.now }), invalidation: bus, now: clock.now });
    const service = new ApiKeyService({ db: storage.db, keyring, usage, invalidation: bus, audit: () => ({ record: async () => {} }), rotationGraceMs: 60_000, now: clock.now });
    return { service, verifier };
  }

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    clock = manualClock();
    usage = new UsageTracker({ db: storage.db, flushIntervalMs: 0 });
    ownerId = await insertUser(storage.db);
    counted = instrumentedDb(storage.db);
  });
  afterEach(async () => {
    await usage.close();
    await storage.close();
  });

  it('finds a key that verify() refuses: revoked, expired, disabled, of a deactivated owner', async () => {
    const { service, verifier } = build();
    const revoked = await service.create({ name: 'revoked', ownerId, permissions: [] }, SYSTEM);
    await service.revoke(revoked.record.id, SYSTEM);
    const expiring = await service.create({ name: 'expiring', ownerId, permissions: [], expiresAt: clock.now() + 1000 }, SYSTEM);
    const disabled = await service.create({ name: 'disabled', ownerId, permissions: [] }, SYSTEM);
    await service.setEnabled(disabled.record.id, false, SYSTEM);
    clock.advance(2000);
    const cases = [
      { issued: revoked, code: 'revoked' },
      { issued: expiring, code: 'expired' },
      { issued: disabled, code: 'disabled' },
    ];
    for (const { issued, code } of cases) {
      expect(await verifier.verify(issued.key)).toMatchObject({ valid: false, code });
      expect((await verifier.identify(issued.key))?.id).toBe(issued.record.id);
    }
    const ofInactive = await service.create({ name: 'owner-inactive', ownerId, permissions: [] }, SYSTEM);
    await storage.db.updateTable('users').set({ is_active: 0 }).where('id', '=', ownerId).execute();
    expect(await verifier.verify(ofInactive.key)).toMatchObject({ valid: false, code: 'disabled' });
    expect(await verifier.identify(ofInactive.key)).toMatchObject({ id: ofInactive.record.id, ownerId });
  });

  it('takes no rate-limit token and records no use', async () => {
    const { service, verifier } = build();
    const issued = await service.create({ name: 'limited', ownerId, permissions: [], rateLimit: { limit: 2, windowMs: 60_000 } }, SYSTEM);
    for (let i = 0; i < 5; i += 1) expect((await verifier.identify(issued.key))?.id).toBe(issued.record.id);
    expect(usage.pending(issued.record.id)).toBeUndefined();
    expect(await verifier.verify(issued.key)).toMatchObject({ valid: true, ratelimit: { remaining: 1 } });
    expect(await verifier.verify(issued.key)).toMatchObject({ valid: true, ratelimit: { remaining: 0 } });
    expect(await verifier.verify(issued.key)).toMatchObject({ valid: false, code: 'rate_limited' });
    // Spent: verify() refuses it, identify() still finds it.
    expect((await verifier.identify(issued.key))?.id).toBe(issued.record.id);
    expect(usage.pending(issued.record.id)?.count).toBe(2);
  });

  it('finds a key under an older pepper version without re-hashing it (no write)', async () => {
    const v1 = build(createPepperKeyring({ secretKey: SECRET }));
    const issued = await v1.service.create({ name: 'ci', ownerId, permissions: [] }, SYSTEM);
    const { verifier } = build(createPepperKeyring({ secretKey: SECRET, pepperSetting: `2:${Buffer.alloc(32, 7).toString('base64url')}` }));
    expect(await verifier.identify(issued.key)).toMatchObject({ id: issued.record.id, pepperVersion: 1 });
    const row = await storage.db.selectFrom('api_keys').select(['pepper_version', 'key_hash']).executeTakeFirstOrThrow();
    expect(Number(row.pepper_version)).toBe(1);
    expect(row.key_hash).toBe(issued.record.keyHash);
  });

  it('answers undefined for unknown keys, and for typos and junk without a query', async () => {
    const { service, verifier } = build();
    const issued = await service.create({ name: 'ci', ownerId, permissions: [] }, SYSTEM);
    expect(await verifier.identify(generateApiKey('live'))).toBeUndefined();
    const before = counted.queries();
    for (const junk of [withTypo(issued.key, 30), issued.key.slice(0, -1), 'short', `${issued.key}${'x'.repeat(600)}`]) {
      expect(await verifier.identify(junk)).toBeUndefined();
    }
    expect(counted.queries()).toBe(before);
  });
});
