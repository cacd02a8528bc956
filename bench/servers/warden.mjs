// Warden's real service (dist/) on a throw-away SQLite database, log level warn, with the
// full hardening stack (security headers, CORS with an allowlist, trusted hosts, guards,
// metrics, request logging hooks). Extra env (e.g. WARDEN_REDIS_URL) passes through.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSettings } from '../../dist/config/index.js';
import { startServer } from '../../dist/server/start-server.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-bench-'));
const loaded = loadSettings({
  env: {
    WARDEN_PORT: '0',
    WARDEN_DATA_DIR: dir,
    WARDEN_DATABASE_URL: `sqlite:${path.join(dir, 'warden.db')}`,
    WARDEN_LOG_LEVEL: 'warn',
    WARDEN_CORS_ORIGINS: 'https://app.example.com',
    WARDEN_TRUSTED_HOSTS: '127.0.0.1,localhost',
    ...process.env,
  },
  envFile: false,
  cwd: dir,
});
const server = await startServer(loaded, { print: () => undefined });
console.log(`LISTENING ${server.url}`);
