// PERFORMANCE.md's "OAuth2 client-credentials grants/s ≥ 1,000/s per core": POST /oauth/token
// with grant_type=client_credentials and client_secret_basic (client lookup, constant-time
// secret check, failure throttle, EdDSA-signed access token), next to a bare Fastify route in
// the same run. Servers in child processes (core 0 with taskset), autocannon 50 connections.
// Run: npm run build && node bench/oauth.mjs   (BENCH_DURATION seconds per run, default 5)
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, measure, printTable, startServerProcess } from './lib/http-bench.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const duration = Number(process.env.BENCH_DURATION ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const clientFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'warden-bench-')), 'client.json');
const bare = await startServerProcess(here('./servers/bare-fastify.mjs'));
const warden = await startServerProcess(here('./servers/warden-oauth.mjs'), { BENCH_CLIENT_FILE: clientFile });

try {
  const { clientId, secret } = JSON.parse(readFileSync(clientFile, 'utf8'));
  // RFC 6749 §2.3.1: id and secret are form-encoded before the Basic encoding.
  const encode = (s) => encodeURIComponent(s).replace(/%20/g, '+');
  const grant = {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}` },
    body: 'grant_type=client_credentials',
  };
  // One request first: a wrong setup (401, 415) must fail loudly, not measure error answers.
  const probe = await fetch(`${warden.url}/oauth/token`, grant);
  if (probe.status !== 200) throw new Error(`POST /oauth/token answered ${probe.status}: ${await probe.text()}`);
  const rows = await compare(
    [
      { name: 'bare Fastify GET /ok', url: `${bare.url}/ok` },
      { name: 'Warden POST /oauth/token (client_credentials, client_secret_basic)', url: `${warden.url}/oauth/token`, request: grant },
    ],
    { duration, rounds },
  );
  printTable(rows);
  // A final check that the load did not lock the client out (every grant must have been a 200).
  const after = await measure(`${warden.url}/oauth/token`, { ...grant, duration: 1, connections: 1 });
  if (after.non2xx > 0) console.warn(`warning: ${after.non2xx} non-2xx answers after the run`);
} finally {
  await Promise.all([bare.stop(), warden.stop()]);
}
