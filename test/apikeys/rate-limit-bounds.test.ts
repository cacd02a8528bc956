import { afterEach, beforeEach, expect, it } from 'vitest';
import { ApiKeyService } from '../../src/apikeys/api-key-service.js';
import { createPepperKeyring } from '../../src/apikeys/pepper-keyring.js';
import { UsageTracker } from '../../src/apikeys/usage-tracker.js';
import { createMemoryInvalidationBus } from '../../src/cache/invalidation-bus.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { insertUser } from './fixtures.js';

// The service applies the HTTP schema's bounds to every caller (the CLI's `--rate-limit`, library
// code): a rate limit of 1–1e9 per window of at most 31 days, an expiry in whole milliseconds.
// Beyond them the two databases would disagree — SQLite stores any integer, PostgreSQL's
// integer column refuses with a raw database error — so it is a validation error naming the
// field, the same on both, and nothing is stored.
describeEachDatabase('a per-key rate limit or expiry beyond the bounds', (dialect) => {
  let storage: Storage & { url: string };
  let usage: UsageTracker;
  let service: ApiKeyService;
  let ownerId: string;

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    usage = new UsageTracker({ db: storage.db, flushIntervalMs: 0 });
    service = new ApiKeyService({
      db: storage.db,
      keyring: createPepperKeyring({ secretKey: 'rate-limit-bounds-secret-0123456789abcdef012345' }),
      usage,
      invalidation: createMemoryInvalidationBus(),
      audit: () => ({ record: async () => undefined }),
    });
    ownerId = await insertUser(storage.db);
  });
  afterEach(async () => {
    await usage.close();
    await storage.close();
  });

  it.each([
    ['a limit above 1e9', { rateLimit: { limit: 3_000_000_000, windowMs: 1000 } }, 'rate_limit'],
    ['a window above 31 days', { rateLimit: { limit: 10, windowMs: 32 * 86_400_000 } }, 'rate_limit'],
    ['a fractional expiry', { expiresAt: Date.now() + 86_400_000.5 }, 'expires_at'],
  ])(
    '%s is refused as validation_failed naming the field, and no key is stored',
    async (_label, extra, field) => {
      const attempt = service.create({ name: 'ci', ownerId, permissions: [], ...extra }, { actor: 'system' });
      await expect(attempt).rejects.toMatchObject({ code: 'validation_failed', fields: { field } });
      const rows = await storage.db.selectFrom('api_keys').select('id').execute();
      expect(rows).toEqual([]);
    },
  );

  it('the bounds themselves are accepted', async () => {
    const created = await service.create(
      {
        name: 'ci',
        ownerId,
        permissions: [],
        rateLimit: { limit: 1_000_000_000, windowMs: 31 * 86_400_000 },
      },
      { actor: 'system' },
    );
    expect(created.record.rateLimit).toEqual({ limit: 1_000_000_000, windowMs: 31 * 86_400_000 });
  });
});
