import { UpdateQueryNode } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ApiKeyService } from '../../src/apikeys/api-key-service.js';
import { createPepperKeyring } from '../../src/apikeys/pepper-keyring.js';
import { UsageTracker } from '../../src/apikeys/usage-tracker.js';
import { createMemoryInvalidationBus } from '../../src/cache/invalidation-bus.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { insertUser, instrumentedDb } from './fixtures.js';

const keyring = createPepperKeyring({ secretKey: 'k3Y9vQ2mZx7Lr4Tn8Wp1Hs6Bd0Fg5Jc2Nq7Rv3Xy9Ua4Ze8Mw1Ko6Pi5Ls0Dt2Gb' });

describeEachDatabase('usage flushes from several instances', (dialect) => {
  let storage: Storage;
  beforeEach(async () => {
    storage = await createTestStorage(dialect);
  });
  afterEach(async () => storage.close());

  it('two instances flushing the same keys, first used in opposite orders, both commit (no deadlock) and count everything', async () => {
    const ownerId = await insertUser(storage.db);
    const scratch = new UsageTracker({ db: storage.db, flushIntervalMs: 0 });
    const service = new ApiKeyService({ db: storage.db, keyring, usage: scratch, invalidation: createMemoryInvalidationBus(), audit: () => ({ record: async () => undefined }) });
    const [k1, k2] = [
      (await service.create({ name: 'a', ownerId, permissions: [] }, { actor: 'system' })).record.id,
      (await service.create({ name: 'b', ownerId, permissions: [] }, { actor: 'system' })).record.id,
    ] as [string, string];
    const instrumented = instrumentedDb(storage.db);
    const errors: unknown[] = [];
    const a = new UsageTracker({ db: instrumented.db, flushIntervalMs: 0, onError: (e) => errors.push(e) });
    const b = new UsageTracker({ db: storage.db, flushIntervalMs: 0, onError: (e) => errors.push(e) });
    a.record(k1, 1, '192.0.2.1');
    a.record(k2, 1, '192.0.2.1');
    b.record(k2, 1, '192.0.2.2');
    b.record(k1, 1, '192.0.2.2');
    // A holds its first row lock while B starts; then both go on.
    const held = instrumented.holdNextResult((query) => UpdateQueryNode.is(query));
    const flushA = a.flush();
    await held;
    const flushB = b.flush();
    await new Promise((resolve) => setTimeout(resolve, 200));
    instrumented.release();
    await Promise.all([flushA, flushB]);
    expect(errors).toEqual([]);
    await Promise.all([a.close(), b.close(), scratch.close()]);
    const rows = await storage.db.selectFrom('api_keys').select('usage_count').execute();
    expect(rows.map((row) => Number(row.usage_count))).toEqual([2, 2]);
  });
});
