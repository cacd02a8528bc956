// Warden's real app (dist/) on a throw-away SQLite database for the API-key benchmark: issues
// a verifier key (keys:verify) and a caller key (reports:read), writes them to
// BENCH_KEYS_FILE, and adds one bench-only route guarded by `reports:read` so that the
// API-key guard is measured without a database query in the handler. The per-IP default
// limit is off (one load generator would hit it at once); log level warn.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadSettings } from '../../dist/config/index.js';
import { buildApp } from '../../dist/server/build-app.js';
import { closeContext, createContext } from '../../dist/server/create-context.js';
import { ROUTE_MODULES } from '../../dist/server/routes/index.js';
import { migrateToLatest } from '../../dist/storage/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-bench-keys-'));
const { settings } = loadSettings({
  env: {
    WARDEN_PORT: '0',
    WARDEN_DATA_DIR: dir,
    WARDEN_DATABASE_URL: `sqlite:${path.join(dir, 'warden.db')}`,
    WARDEN_LOG_LEVEL: 'warn',
    WARDEN_RATELIMIT_DEFAULT: 'off',
    WARDEN_SECRET_KEY: 'bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz',
    ...process.env,
  },
  envFile: false,
  cwd: dir,
  generateDevSecrets: false,
});
const context = createContext(settings, { logger: pino({ level: 'warn' }) });
await migrateToLatest(context.storage);
const ownerId = randomUUID();
const now = Date.now();
await context.storage.db
  .insertInto('users')
  .values({ id: ownerId, email: 'bench@example.test', email_lookup: `bench-${ownerId}`, name: 'bench', password_hash: 'x', is_active: 1, is_admin: 1, created_at: now, updated_at: now, password_changed_at: now })
  .execute();
const service = context.apiKeys.service;
const verifierKey = (await service.create({ name: 'gateway', ownerId, permissions: ['keys:verify'] }, { actor: 'system' })).key;
const callerKey = (await service.create({ name: 'caller', ownerId, permissions: ['reports:read'] }, { actor: 'system' })).key;
writeFileSync(process.env.BENCH_KEYS_FILE, JSON.stringify({ verifierKey, callerKey }), { mode: 0o600 });

const benchRoute = async (app) => {
  app.get('/bench/guarded', { config: { permission: 'reports:read' } }, async () => ({ ok: true }));
};
const app = await buildApp(context, { routes: [...ROUTE_MODULES, benchRoute] });
await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`LISTENING http://127.0.0.1:${app.server.address().port}`);
process.on('SIGTERM', () =>
  app
    .close()
    .then(() => closeContext(context))
    .then(() => process.exit(0)),
);
