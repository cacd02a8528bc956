import { afterEach, beforeEach, expect, it } from 'vitest';
import { ApiKeyService } from '../../src/apikeys/api-key-service.js';
import { ApiKeyVerifier } from '../../src/apikeys/api-key-verifier.js';
import { createPepperKeyring } from '../../src/apikeys/pepper-keyring.js';
import { UsageTracker } from '../../src/apikeys/usage-tracker.js';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import { createMemoryInvalidationBus } from '../../src/cache/invalidation-bus.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { insertUser, manualClock } from './fixtures.js';

// An expired key has ended, as a revoked one has: rotating it is 409 conflict. Its replacement
// would keep the expiry and be born expired — a "new key" that never works — while the old key
// was marked rotated and apikey.rotated audited as a success.
describeEachDatabase('rotating an expired key', (dialect) => {
  let storage: Storage & { url: string };
  let usage: UsageTracker;
  let clock: ReturnType<typeof manualClock>;
  let audit: AuditEventInput[];
  let service: ApiKeyService;
  let ownerId: string;
  const keyring = createPepperKeyring({ secretKey: 'rotate-expired-secret-0123456789abcdef0123456789' });

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    usage = new UsageTracker({ db: storage.db, flushIntervalMs: 0 });
    clock = manualClock();
    audit = [];
    service = new ApiKeyService({
      db: storage.db,
      keyring,
      usage,
      invalidation: createMemoryInvalidationBus(),
      audit: () => ({ record: async (event) => void audit.push(event) }),
      now: clock.now,
    });
    ownerId = await insertUser(storage.db);
  });
  afterEach(async () => {
    await usage.close();
    await storage.close();
  });

  it('is refused with 409 conflict; the old key is not marked rotated and no replacement exists', async () => {
    const issued = await service.create(
      { name: 'ci', ownerId, permissions: [], expiresAt: clock.now() + 60_000 },
      { actor: 'system' },
    );
    clock.advance(120_000);
    const verifier = new ApiKeyVerifier({ db: storage.db, keyring, usage, cacheTtlMs: 0, now: clock.now });
    expect(await verifier.verify(issued.key)).toMatchObject({ valid: false, code: 'expired' });

    const rotation = service.rotate(issued.record.id, { actor: 'system' }, { graceMs: 0 });
    await expect(rotation).rejects.toMatchObject({ code: 'conflict', status: 409 });

    expect(await service.get(issued.record.id)).toMatchObject({
      replacedBy: undefined,
      revokedAt: undefined,
    });
    expect(
      await storage.db
        .selectFrom('api_keys')
        .select('id')
        .where('rotated_from', '=', issued.record.id)
        .execute(),
    ).toEqual([]);
    expect(audit.filter((e) => e.action === 'apikey.rotated')).toEqual([]);
  });
});
