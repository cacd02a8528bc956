import { UpdateQueryNode, type KyselyPlugin } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ApiKeyService } from '../../src/apikeys/api-key-service.js';
import { createPepperKeyring } from '../../src/apikeys/pepper-keyring.js';
import { UsageTracker } from '../../src/apikeys/usage-tracker.js';
import { createMemoryInvalidationBus } from '../../src/cache/invalidation-bus.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage } from '../helpers/databases.js';
import { insertUser } from './fixtures.js';

const MAX_KEYS = 10;

let storage: Storage;
beforeEach(async () => {
  storage = await createTestStorage('sqlite');
});
afterEach(async () => storage.close());

/**
 * The database with its usage writes failing while `failing` says so (reads keep working: a
 * read-only failover, a full disk, lock timeouts). A failing write first waits for `gate` (then
 * `delayMs`, as a lock timeout would), so a test can record usage while a flush is in flight;
 * `entered` resolves once one is.
 */
function failingWrites(delayMs = 0): { plugin: KyselyPlugin; failing: { on: boolean }; entered: Promise<void>; open: () => void } {
  const failing = { on: true };
  const updates = new WeakSet<object>();
  let reached = (): void => {};
  const entered = new Promise<void>((resolve) => (reached = resolve));
  let open = (): void => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  const plugin: KyselyPlugin = {
    transformQuery(args) {
      if (UpdateQueryNode.is(args.node)) updates.add(args.queryId);
      return args.node;
    },
    async transformResult(args) {
      if (failing.on && updates.has(args.queryId)) {
        reached();
        await gate;
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        throw new Error('lock timeout');
      }
      return args.result;
    },
  };
  return { plugin, failing, entered, open };
}

/** Uses still accounted for: buffered (by key) plus dropped. */
function accounted(tracker: UsageTracker, keys: readonly string[]): number {
  return keys.reduce((sum, key) => sum + (tracker.pending(key)?.count ?? 0), 0) + tracker.dropped;
}

it('keeps the buffer within 2 x maxKeys while writes fail, dropping and counting what does not fit (review R-USAGE-1)', async () => {
  const errors: unknown[] = [];
  const writes = failingWrites(20);
  writes.open();
  const tracker = new UsageTracker({ db: storage.db.withPlugin(writes.plugin), flushIntervalMs: 0, maxKeys: MAX_KEYS, onError: (e) => void errors.push(e) });
  const keys: string[] = [];
  for (let round = 0; round < 5; round++) {
    // Distinct keys used while a flush is waiting on the database, then failing.
    const flushing = tracker.flush();
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (let i = 0; i < 2 * MAX_KEYS; i++) {
      const key = `key-${keys.length}`;
      keys.push(key);
      tracker.record(key, Date.now(), '127.0.0.1');
    }
    await flushing;
  }
  // Behind every flush queued so far; it fails too and puts its batch back.
  await tracker.flush();
  expect(errors.length).toBeGreaterThan(0);
  expect(tracker.size).toBeLessThanOrEqual(2 * MAX_KEYS);
  expect(tracker.dropped).toBeGreaterThan(0);
  // Nothing vanished unaccounted: every use is still buffered or counted as dropped.
  expect(accounted(tracker, keys)).toBe(keys.length);
});

it('queues at most one flush for a full buffer, however many new keys arrive meanwhile', async () => {
  const errors: unknown[] = [];
  const writes = failingWrites();
  const tracker = new UsageTracker({ db: storage.db.withPlugin(writes.plugin), flushIntervalMs: 0, maxKeys: MAX_KEYS, onError: (e) => void errors.push(e) });
  tracker.record('first', Date.now(), undefined);
  const inFlight = tracker.flush();
  await writes.entered;
  // Keys MAX_KEYS..2 x MAX_KEYS each find the buffer full.
  const keys = ['first'];
  for (let i = 0; i < 2 * MAX_KEYS; i++) {
    keys.push(`key-${i}`);
    tracker.record(`key-${i}`, Date.now(), undefined);
  }
  writes.open();
  await inFlight;
  await tracker.flush();
  // The in-flight flush, one size-triggered flush and the last one: not one retry per key.
  expect(errors).toHaveLength(3);
  expect(accounted(tracker, keys)).toBe(keys.length);
  // Once writes succeed, close() writes everything that is left.
  writes.failing.on = false;
  await tracker.close();
  expect(tracker.size).toBe(0);
});

it('loses nothing on graceful shutdown when writes succeed, also past maxKeys', async () => {
  const ownerId = await insertUser(storage.db);
  const tracker = new UsageTracker({ db: storage.db, flushIntervalMs: 0, maxKeys: MAX_KEYS });
  const service = new ApiKeyService({
    db: storage.db,
    keyring: createPepperKeyring({ secretKey: 'usage-test-secret-0123456789abcdef0123456789abcdef' }),
    usage: tracker,
    invalidation: createMemoryInvalidationBus(),
    audit: () => ({ record: async () => undefined }),
  });
  const ids: string[] = [];
  for (let i = 0; i < 1.5 * MAX_KEYS; i++) ids.push((await service.create({ name: `k${i}`, ownerId, permissions: [] }, { actor: 'system' })).record.id);
  // Two uses of each; the second round arrives while the size-triggered flush of the first is writing.
  for (const id of ids) tracker.record(id, Date.now(), '203.0.113.1');
  await new Promise((resolve) => setImmediate(resolve));
  for (const id of ids) tracker.record(id, Date.now() + 1, '203.0.113.2');
  await tracker.close();
  const rows = await storage.db.selectFrom('api_keys').select(['usage_count', 'last_used_ip']).where('id', 'in', ids).execute();
  expect(rows).toHaveLength(ids.length);
  for (const row of rows) expect({ count: Number(row.usage_count), ip: row.last_used_ip }).toEqual({ count: 2, ip: '203.0.113.2' });
  expect(tracker.dropped).toBe(0);
  expect(tracker.size).toBe(0);
});
