import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../src/apikeys/api-key-service.js';
import { ApiKeyVerifier } from '../../src/apikeys/api-key-verifier.js';
import { importedPrefix, importKeys, type ImportEntry } from '../../src/apikeys/key-import.js';
import { generateApiKey } from '../../src/apikeys/key-format.js';
import { createPepperKeyring, type PepperKeyring } from '../../src/apikeys/pepper-keyring.js';
import { UsageTracker } from '../../src/apikeys/usage-tracker.js';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import { createMemoryInvalidationBus } from '../../src/cache/invalidation-bus.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { insertUser } from './fixtures.js';

const SECRET = 'import-test-secret-0123456789abcdef0123456789abcdef';
const SALT = 'ttskit-static-salt';
const keyring = createPepperKeyring({ secretKey: SECRET });
// The same root secret with an added pepper version 2, active.
const keyringV2 = createPepperKeyring({ secretKey: SECRET, pepperSetting: `2:${Buffer.alloc(32, 7).toString('base64url')}` });

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

  const verifier = (legacySalt?: string, ring: PepperKeyring = keyring): ApiKeyVerifier =>
    new ApiKeyVerifier({ db: storage.db, keyring: ring, usage, legacySalt, cacheTtlMs: 0 });
  const service = (ring: PepperKeyring = keyring): ApiKeyService =>
    new ApiKeyService({ db: storage.db, keyring: ring, usage, invalidation: createMemoryInvalidationBus(), audit: () => ({ record: async () => undefined }) });
  const importAs = (entries: readonly ImportEntry[], ring: PepperKeyring = keyring) => importKeys(entries, { db: storage.db, keyring: ring, actor: 'system' });
  const keyCount = async (): Promise<number> => (await storage.db.selectFrom('api_keys').select('id').execute()).length;

  it('a re-run import does not bring back a legacy key that was used (re-hashed) and then revoked', async () => {
    const legacyKey = 'tts_live_A1b2C3d4E5f6G7h8I9j0K1l2';
    const entry = { sha256: createHash('sha256').update(SALT + legacyKey).digest('hex'), name: 'legacy', ownerId, permissions: ['tts:speak'] };
    expect(await importAs([entry])).toEqual({ imported: 1, skipped: 0, problems: [] });
    const used = await verifier(SALT).verify(legacyKey);
    expect(used.valid).toBe(true);
    await service().revoke(used.key?.id as string, { actor: 'system' });
    // Upper-case hex is the same entry.
    expect(await importAs([entry, { ...entry, sha256: entry.sha256.toUpperCase() }])).toEqual({ imported: 0, skipped: 2, problems: [] });
    // Also once another pepper version is active (the fingerprint was made under version 1).
    expect(await importAs([entry], keyringV2)).toEqual({ imported: 0, skipped: 1, problems: [] });
    expect(await verifier(SALT).verify(legacyKey)).toMatchObject({ valid: false, code: 'revoked' });
    expect(await keyCount()).toBe(1);
  });

  it('a re-run import does not bring back a revoked plain key, also after the pepper was rotated', async () => {
    const legacyKey = 'sk-legacy-0123456789abcdefghijklmnop';
    const wardenKey = generateApiKey('live');
    const entries = [
      { key: legacyKey, name: 'plain', ownerId, permissions: [] },
      { key: wardenKey, name: 'warden', ownerId, permissions: [] },
    ];
    expect(await importAs(entries)).toEqual({ imported: 2, skipped: 0, problems: [] });
    for (const key of [legacyKey, wardenKey]) {
      const found = await verifier().verify(key);
      await service().revoke(found.key?.id as string, { actor: 'system' });
    }
    // Version 2 is active now; the rows are still hashed under version 1.
    expect(await importAs(entries, keyringV2)).toEqual({ imported: 0, skipped: 2, problems: [] });
    // Rows imported before fingerprints existed are still found by their hash under any version.
    await storage.db.updateTable('api_keys').set({ import_fingerprint: null }).execute();
    expect(await importAs(entries, keyringV2)).toEqual({ imported: 0, skipped: 2, problems: [] });
    for (const key of [legacyKey, wardenKey]) expect(await verifier(undefined, keyringV2).verify(key)).toMatchObject({ valid: false, code: 'revoked' });
    expect(await keyCount()).toBe(2);
  });

  it('importing revoked plain keys again as the old store\'s hash dump does not bring them back (the revoked copy answers)', async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `tts_live_${i.toString().padStart(2, '0')}_A1b2C3d4E5f6G7h8I9j0`);
    expect(await importAs(keys.map((key) => ({ key, name: 'plain', ownerId, permissions: ['tts:speak'] })))).toMatchObject({ imported: 12 });
    for (const row of await storage.db.selectFrom('api_keys').select('id').execute()) await service().revoke(row.id, { actor: 'system' });
    // The dump holds the same secrets in their other form: nothing ties its rows to the plain ones.
    const dump = keys.map((key) => ({ sha256: createHash('sha256').update(SALT + key).digest('hex'), name: 'dump', ownerId, permissions: ['tts:speak'] }));
    expect(await importAs(dump)).toMatchObject({ imported: 12 });
    for (const key of keys) expect(await verifier(SALT).verify(key)).toMatchObject({ valid: false, code: 'revoked' });
  });

  it('a legacy row imported before fingerprints existed gets one when its first use re-hashes it', async () => {
    const legacyKey = 'tts_live_Z9y8X7w6V5u4T3s2R1q0P9o8';
    const entry = { sha256: createHash('sha256').update(SALT + legacyKey).digest('hex'), name: 'legacy', ownerId, permissions: [] };
    await importAs([entry]);
    await storage.db.updateTable('api_keys').set({ import_fingerprint: null }).execute();
    const used = await verifier(SALT).verify(legacyKey);
    await service().revoke(used.key?.id as string, { actor: 'system' });
    expect(await importAs([entry])).toEqual({ imported: 0, skipped: 1, problems: [] });
    expect(await verifier(SALT).verify(legacyKey)).toMatchObject({ valid: false, code: 'revoked' });
  });

  it('refuses every entry (fail closed) once keys were imported under a pepper that is no longer configured', async () => {
    const old = { key: 'sk-legacy-imported-under-v2-0123456789', name: 'old', ownerId, permissions: [] };
    expect(await importAs([old], keyringV2)).toMatchObject({ imported: 1 });
    const next = { key: 'sk-legacy-another-key-0123456789abcdef', name: 'next', ownerId, permissions: [] };
    // Version 2 removed: the old entry could not be recognised, so nothing is imported.
    const report = await importAs([old, next]);
    expect(report.imported).toBe(0);
    expect(report.problems).toEqual([expect.stringMatching(/^entry 1: duplicates cannot be ruled out/), expect.stringMatching(/^entry 2: duplicates cannot be ruled out/)]);
    // Version 1 is derived from the root secret: a new root secret is a different pepper too.
    const fresh = await createTestStorage(dialect);
    try {
      const freshOwner = await insertUser(fresh.db);
      await importKeys([{ ...old, ownerId: freshOwner }], { db: fresh.db, keyring, actor: 'system' });
      const rotatedRoot = createPepperKeyring({ secretKey: `${SECRET}-rotated` });
      expect((await importKeys([{ ...next, ownerId: freshOwner }], { db: fresh.db, keyring: rotatedRoot, actor: 'system' })).imported).toBe(0);
    } finally {
      await fresh.close();
    }
    expect(await keyCount()).toBe(1);
  });

  it('two imports of the same entry running at once import it once', async () => {
    const entry = { key: 'sk-legacy-concurrent-0123456789abcdef', name: 'plain', ownerId, permissions: [] };
    const reports = await Promise.all([importAs([entry]), importAs([entry])]);
    expect(reports.map((r) => r.imported).sort()).toEqual([0, 1]);
    expect(reports.map((r) => r.skipped).sort()).toEqual([0, 1]);
    expect(await keyCount()).toBe(1);
  });

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
    // Its first eighth (36 characters: 4), no more of a key whose randomness nobody knows.
    expect(row.prefix).toBe('tts_');
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

describe('the prefix shown for an imported key', () => {
  it('is its first eighth, at most 8 characters, and nothing below 32 characters', () => {
    expect(importedPrefix('x'.repeat(31))).toBe('');
    expect(importedPrefix(`abcd${'x'.repeat(28)}`)).toBe('abcd');
    expect(importedPrefix(`abcdefgh${'x'.repeat(56)}`)).toBe('abcdefgh');
    expect(importedPrefix(`abcdefgh${'x'.repeat(500)}`)).toBe('abcdefgh');
  });
});
