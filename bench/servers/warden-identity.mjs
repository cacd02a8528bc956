// Warden's real app (dist/) on a throw-away SQLite database for the identity benchmark: creates
// a user, writes one access token and BENCH_TOKEN_COUNT fresh tokens (for the "new token on
// every request" case) to BENCH_TOKENS_FILE, and adds a bench-only route guarded by
// 'authenticated' (JWT guard + revocation + user-status check, no handler work).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadSettings } from '../../dist/config/index.js';
import { identityOf } from '../../dist/identity/identity-service.js';
import { buildApp } from '../../dist/server/build-app.js';
import { closeContext, createContext } from '../../dist/server/create-context.js';
import { ROUTE_MODULES } from '../../dist/server/routes/index.js';
import { migrateToLatest } from '../../dist/storage/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-bench-identity-'));
const { settings } = loadSettings({
  env: {
    WARDEN_PORT: '0',
    WARDEN_DATA_DIR: dir,
    WARDEN_DATABASE_URL: `sqlite:${path.join(dir, 'warden.db')}`,
    WARDEN_LOG_LEVEL: 'warn',
    WARDEN_RATELIMIT_DEFAULT: 'off',
    // The per-IP login limit would stop one load generator at once; the account throttle stays on.
    WARDEN_RATELIMIT_AUTH: 'off',
    WARDEN_SECRET_KEY: 'bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz',
    ...process.env,
  },
  envFile: false,
  cwd: dir,
  generateDevSecrets: false,
});
const context = createContext(settings, { logger: pino({ level: 'warn' }) });
await migrateToLatest(context.storage);
const identity = identityOf(context);
await identity.initialise();
const user = await identity.userAdmin.create({ email: 'bench@example.test', password: 'violet-harbour-quietly-92' }, { actor: 'system' });
const tokens = [];
for (let i = 0; i < Number(process.env.BENCH_TOKEN_COUNT ?? 2000); i++) tokens.push((await identity.issuer.issue({ userId: user.id, sessionId: 'bench' })).token);
writeFileSync(process.env.BENCH_TOKENS_FILE, JSON.stringify({ tokens, email: 'bench@example.test', password: 'violet-harbour-quietly-92' }), { mode: 0o600 });

const benchRoute = async (app) => {
  app.get('/bench/jwt', { config: { permission: 'authenticated' } }, async () => ({ ok: true }));
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
