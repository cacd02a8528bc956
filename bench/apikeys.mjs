// Issue 8's benchmark: POST /v1/keys/verify and a route guarded by an API key (X-API-Key,
// cached verification, permission check) next to a bare Fastify route, same run, same
// machine. A second table measures the library use: bare Fastify with Warden's in-process
// verifier in one onRequest hook, next to the same app's unguarded route and the floor of a
// cached check (SHA-256 + Map), all in one process.
// Run: npm run build && node bench/apikeys.mjs   (BENCH_DURATION seconds per run)
// BENCH_COMPARE_WITH=<another built checkout> adds that checkout's Warden rows to the same run.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, printTable, startServerProcess } from './lib/http-bench.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const duration = Number(process.env.BENCH_DURATION ?? 5);
const scratch = mkdtempSync(path.join(os.tmpdir(), 'warden-bench-'));
const keysFile = path.join(scratch, 'keys.json');
const libraryKeysFile = path.join(scratch, 'library-keys.json');
const otherKeysFile = path.join(scratch, 'other-keys.json');
const otherCheckout = process.env.BENCH_COMPARE_WITH;
const bare = await startServerProcess(here('./servers/bare-fastify.mjs'));
const warden = await startServerProcess(here('./servers/warden-apikeys.mjs'), { BENCH_KEYS_FILE: keysFile });
const library = await startServerProcess(here('./servers/fastify-apikey-library.mjs'), { BENCH_KEYS_FILE: libraryKeysFile });
const other = otherCheckout ? await startServerProcess(path.resolve(otherCheckout, 'bench/servers/warden-apikeys.mjs'), { BENCH_KEYS_FILE: otherKeysFile }) : undefined;
try {
  const { verifierKey, callerKey } = JSON.parse(readFileSync(keysFile, 'utf8'));
  const rows = await compare(
    [
      { name: 'bare Fastify GET /ok', url: `${bare.url}/ok`, pid: bare.pid },
      {
        name: 'Warden POST /v1/keys/verify (cached)',
        url: `${warden.url}/v1/keys/verify`,
        pid: warden.pid,
        request: {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': verifierKey },
          body: JSON.stringify({ key: callerKey, permissions: ['reports:read'] }),
        },
      },
      { name: 'Warden GET /v1/bench/open (same stack, limit and handler, no guard)', url: `${warden.url}/v1/bench/open`, pid: warden.pid },
      { name: 'Warden GET /v1/bench/guarded: X-API-Key (cached) + rate limit + permission', url: `${warden.url}/v1/bench/guarded`, pid: warden.pid, request: { headers: { 'x-api-key': callerKey } } },
      { name: 'Warden GET /bench/guarded: the same without the rate limit', url: `${warden.url}/bench/guarded`, pid: warden.pid, request: { headers: { 'x-api-key': callerKey } } },
      ...otherRows(),
    ],
    { duration },
  );
  printTable(rows);

  const libraryKey = JSON.parse(readFileSync(libraryKeysFile, 'utf8')).callerKey;
  const withKey = { headers: { 'x-api-key': libraryKey } };
  console.log('\nLibrary use: bare Fastify with one onRequest hook, one process');
  printTable(
    await compare(
      [
        { name: 'bare Fastify GET /ok (no hook)', url: `${library.url}/ok`, pid: library.pid },
        { name: 'floor: SHA-256 of the key + Map lookup', url: `${library.url}/floor`, pid: library.pid, request: withKey },
        { name: "Warden's ApiKeyVerifier.verify (cached), permission check", url: `${library.url}/library`, pid: library.pid, request: withKey },
        { name: 'the same through verifyCached() in a callback hook', url: `${library.url}/library-sync`, pid: library.pid, request: withKey },
      ],
      { duration },
    ),
  );
} finally {
  await Promise.all([bare.stop(), warden.stop(), library.stop(), other?.stop()]);
  rmSync(scratch, { recursive: true, force: true });
}

/** The open and guarded routes of BENCH_COMPARE_WITH's Warden, if given. */
function otherRows() {
  if (other === undefined) return [];
  const { callerKey } = JSON.parse(readFileSync(otherKeysFile, 'utf8'));
  return [
    // /bench/* (no rate limit): the paths every checkout's bench server has.
    { name: `Warden GET /bench/open, ${otherCheckout}`, url: `${other.url}/bench/open`, pid: other.pid },
    { name: `Warden GET /bench/guarded (no rate limit), ${otherCheckout}`, url: `${other.url}/bench/guarded`, pid: other.pid, request: { headers: { 'x-api-key': callerKey } } },
  ];
}
