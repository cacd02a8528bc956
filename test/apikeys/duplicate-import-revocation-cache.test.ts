import { createHash } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ApiKeyService } from '../../src/apikeys/api-key-service.js';
import { ApiKeyVerifier } from '../../src/apikeys/api-key-verifier.js';
import { importKeys } from '../../src/apikeys/key-import.js';
import { createPepperKeyring } from '../../src/apikeys/pepper-keyring.js';
import { UsageTracker } from '../../src/apikeys/usage-tracker.js';
import { createMemoryInvalidationBus, type InvalidationBus } from '../../src/cache/invalidation-bus.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { insertTestUser } from '../helpers/users.js';

const SECRET = 'duplicate-import-secret-0123456789abcdef012345';
const SALT = 'ttskit-static-salt';

/**
 * One secret imported in both forms (plain, then the old store's sha256 dump) is two rows, and
 * revoking or disabling either copy holds for the secret at once: the verifier's cache holds
 * the row it chose, so a change to the other copy must drop that entry too.
 */
describeEachDatabase('a secret imported twice, one copy revoked while the other is cached', (dialect) => {
  let storage: Storage & { url: string };
  let usage: UsageTracker;
  let bus: InvalidationBus;
  let owner: string;
  const at = Date.UTC(2026, 0, 1);
  const now = (): number => at;
  const keyring = createPepperKeyring({ secretKey: SECRET });

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    usage = new UsageTracker({ db: storage.db, flushIntervalMs: 0 });
    bus = createMemoryInvalidationBus();
    owner = await insertTestUser(storage.db);
  });
  afterEach(async () => {
    await usage.close();
    await storage.close();
  });

  for (const change of ['revoke', 'disable'] as const) {
    it(`${change} of the uncached copy holds at once`, async () => {
      const verifier = new ApiKeyVerifier({
        db: storage.db,
        keyring,
        usage,
        invalidation: bus,
        legacySalt: SALT,
        cacheTtlMs: 60_000,
        now,
      });
      const service = new ApiKeyService({
        db: storage.db,
        keyring,
        usage,
        invalidation: bus,
        audit: () => ({ record: async () => {} }),
        now,
      });
      const secret = 'tts_live_A1b2C3d4E5f6G7h8I9j0K1l2';
      const deps = { db: storage.db, keyring, invalidation: bus, actor: 'system', now };
      expect(
        await importKeys([{ key: secret, name: 'plain', ownerId: owner, permissions: [] }], deps),
      ).toMatchObject({ imported: 1 });
      const sha256 = createHash('sha256')
        .update(SALT + secret)
        .digest('hex');
      expect(
        await importKeys([{ sha256, name: 'dump', ownerId: owner, permissions: [] }], {
          ...deps,
          now: () => at + 1,
        }),
      ).toMatchObject({ imported: 1 });

      const first = await verifier.verify(secret);
      expect(first.valid).toBe(true);
      const cachedId = first.key?.id as string;
      const rows = await storage.db.selectFrom('api_keys').select('id').execute();
      expect(rows).toHaveLength(2);
      const other = rows.map((r) => r.id).find((id) => id !== cachedId) as string;

      if (change === 'revoke') await service.revoke(other, { actor: 'system' });
      else await service.setEnabled(other, false, { actor: 'system' });

      expect(await verifier.verify(secret)).toMatchObject({
        valid: false,
        code: change === 'revoke' ? 'revoked' : 'disabled',
      });
    });
  }
});
