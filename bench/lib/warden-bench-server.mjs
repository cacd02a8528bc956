// Shared start-up for benchmark servers that need Warden's context before listening (to seed
// users, keys or tokens): a throw-away SQLite database, log level warn, the per-IP default
// limit on but out of one load generator's reach, and a bench-only route module.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadSettings } from '../../dist/config/index.js';
import { buildApp } from '../../dist/server/build-app.js';
import { closeContext, createContext } from '../../dist/server/create-context.js';
import { ROUTE_MODULES } from '../../dist/server/routes/index.js';
import { migrateToLatest } from '../../dist/storage/index.js';

/** Creates and migrates a context on a fresh database; `env` adds or overrides settings. */
export async function openBenchContext(name, env = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `warden-bench-${name}-`));
  const { settings } = loadSettings({
    env: {
      WARDEN_PORT: '0',
      WARDEN_DATA_DIR: dir,
      WARDEN_DATABASE_URL: `sqlite:${path.join(dir, 'warden.db')}`,
      WARDEN_LOG_LEVEL: 'warn',
      // A limit one load generator never reaches: the check runs, as PERFORMANCE.md's targets require.
      WARDEN_RATELIMIT_DEFAULT: '1000000000/60s',
      WARDEN_SECRET_KEY: 'bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz',
      ...env,
      ...process.env,
    },
    envFile: false,
    cwd: dir,
    generateDevSecrets: false,
  });
  const context = createContext(settings, { logger: pino({ level: 'warn' }) });
  await migrateToLatest(context.storage);
  return context;
}

/** Inserts an active admin user straight into the database (no password) and returns its id. */
export async function insertBenchAdmin(context) {
  const id = randomUUID();
  const now = Date.now();
  await context.storage.db
    .insertInto('users')
    .values({ id, email: 'bench@example.test', email_lookup: `bench-${id}`, name: 'bench', password_hash: 'x', is_active: 1, is_admin: 1, created_at: now, updated_at: now, password_changed_at: now })
    .execute();
  return id;
}

/** Builds the app with an extra route module, listens on a free port, prints `LISTENING <url>`, closes on SIGTERM. */
export async function listenForBench(context, benchRoutes) {
  const app = await buildApp(context, { routes: [...ROUTE_MODULES, benchRoutes] });
  await app.listen({ port: 0, host: '127.0.0.1' });
  console.log(`LISTENING http://127.0.0.1:${app.server.address().port}`);
  process.on('SIGTERM', () =>
    app
      .close()
      .then(() => closeContext(context))
      .then(() => process.exit(0)),
  );
}
