// Audit log throughput and the latency it adds to a login. Build first: `npm run build`.
// Run: node bench/audit.mjs   (BENCH_EVENTS=50000 to change the event count; BENCH_PG_URL to add PostgreSQL)
// Baselines in the same run: raw better-sqlite3 hash-chained inserts (100 rows per transaction,
// synchronous=FULL, the PERFORMANCE.md peer row) and one argon2id verify (the cost of a login).
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import Database from 'better-sqlite3';
import { hash, verify } from '@node-rs/argon2';
import pino from 'pino';
import { createAuditLog } from '../dist/audit/audit-recorder.js';
import { deriveKey } from '../dist/crypto/derive-key.js';
import { migrateToLatest, openDatabase } from '../dist/storage/index.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000);
const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-audit-bench-'));
const key = deriveKey('bench-root-secret-bench-root-secret-bench', 'audit-checkpoint:v1');

function rawSqliteChain(n) {
  const db = new Database(path.join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('create table ev (id text primary key, seq integer unique, at integer, body text, prev text, hash text)');
  const insert = db.prepare('insert into ev values (?, ?, ?, ?, ?, ?)');
  let prev = '0'.repeat(64);
  const started = performance.now();
  for (let i = 0; i < n; i += 100) {
    db.transaction(() => {
      for (let j = i; j < Math.min(n, i + 100); j++) {
        const body = JSON.stringify({ action: 'user.updated', actor: `user-${j % 7}`, details: { j } });
        const h = createHash('sha256').update(prev + body).digest('hex');
        insert.run(randomUUID(), j + 1, Date.now(), body, prev, h);
        prev = h;
      }
    })();
  }
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return n / seconds;
}

async function wardenThroughput(url, n) {
  const storage = openDatabase(url, { poolSize: 4 });
  await migrateToLatest(storage);
  const log = createAuditLog({ storage, logger: pino({ level: 'silent' }), checkpointKey: key });
  const event = (i) => ({ action: 'user.updated', actor: `user-${i % 7}`, entity_type: 'user', entity_id: `u${i}`, outcome: 'success', ip: '203.0.113.7', request_id: `r${i}`, details: { i, fields: ['name'] } });
  // Warm-up, then many callers in flight (as under load: each request awaits its own event).
  await Promise.all(Array.from({ length: 1000 }, (_, i) => log.record(event(i))));
  const started = performance.now();
  const inFlight = 2000;
  for (let i = 0; i < n; i += inFlight) {
    await Promise.all(Array.from({ length: Math.min(inFlight, n - i) }, (_, j) => log.record(event(i + j))));
  }
  const perSecond = n / ((performance.now() - started) / 1000);
  // Latency of one awaited event with nothing else queued: what a single login waits for.
  const samples = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await log.record(event(i));
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  await log.close();
  await storage.close();
  return { perSecond, p50: samples[100], p99: samples[197] };
}

async function argon2VerifyMs() {
  const stored = await hash('correct horse battery staple', { memoryCost: 19456, timeCost: 2, parallelism: 1 });
  await verify(stored, 'correct horse battery staple');
  const times = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await verify(stored, 'correct horse battery staple');
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[10];
}

const f = (x) => x.toLocaleString('en-US', { maximumFractionDigits: 1 });
try {
  const raw = rawSqliteChain(EVENTS);
  const sqlite = await wardenThroughput(`sqlite:${path.join(dir, 'warden.db')}`, EVENTS);
  const login = await argon2VerifyMs();
  console.log(`events: ${EVENTS}, node ${process.version}, ${os.cpus().length} cores`);
  console.log(`| store | events/s | vs raw chained insert (100/tx) | one awaited event p50 / p99 ms |`);
  console.log(`|---|---:|---:|---:|`);
  console.log(`| raw better-sqlite3, 100 rows/tx, FULL | ${f(raw)} | 1.00 | – |`);
  console.log(`| Warden audit log, SQLite | ${f(sqlite.perSecond)} | ${(sqlite.perSecond / raw).toFixed(2)} | ${sqlite.p50.toFixed(2)} / ${sqlite.p99.toFixed(2)} |`);
  if (process.env.BENCH_PG_URL !== undefined) {
    const pg = await wardenThroughput(process.env.BENCH_PG_URL, EVENTS);
    console.log(`| Warden audit log, PostgreSQL | ${f(pg.perSecond)} | – | ${pg.p50.toFixed(2)} / ${pg.p99.toFixed(2)} |`);
  }
  console.log(`argon2id verify (the login itself): ${login.toFixed(1)} ms; audit adds ${sqlite.p50.toFixed(2)} ms p50 = ${((sqlite.p50 / login) * 100).toFixed(1)}% of a login on SQLite`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
