import { afterEach, beforeEach, expect, it } from 'vitest';
import { ApiKeyVerifier } from '../../src/apikeys/api-key-verifier.js';
import { generateApiKey } from '../../src/apikeys/key-format.js';
import { importKeys, type ImportEntry } from '../../src/apikeys/key-import.js';
import { createPepperKeyring } from '../../src/apikeys/pepper-keyring.js';
import { UsageTracker } from '../../src/apikeys/usage-tracker.js';
import { createMemoryInvalidationBus, type InvalidationBus } from '../../src/cache/invalidation-bus.js';
import { openDatabase, type Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { insertUser, instrumentedDb, manualClock } from './fixtures.js';

const SECRET = 'guard-test-secret-0123456789abcdef0123456789abcdef';
const keyring = createPepperKeyring({ secretKey: SECRET });
const RECHECK_MS = 30_000;
const LEGACY_KEY = 'sk-legacy-0123456789abcdefghijklmnop';
/** Values in no Warden format that still pass the legacy shape check (16–512 printable characters). */
const JUNK = ['aaaaaaaaaaaaaaaaaaaa', 'Bearer-ish-garbage-value', 'x'.repeat(200), 'not-a-key-0123456789', '{"json":"in-a-header"}'];

describeEachDatabase('API key verification of values in no Warden format', (dialect) => {
  let storage: Storage & { url: string };
  let usage: UsageTracker;
  let bus: InvalidationBus;
  let clock: ReturnType<typeof manualClock>;
  let instrumented: ReturnType<typeof instrumentedDb>;
  let ownerId: string;

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    usage = new UsageTracker({ db: storage.db, flushIntervalMs: 0 });
    bus = createMemoryInvalidationBus();
    clock = manualClock();
    instrumented = instrumentedDb(storage.db);
    ownerId = await insertUser(storage.db);
  });
  afterEach(async () => {
    await usage.close();
    await storage.close();
  });

  function verifier(options: { bus?: InvalidationBus | undefined } = {}): ApiKeyVerifier {
    return new ApiKeyVerifier({ db: instrumented.db, keyring, usage, invalidation: options.bus, now: clock.now, importedKeysRecheckMs: RECHECK_MS });
  }
  const entry = (key: string): ImportEntry => ({ key, name: 'legacy', ownerId, permissions: ['a:b'] });

  it('answers not_found for junk without any database query once it knows no key was imported', async () => {
    const v = verifier({ bus });
    expect(await v.verify(JUNK[0] as string)).toEqual({ valid: false, code: 'not_found' });
    const afterFirst = instrumented.queries();
    expect(afterFirst).toBe(1); // the one probe "is there any imported key?"
    for (const value of JUNK) expect(await v.verify(value)).toEqual({ valid: false, code: 'not_found' });
    expect(instrumented.queries()).toBe(afterFirst);
  });

  it('shares one probe among concurrent first callers', async () => {
    const v = verifier({ bus });
    const results = await Promise.all(JUNK.map((value) => v.verify(value)));
    expect(results.every((r) => !r.valid && r.code === 'not_found')).toBe(true);
    expect(instrumented.queries()).toBe(1);
  });

  it('re-reads whether imported keys exist at most once per re-check interval', async () => {
    const v = verifier({ bus });
    await v.verify(JUNK[0] as string);
    clock.advance(RECHECK_MS - 1);
    await v.verify(JUNK[1] as string);
    expect(instrumented.queries()).toBe(1);
    clock.advance(1);
    await v.verify(JUNK[2] as string);
    await v.verify(JUNK[3] as string);
    expect(instrumented.queries()).toBe(2);
  });

  it('does not probe for wdn_ keys, which are found by prefix', async () => {
    const v = verifier({ bus });
    expect(await v.verify(generateApiKey('live'))).toEqual({ valid: false, code: 'not_found' });
    expect(instrumented.queries()).toBe(1); // the prefix lookup only
  });

  it('verifies a key imported in this process at once, on a verifier that had cached "none"', async () => {
    const v = verifier({ bus });
    expect(await v.verify(LEGACY_KEY)).toEqual({ valid: false, code: 'not_found' });
    // The same call `warden keys import` makes; it publishes {topic: 'apikey', id: '*'}.
    expect(await importKeys([entry(LEGACY_KEY)], { db: storage.db, keyring, invalidation: bus, actor: 'system' })).toMatchObject({ imported: 1 });
    expect(await v.verify(LEGACY_KEY, { permissions: ['a:b'] })).toMatchObject({ valid: true, key: { environment: 'imported' } });
  });

  it('verifies keys that were imported before the verifier started', async () => {
    await importKeys([entry(LEGACY_KEY)], { db: storage.db, keyring, actor: 'system' });
    const v = verifier();
    expect((await v.verify(LEGACY_KEY)).valid).toBe(true);
    // With imported keys present, junk goes to the lookup again (the old behaviour).
    const before = instrumented.queries();
    expect(await v.verify(JUNK[0] as string)).toEqual({ valid: false, code: 'not_found' });
    expect(instrumented.queries()).toBeGreaterThan(before);
  });

  it('sees an import by another process without a shared bus within the re-check interval (the documented bound)', async () => {
    const v = verifier({ bus });
    expect(await v.verify(LEGACY_KEY)).toEqual({ valid: false, code: 'not_found' });
    await importKeys([entry(LEGACY_KEY)], { db: storage.db, keyring, invalidation: createMemoryInvalidationBus(), actor: 'system' });
    expect(await v.verify(LEGACY_KEY)).toEqual({ valid: false, code: 'not_found' });
    clock.advance(RECHECK_MS);
    expect((await v.verify(LEGACY_KEY)).valid).toBe(true);
  });

  it('clear() after an import without a bus makes imported keys verifiable at once (library use)', async () => {
    const v = verifier();
    await v.verify(LEGACY_KEY);
    await importKeys([entry(LEGACY_KEY)], { db: storage.db, keyring, actor: 'system' });
    v.clear();
    expect((await v.verify(LEGACY_KEY)).valid).toBe(true);
  });

  it('does not store "none" from a probe that raced an import', async () => {
    const v = verifier({ bus });
    const held = instrumented.holdNextResult();
    const racing = v.verify(JUNK[0] as string);
    await held; // the probe has read "no imported keys"; its caller has not seen that yet
    // A second connection: the held result keeps the first one busy (SQLite has only one).
    const importer = openDatabase(storage.url, { poolSize: 1, statementTimeoutMs: 10_000 });
    try {
      await importKeys([entry(LEGACY_KEY)], { db: importer.db, keyring, invalidation: bus, actor: 'system' });
    } finally {
      instrumented.release();
      await importer.close();
    }
    expect(await racing).toEqual({ valid: false, code: 'not_found' });
    expect((await v.verify(LEGACY_KEY)).valid).toBe(true);
  });
});
