import { createHash } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ApiKeyVerifier } from '../../src/apikeys/api-key-verifier.js';
import { importKeys } from '../../src/apikeys/key-import.js';
import { generateApiKey } from '../../src/apikeys/key-format.js';
import { createPepperKeyring } from '../../src/apikeys/pepper-keyring.js';
import { UsageTracker } from '../../src/apikeys/usage-tracker.js';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { insertUser } from './fixtures.js';

const SECRET = 'import-test-secret-0123456789abcdef0123456789abcdef';
const SALT = 'ttskit-static-salt';
const keyring = createPepperKeyring({ secretKey: SECRET });

describeEachDatabase('legacy key import', (dialect) => {
  let storage: Storage & { url: string };
  let usage: UsageTracker;
  let ownerId: string;

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    usage = new UsageTracker({ db: storage.db, flushIntervalMs: 0 });
    ownerId = await insertUser(storage.db);
  });
  afterEach(async () => {
    await usage.close();
    await storage.close();
  });

  const verifier = (legacySalt?: string): ApiKeyVerifier => new ApiKeyVerifier({ db: storage.db, keyring, usage, legacySalt, cacheTtlMs: 0 });

  it('keeps salted SHA-256 keys verifiable and upgrades each to the peppered hash on first use', async () => {
    const legacyKey = 'tts_3f9a0c2b7d5e41a8b6c9d0e1f2a3b4c5';
    const sha256 = createHash('sha256').update(SALT + legacyKey).digest('hex');
    const report = await importKeys([{ sha256, name: 'old', ownerId, permissions: ['tts:speak'] }], { db: storage.db, keyring, actor: 'system' });
    expect(report).toEqual({ imported: 1, skipped: 0, problems: [] });

    expect(await verifier().verify(legacyKey)).toMatchObject({ valid: false, code: 'not_found' });
    const result = await verifier(SALT).verify(legacyKey, { permissions: ['tts:speak'] });
    expect(result.valid).toBe(true);

    const row = await storage.db.selectFrom('api_keys').selectAll().executeTakeFirstOrThrow();
    expect(row.hash_scheme).toBe('hmac-sha256');
    expect(row.key_hash).toBe(keyring.hash(legacyKey, 1));
    expect(row.key_hash).not.toBe(sha256);
    expect(row.prefix).toBe(legacyKey.slice(0, 8));
    // Once upgraded the key verifies without the legacy salt.
    expect((await verifier().verify(legacyKey)).valid).toBe(true);
    expect((await verifier(SALT).verify(`${legacyKey}x`)).valid).toBe(false);
  });

  it('imports plain keys without storing them, and skips duplicates', async () => {
    const legacyKey = 'sk-legacy-0123456789abcdefghijklmnop';
    const wardenKey = generateApiKey('live');
    const entries = [
      { key: legacyKey, name: 'plain', ownerId, permissions: ['a:b'] },
      { key: wardenKey, name: 'warden', ownerId, permissions: [] },
    ];
    expect(await importKeys(entries, { db: storage.db, keyring, actor: 'system' })).toEqual({ imported: 2, skipped: 0, problems: [] });
    expect(await importKeys(entries, { db: storage.db, keyring, actor: 'system' })).toEqual({ imported: 0, skipped: 2, problems: [] });
    const rows = await storage.db.selectFrom('api_keys').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(legacyKey);
    expect(JSON.stringify(rows)).not.toContain(wardenKey);
    expect((await verifier().verify(legacyKey, { permissions: ['a:b'] })).valid).toBe(true);
    expect((await verifier().verify(wardenKey)).valid).toBe(true);
  });

  it("audits each imported key without the key, and refuses entries carrying more than their owner holds", async () => {
    const legacyKey = 'sk-legacy-0123456789abcdefghijklmnop';
    const events: AuditEventInput[] = [];
    const report = await importKeys(
      [
        { key: legacyKey, name: 'plain', ownerId, permissions: ['reports:read'] },
        { key: 'sk-legacy-too-wide-0123456789abcdef', name: 'wide', ownerId, permissions: ['users:delete'] },
      ],
      { db: storage.db, keyring, actor: 'system', audit: { record: async (event) => void events.push(event) }, ownerPermissions: async () => ['reports:*'] },
    );
    expect(report).toEqual({ imported: 1, skipped: 0, problems: ['entry 2: carries users:delete, which its owner does not hold'] });
    expect(events).toEqual([expect.objectContaining({ action: 'apikey.created', actor: 'system', entity_type: 'api_key', details: expect.objectContaining({ imported: true }) })]);
    expect(JSON.stringify(events)).not.toContain(legacyKey);
  });

  it('reports bad entries by position without echoing them', async () => {
    const report = await importKeys(
      [
        { key: 'tooshort', name: 'x', ownerId, permissions: [] },
        { sha256: 'abc', name: 'x', ownerId, permissions: [] },
        { key: 'long-enough-legacy-key-123456', name: 'x', ownerId: 'nobody', permissions: [] },
      ],
      { db: storage.db, keyring, actor: 'system' },
    );
    expect(report.imported).toBe(0);
    expect(report.problems).toHaveLength(3);
    expect(report.problems[0]).toMatch(/^entry 1:/);
    expect(report.problems.join('\n')).not.toContain('tooshort');
  });
});
