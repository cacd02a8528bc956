// Issue 8's in-process micro-benchmark: one cached ApiKeyVerifier.verify() next to the floor of
// a cached key check (SHA-256 of the key + Map lookup, PERFORMANCE.md) in the same run.
// Run: npm run build && node bench/apikeys-verify.mjs   (BENCH_MS per cell, default 1000)
import { createHash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiKeyService } from '../dist/apikeys/api-key-service.js';
import { ApiKeyVerifier } from '../dist/apikeys/api-key-verifier.js';
import { createPepperKeyring } from '../dist/apikeys/pepper-keyring.js';
import { UsageTracker } from '../dist/apikeys/usage-tracker.js';
import { createMemoryInvalidationBus } from '../dist/cache/invalidation-bus.js';
import { migrateToLatest, openDatabase } from '../dist/storage/index.js';

const ms = Number(process.env.BENCH_MS ?? 1000);
const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-bench-verify-'));
const storage = openDatabase(`sqlite:${path.join(dir, 'w.db')}`);
await migrateToLatest(storage);
const ownerId = randomUUID();
const now = Date.now();
await storage.db
  .insertInto('users')
  .values({ id: ownerId, email: 'b@example.test', email_lookup: 'b', name: 'b', password_hash: 'x', is_active: 1, is_admin: 0, created_at: now, updated_at: now, password_changed_at: now })
  .execute();
const keyring = createPepperKeyring({ secretKey: 'bench-secret-0123456789abcdefghijklmnopqrstuvwxyz' });
const usage = new UsageTracker({ db: storage.db, flushIntervalMs: 0 });
const bus = createMemoryInvalidationBus();
const service = new ApiKeyService({ db: storage.db, keyring, usage, invalidation: bus, audit: () => ({ record: async () => {} }) });
const verifier = new ApiKeyVerifier({ db: storage.db, keyring, usage, invalidation: bus, cacheTtlMs: 60_000 });
const { key } = await service.create({ name: 'b', ownerId, permissions: ['reports:read'] }, { actor: 'system' });

const floor = new Map([[createHash('sha256').update(key).digest('hex'), { ownerId }]]);
async function run(name, fn) {
  await fn();
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i += 1) await fn();
    n += 100;
  }
  return { name, opsPerSec: Math.round((n * 1000) / ms) };
}
const rows = [];
for (let round = 0; round < 3; round += 1) {
  rows.push(await run('floor: sha256 + Map.get', async () => floor.get(createHash('sha256').update(key).digest('hex'))));
  rows.push(await run('verifier.verify (cached, permission check)', () => verifier.verify(key, { permissions: ['reports:read'] })));
}
const median = (name) => rows.filter((r) => r.name === name).map((r) => r.opsPerSec).sort((a, b) => a - b)[1];
const base = median('floor: sha256 + Map.get');
console.log('| operation | ops/s (median of 3) | µs/op | vs floor |');
console.log('|---|---:|---:|---:|');
for (const name of ['floor: sha256 + Map.get', 'verifier.verify (cached, permission check)']) {
  const m = median(name);
  console.log(`| ${name} | ${m.toLocaleString('en-US')} | ${(1e6 / m).toFixed(1)} | ${(m / base).toFixed(2)} |`);
}
verifier.close();
await usage.close();
await storage.close();
