// Issue 6's benchmark: JWT verification through Warden's guard (same token reused = verified-token
// cache; a new token on every request = full EdDSA verify) and login throughput (argon2id, OWASP
// parameters), next to a bare Fastify route in the same run.
// Run: npm run build && node bench/identity.mjs   (BENCH_DURATION seconds per run, default 5)
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { compare, median, printTable, runPinned, startServerProcess } from './lib/http-bench.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const duration = Number(process.env.BENCH_DURATION ?? 5);
const tokensFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'warden-bench-')), 'tokens.json');
const bare = await startServerProcess(here('./servers/bare-fastify.mjs'));
const warden = await startServerProcess(here('./servers/warden-identity.mjs'), { BENCH_TOKENS_FILE: tokensFile });

/** autocannon with a different bearer token on every request (defeats the verified-token cache). */
async function rotatingTokens(url, tokens) {
  let next = 0;
  const result = await autocannon({
    url,
    duration,
    connections: 50,
    requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` } }) }],
  });
  return { rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx };
}

try {
  const { tokens, email, password } = JSON.parse(readFileSync(tokensFile, 'utf8'));
  const rows = await compare(
    [
      { name: 'bare Fastify GET /ok', url: `${bare.url}/ok` },
      { name: 'Warden GET guarded by JWT (same token, cached verify)', url: `${warden.url}/bench/jwt`, request: { headers: { authorization: `Bearer ${tokens[0]}` } } },
      {
        name: 'Warden POST /v1/auth/login (argon2id m=19456 t=2 p=1)',
        url: `${warden.url}/v1/auth/login`,
        request: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) },
      },
    ],
    { duration, rounds: 3 },
  );
  const fresh = [];
  for (let round = 0; round < 3; round++) fresh.push(await rotatingTokens(`${warden.url}/bench/jwt`, tokens));
  const base = rows[0].rps;
  const freshRps = median(fresh.map((s) => s.rps));
  if (fresh.some((s) => s.non2xx > 0)) console.warn('warning: non-2xx responses with rotating tokens');
  rows.push({ name: 'Warden GET guarded by JWT (new token every request, EdDSA verify)', rps: Math.round(freshRps), p99: median(fresh.map((s) => s.p99)), ratio: Math.round((freshRps / base) * 100) / 100 });
  // Logins against the argon2id ceiling of the same core, measured now (no server running).
  const { verifiesPerSecond } = runPinned(here('./lib/argon2-ceiling.mjs'), { BENCH_DURATION: String(duration) });
  const logins = rows.find((r) => r.name.startsWith('Warden POST /v1/auth/login'));
  printTable(rows);
  console.log(
    `\nargon2id ceiling on the server's core: ${verifiesPerSecond.toFixed(1)} verifies/s; logins/s = ${logins.rps} = ${(logins.rps / verifiesPerSecond).toFixed(2)}× the ceiling`,
  );
} finally {
  await Promise.all([bare.stop(), warden.stop()]);
}
