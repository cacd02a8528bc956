import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import { ApiKeyService } from '../../src/apikeys/api-key-service.js';
import { ApiKeyVerifier } from '../../src/apikeys/api-key-verifier.js';
import { createPepperKeyring } from '../../src/apikeys/pepper-keyring.js';
import { UsageTracker } from '../../src/apikeys/usage-tracker.js';
import { createMemoryInvalidationBus } from '../../src/cache/invalidation-bus.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { insertTestUser } from '../helpers/users.js';

const SECRET = 'rotation-chain-secret-0123456789abcdef0123456789abcdef';
const HOUR = 3_600_000;

/**
 * A rotation that stops a key stops the keys it replaced too, as a revocation does: the older
 * copy, rotated away first, is the likelier to have leaked and must not outlive its successor.
 */
describeEachDatabase('rotation chain grace periods', (dialect) => {
  let storage: Storage & { url: string };
  let usage: UsageTracker;
  let at: number;

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    usage = new UsageTracker({ db: storage.db, flushIntervalMs: 0 });
    at = Date.UTC(2026, 0, 1);
  });
  afterEach(async () => {
    await usage.close();
    await storage.close();
  });

  it('a predecessor never keeps working after its replacement has stopped, cached or not', async () => {
    const now = (): number => at;
    const keyring = createPepperKeyring({ secretKey: SECRET });
    const bus = createMemoryInvalidationBus();
    const events: AuditEventInput[] = [];
    const verifier = new ApiKeyVerifier({
      db: storage.db,
      keyring,
      usage,
      invalidation: bus,
      cacheTtlMs: 60_000,
      now,
    });
    const service = new ApiKeyService({
      db: storage.db,
      keyring,
      usage,
      invalidation: bus,
      audit: () => ({ record: async (e: AuditEventInput) => void events.push(e) }),
      now,
    });
    const owner = await insertTestUser(storage.db);
    const system = { actor: 'system' };

    const a = await service.create({ name: 'ci', ownerId: owner, permissions: [] }, system);
    const b = await service.rotate(a.record.id, system, { graceMs: 24 * HOUR });
    at += 1000;
    expect((await verifier.verify(a.key)).valid).toBe(true);
    // B is found leaked and replaced again, stopping at once.
    const c = await service.rotate(b.record.id, system, { graceMs: 0 });
    at += 1000;

    expect(await verifier.verify(b.key)).toMatchObject({ valid: false, code: 'revoked' });
    expect((await verifier.verify(c.key)).valid).toBe(true);
    expect(await verifier.verify(a.key)).toMatchObject({ valid: false, code: 'revoked' });
    expect(events.at(-1)).toMatchObject({
      action: 'apikey.rotated',
      details: { rotated_from: b.record.id, earlier_keys_stopped: [a.record.id] },
    });

    // A later grace never extends an earlier key's stop.
    const d = await service.rotate(c.record.id, system, { graceMs: 48 * HOUR });
    expect(events.at(-1)?.details).not.toHaveProperty('earlier_keys_stopped');
    expect((await verifier.verify(d.key)).valid).toBe(true);
    expect(await verifier.verify(a.key)).toMatchObject({ valid: false, code: 'revoked' });
    expect(await verifier.verify(b.key)).toMatchObject({ valid: false, code: 'revoked' });
  });
});
