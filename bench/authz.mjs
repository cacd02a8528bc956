// Issue 7's benchmark. Part 1: `can()` checks/s with 1,000 roles in the database (cached
// path, and the uncached path that reads memberships and resolves inheritance), next to a
// bare `anyCovers` over a fixed list in the same run. Part 2: a route guarded by
// `requirePermission` (auth guard → authenticate → cached can()) against a bare Fastify
// route, each server in its own process, driven by autocannon.
// Run: npm run build && node bench/authz.mjs   (BENCH_MS per micro cell, BENCH_DURATION s per HTTP run)
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { compare, printTable, startServerProcess } from './lib/http-bench.mjs';

const dist = (p) => new URL(`../dist/${p}`, import.meta.url).href;
const { AuthzService } = await import(dist('authz/authz-service.js'));
const { anyCovers } = await import(dist('authz/permission-match.js'));
const { createMemoryInvalidationBus } = await import(dist('cache/invalidation-bus.js'));
const { openDatabase, migrateToLatest } = await import(dist('storage/index.js'));

const ROLES = 1000;
const MEMBERSHIPS = 20;

/** A migrated SQLite database with 1,000 roles (chains of 10 by inheritance) and a user holding 20 of them. */
async function seed(url, user = randomUUID()) {
  const storage = openDatabase(url);
  await migrateToLatest(storage);
  const now = Date.now();
  const rows = [];
  for (let i = 0; i < ROLES; i++) {
    rows.push({
      name: `role-${i}`,
      description: null,
      permissions: JSON.stringify([`res${i}:read`, `res${i}:write`, `res${i % 50}:*`]),
      inherits: JSON.stringify(i % 10 === 0 ? [] : [`role-${i - 1}`]),
      is_builtin: 0,
      created_at: now,
      updated_at: now,
    });
  }
  for (let i = 0; i < rows.length; i += 100) await storage.db.insertInto('roles').values(rows.slice(i, i + 100)).execute();
  await storage.db
    .insertInto('users')
    .values({ id: user, email: 'b@example.test', email_lookup: user, name: null, password_hash: 'x', is_active: 1, is_admin: 0, created_at: now, updated_at: now, password_changed_at: now })
    .execute();
  const memberships = [];
  for (let i = 0; i < MEMBERSHIPS; i++) memberships.push({ id: randomUUID(), user_id: user, role_name: `role-${i * 50 + 9}`, scope: null, created_by: 'bench', created_at: now });
  await storage.db.insertInto('role_memberships').values(memberships).execute();
  return { storage, user };
}

function tempDbUrl() {
  return `sqlite:${path.join(mkdtempSync(path.join(os.tmpdir(), 'warden-bench-authz-')), 'warden.db')}`;
}

async function opsPerSecond(fn, ms = Number(process.env.BENCH_MS ?? 1000)) {
  for (let i = 0; i < 200; i++) await fn(i); // warm-up
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 100; i++) await fn(n + i);
    n += 100;
  }
  return n / ((performance.now() - start) / 1000);
}

async function microBench() {
  const { storage, user } = await seed(tempDbUrl());
  const audit = { record: async () => undefined };
  const cached = new AuthzService({ db: storage.db, invalidation: createMemoryInvalidationBus(), audit: () => audit, cacheTtlMs: 3_600_000 });
  const uncached = new AuthzService({ db: storage.db, invalidation: createMemoryInvalidationBus(), audit: () => audit, cacheTtlMs: 0 });
  const principal = { kind: 'user', subject: user, permissions: [], credentialId: 'bench' };
  const held = await cached.effectivePermissions(user);
  const fixed = [...held];
  const required = (i) => (i % 2 === 0 ? 'res459:write' : 'nope:read'); // one allowed, one denied
  const small = ['keys:read', 'users:read', 'res459:write'];
  const rows = [
    ['baseline: anyCovers over a 3-permission list (an API key)', await opsPerSecond((i) => anyCovers(small, required(i)))],
    [`anyCovers over the user's ${fixed.length} permissions (no compiled set)`, await opsPerSecond((i) => anyCovers(fixed, required(i)))],
    ['can() cached (1k roles, 20 memberships)', await opsPerSecond((i) => cached.can(principal, required(i)))],
    ['can() with nothing cached (reads 1k roles + memberships, resolves inheritance)', await opsPerSecond((i) => uncached.can(principal, required(i)), 500)],
  ];
  console.log(`effective permissions of the bench user: ${held.length}`);
  console.log('| check | ops/s | vs baseline |\n|---|---:|---:|');
  for (const [name, ops] of rows) console.log(`| ${name} | ${Math.round(ops).toLocaleString('en-US')} | ${(ops / rows[0][1]).toFixed(3)} |`);
  cached.close();
  uncached.close();
  await storage.close();
}

// ---- HTTP servers (child processes) ---------------------------------------------------

async function serveBare() {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  app.get('/ok', async () => ({ ok: true }));
  console.log(`LISTENING ${await app.listen({ port: 0, host: '127.0.0.1' })}`);
}

async function serveGuarded() {
  const { loadSettings } = await import(dist('config/index.js'));
  const { createContext } = await import(dist('server/create-context.js'));
  const { buildApp } = await import(dist('server/build-app.js'));
  const { requirePermission } = await import(dist('authz/require-permission.js'));
  const url = tempDbUrl();
  const user = process.env.BENCH_USER;
  const { storage } = await seed(url, user);
  await storage.close();
  const { settings } = loadSettings({
    env: { WARDEN_ENV: 'development', WARDEN_SECRET_KEY: 'k3Y9vQ2mZx7Lr4Tn8Wp1Hs6Bd0Fg5Jc2Nq7Rv3Xy9Ua4Ze8Mw1Ko6Pi5Ls0Dt2Gb', WARDEN_DATABASE_URL: url, WARDEN_LOG_LEVEL: 'warn', WARDEN_RATELIMIT_DEFAULT: 'off' },
    envFile: false,
    generateDevSecrets: false,
  });
  const context = createContext(settings);
  // BENCH ONLY: a header authenticator so the figure is the guard + can(), not JWT verification.
  context.authenticators.push(async (request) =>
    request.headers['x-bench-user'] === user ? { kind: 'user', subject: user, permissions: [], credentialId: 'bench' } : undefined,
  );
  const app = await buildApp(context, {
    routes: [
      async (a) => {
        a.get('/healthz', { config: { public: true } }, async () => ({ ok: true }));
        a.get('/bench/guarded', { ...requirePermission('res459:write') }, async () => ({ ok: true }));
      },
    ],
  });
  console.log(`LISTENING ${await app.listen({ port: 0, host: '127.0.0.1' })}`);
}

async function httpBench() {
  const self = fileURLToPath(import.meta.url);
  const duration = Number(process.env.BENCH_DURATION ?? 3);
  const user = randomUUID();
  const bare = await startServerProcess(self, { BENCH_ROLE: 'bare' });
  const guarded = await startServerProcess(self, { BENCH_ROLE: 'guarded', BENCH_USER: user });
  try {
    const rows = await compare(
      [
        { name: 'bare Fastify GET /ok', url: `${bare.url}/ok` },
        { name: 'Warden GET /healthz (public: whole stack, no guard)', url: `${guarded.url}/healthz` },
        { name: 'Warden GET guarded by requirePermission (1k roles, cached can())', url: `${guarded.url}/bench/guarded`, request: { headers: { 'x-bench-user': user } } },
      ],
      { duration, rounds: 3 },
    );
    printTable(rows);
  } finally {
    await Promise.all([bare.stop(), guarded.stop()]);
  }
}

if (process.env.BENCH_ROLE === 'bare') await serveBare();
else if (process.env.BENCH_ROLE === 'guarded') await serveGuarded();
else {
  await microBench();
  if (process.env.BENCH_SKIP_HTTP !== '1') await httpBench();
}
