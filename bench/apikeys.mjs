// Issue 8's benchmark: POST /v1/keys/verify and a route guarded by an API key (X-API-Key,
// cached verification, permission check) next to a bare Fastify route, same run, same
// machine. Run: npm run build && node bench/apikeys.mjs   (BENCH_DURATION seconds per run)
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, printTable, startServerProcess } from './lib/http-bench.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const duration = Number(process.env.BENCH_DURATION ?? 5);
const keysFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'warden-bench-')), 'keys.json');
const bare = await startServerProcess(here('./servers/bare-fastify.mjs'));
const warden = await startServerProcess(here('./servers/warden-apikeys.mjs'), { BENCH_KEYS_FILE: keysFile });
try {
  const { verifierKey, callerKey } = JSON.parse(readFileSync(keysFile, 'utf8'));
  const rows = await compare(
    [
      { name: 'bare Fastify GET /ok', url: `${bare.url}/ok` },
      {
        name: 'Warden POST /v1/keys/verify (cached)',
        url: `${warden.url}/v1/keys/verify`,
        request: {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': verifierKey },
          body: JSON.stringify({ key: callerKey, permissions: ['reports:read'] }),
        },
      },
      { name: 'Warden GET /bench/open (same stack and handler, no guard)', url: `${warden.url}/bench/open` },
      { name: 'Warden GET guarded by X-API-Key (cached)', url: `${warden.url}/bench/guarded`, request: { headers: { 'x-api-key': callerKey } } },
    ],
    { duration },
  );
  printTable(rows);
} finally {
  await Promise.all([bare.stop(), warden.stop()]);
}
