// Warden's real app (dist/) on a throw-away SQLite database for the API-key benchmark: issues
// a verifier key (keys:verify) and a caller key (reports:read), writes them to
// BENCH_KEYS_FILE, and adds one bench-only route guarded by `reports:read` so that the
// API-key guard is measured without a database query in the handler. The per-IP default
// limit is on but out of one load generator's reach; log level warn.
import { writeFileSync } from 'node:fs';
import { insertBenchAdmin, listenForBench, openBenchContext } from '../lib/warden-bench-server.mjs';

const context = await openBenchContext('keys');
const ownerId = await insertBenchAdmin(context);
const service = context.apiKeys.service;
const verifierKey = (await service.create({ name: 'gateway', ownerId, permissions: ['keys:verify'] }, { actor: 'system' })).key;
const callerKey = (await service.create({ name: 'caller', ownerId, permissions: ['reports:read'] }, { actor: 'system' })).key;
writeFileSync(process.env.BENCH_KEYS_FILE, JSON.stringify({ verifierKey, callerKey }), { mode: 0o600 });
// For bench/instructions-per-request.sh, which sends the header lines (and body) read from
// files: the caller's key for /v1/bench/guarded, or with BENCH_REQUEST_BODY_FILE a
// POST /v1/keys/verify of the caller's key by the verifier.
if (process.env.BENCH_REQUEST_BODY_FILE) {
  writeFileSync(process.env.BENCH_REQUEST_HEADER_FILE, `X-API-Key: ${verifierKey}\nContent-Type: application/json\n`, { mode: 0o600 });
  writeFileSync(process.env.BENCH_REQUEST_BODY_FILE, JSON.stringify({ key: callerKey, permissions: ['reports:read'] }), { mode: 0o600 });
} else if (process.env.BENCH_REQUEST_HEADER_FILE) {
  writeFileSync(process.env.BENCH_REQUEST_HEADER_FILE, `X-API-Key: ${callerKey}\n`, { mode: 0o600 });
}

await listenForBench(context, async (app) => {
  app.get('/bench/guarded', { config: { permission: 'reports:read' } }, async () => ({ ok: true }));
  // The same route without the guard: the difference between the two is what the API-key
  // check (authenticate, cached verify, permission) costs over HTTP.
  app.get('/bench/open', { config: { public: true } }, async () => ({ ok: true }));
  // The same two under /v1, where the per-IP default limit applies as on every API route:
  // PERFORMANCE.md's "API key + rate limit + permission check" row. (/bench/* above has no
  // limit; it stays for comparisons with older checkouts, which only have those.)
  app.get('/v1/bench/guarded', { config: { permission: 'reports:read' } }, async () => ({ ok: true }));
  app.get('/v1/bench/open', { config: { public: true } }, async () => ({ ok: true }));
});
