// Where a request's CPU goes: Linux `perf` samples (with V8's perf map, so JavaScript frames
// have names) of bare Fastify and of Warden's /healthz, unguarded and API-key-guarded routes
// under the same wrk load, reduced to microseconds of CPU per request for each layer
// (inclusive: a sample counts for every layer on its stack). Throughput ratios on this VM
// move by ±10–20% between runs; these per-layer figures locate the cost instead.
// Needs `perf` and `wrk` (skips loudly without them) and root or perf_event_paranoid <= 1.
// Run: npm run build && node bench/perf-attribution.mjs   (BENCH_ROUNDS, BENCH_DURATION)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, startServerProcess } from './lib/http-bench.mjs';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const duration = Number(process.env.BENCH_DURATION ?? 8);
const SAMPLE_HZ = 2000;

for (const tool of [['perf', '--version'], ['wrk', '--version'], ['taskset', '-V']]) {
  if (spawnSync(tool[0], tool.slice(1)).error !== undefined) {
    console.error(`SKIPPED: ${tool[0]} is not installed (apt-get install linux-perf wrk util-linux)`);
    process.exit(0);
  }
}

/**
 * Layers, each matched against the frames of a sample's stack (inclusive attribution). A
 * layer with `own` counts a sample only when no frame between the match and the leaf is in
 * another hook or Warden module: Fastify runs the next onRequest hook from inside the
 * previous hook's `done()`, so the hardening hook's stack would otherwise hold the auth guard.
 * Functions V8 inlined have no frame of their own and count for their caller.
 */
const LAYERS = [
  { name: 'whole request (all samples)', pattern: /./ },
  { name: '  socket write, kernel included (writev)', pattern: /JS:\S* ?clearBuffer node:internal\/streams\/writable/ },
  { name: '  response head: Node validates and joins headers', pattern: /JS:\S* ?writeHead node:_http_server/ },
  { name: '  request parsing up to the handler', pattern: /JS:\S* ?parserOnHeadersComplete node:_http_common/ },
  { name: '    Fastify request/reply set-up and onRequest hooks', pattern: /JS:\S* ?routeHandler \S*fastify\/lib\/route\.js/ },
  { name: '      Warden hardening hook itself', pattern: /dist\/http\/hardening\.js/, own: /hookIterator|dist\/(?!http\/hardening)/ },
  { name: '      Warden rate limits (dist/ratelimit)', pattern: /dist\/ratelimit\//, own: /hookIterator|dist\/(?!ratelimit)/ },
  { name: '      Warden auth guard (dist/http/auth-guard.js)', pattern: /dist\/http\/auth-guard\.js/ },
  { name: '        API-key verification (dist/apikeys)', pattern: /dist\/apikeys\// },
  { name: '        SHA-256 of the presented key (crypto.hash)', pattern: /JS:\S* ?hash node:internal\/crypto\/hash/ },
  { name: '        authorization (dist/authz)', pattern: /dist\/authz\// },
  { name: '  finish listener and onResponse hooks (metrics, log)', pattern: /JS:\S* ?onResFinished \S*fastify\/lib\/reply\.js/ },
  { name: '  nextTick entries built by V8 runtime calls (the slow path pinTickObjectShape avoids)', pattern: /Runtime_DefineKeyedOwnPropertyInLiteral/ },
  { name: '  garbage collection (scavenges, all threads)', pattern: /Scavenger|Heap::Scavenge|MinorGC/ },
];

/** Whether a sample's stack (leaf first) counts for a layer. */
function counts(layer, frames) {
  const at = frames.findIndex((frame) => layer.pattern.test(frame));
  if (at < 0) return false;
  return layer.own === undefined || !frames.slice(0, at).some((frame) => layer.own.test(frame));
}

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const scratch = mkdtempSync(path.join(os.tmpdir(), 'warden-perf-'));

/** Starts a pinned server with V8's perf map on; stopping it also removes the map file. */
async function startPinned(script, env) {
  const server = await startServerProcess(script, env, ['--perf-basic-prof']);
  const stop = async () => {
    await server.stop();
    rmSync(`/tmp/perf-${server.pid}.map`, { force: true });
  };
  return { ...server, stop };
}

/**
 * Runs wrk pinned to core 1; returns the number of requests it completed (warns about non-2xx
 * answers). Headers go through a Lua script file (mode 0600) rather than `-H`, so the API key
 * never shows in a process list.
 */
function wrk(url, seconds, headers) {
  const script = path.join(scratch, 'headers.lua');
  const lines = Object.entries(headers).map(([name, value]) => `wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`);
  writeFileSync(script, `${lines.join('\n')}\n`, { mode: 0o600 });
  const args = ['-c', '1', 'wrk', '-t1', '-c50', `-d${seconds}s`, '-s', script, url];
  return new Promise((resolve) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('exit', () => {
      // A guarded route answering 401 would profile the refusal, not the check: say so.
      const refused = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
      if (refused !== undefined) console.warn(`warning: ${url} gave ${refused} non-2xx responses`);
      resolve(Number(/(\d+) requests in/.exec(out)?.[1] ?? 0));
    });
  });
}

/** Profiles one target under load; returns µs of CPU per request for every layer. */
async function profile(server, route, headers) {
  const url = `${server.url}${route}`;
  await wrk(url, 3, headers);
  const data = path.join(scratch, 'perf.data');
  const load = wrk(url, duration + 2, headers);
  await new Promise((r) => setTimeout(r, 1000));
  spawnSync('perf', ['record', '-g', '-F', String(SAMPLE_HZ), '-p', String(server.pid), '-o', data, '--', 'sleep', String(duration)], { stdio: 'ignore' });
  const requests = await load;
  // The recording covered `duration` of the load's duration + 2 seconds.
  const recorded = (requests * duration) / (duration + 2);
  const script = spawnSync('perf', ['script', '-i', data], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout;
  const hits = new Array(LAYERS.length).fill(0);
  for (const sample of script.split('\n\n')) {
    const frames = sample.split('\n').slice(1);
    if (frames.length === 0) continue;
    LAYERS.forEach((layer, i) => {
      if (counts(layer, frames)) hits[i] += 1;
    });
  }
  const usPerSample = 1e6 / SAMPLE_HZ;
  return hits.map((n) => (n * usPerSample) / recorded);
}

// A fresh server for every profile: V8 reuses the addresses of discarded code, and the perf
// map of a long-lived process then names one route's frames after another route's code.
const targets = [
  { name: 'bare Fastify /healthz', script: './servers/bare-fastify.mjs', route: '/healthz' },
  { name: 'Warden /healthz', script: './servers/warden-apikeys.mjs', route: '/healthz' },
  { name: 'Warden /bench/open', script: './servers/warden-apikeys.mjs', route: '/bench/open' },
  { name: 'Warden /bench/guarded (X-API-Key)', script: './servers/warden-apikeys.mjs', route: '/bench/guarded', apiKey: true },
];
try {
  const samples = targets.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, target] of targets.entries()) {
      const keysFile = path.join(scratch, `keys-${round}-${i}.json`);
      const server = await startPinned(here(target.script), { BENCH_KEYS_FILE: keysFile });
      try {
        const headers = target.apiKey === true ? { 'x-api-key': JSON.parse(readFileSync(keysFile, 'utf8')).callerKey } : {};
        samples[i].push(await profile(server, target.route, headers));
      } finally {
        await server.stop();
      }
    }
  }
  // Median (min–max): a layer whose range is wide was attributed differently between rounds
  // (V8 inlines one hook into another, and then its samples count for the caller).
  const cells = samples.map((runs) =>
    LAYERS.map((_, layer) => {
      const values = runs.map((r) => r[layer]);
      const spread = rounds > 1 ? ` (${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)})` : '';
      return `${median(values).toFixed(1)}${spread}`;
    }),
  );
  console.log(`CPU µs per request, inclusive, median (min–max) of ${rounds} (perf -F ${SAMPLE_HZ}, wrk -c50, server pinned to core 0)\n`);
  console.log(`| layer | ${targets.map((t) => t.name).join(' | ')} |`);
  console.log(`|---|${targets.map(() => '---:').join('|')}|`);
  LAYERS.forEach(({ name }, layer) => {
    console.log(`| ${name.replace(/^( +)/, (s) => '&nbsp;'.repeat(s.length))} | ${cells.map((c) => c[layer]).join(' | ')} |`);
  });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
