// Rate-limit benchmarks (issue 4). Build first: `npm run build`. Needs Redis at
// WARDEN_REDIS_URL (default redis://127.0.0.1:6379/0). Prints Markdown tables.
//  1. decisions/s with 50 in flight: memory store; raw EVALSHA INCR+PEXPIRE (the floor of a
//     Redis decision, PERFORMANCE.md) next to Warden's Redis store, same connection settings.
//  2. HTTP: a bare Fastify route vs the same route behind the rate-limit plugin (memory, Redis).
import { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createRateLimitService } from '../dist/ratelimit/rate-limit-service.js';
import { compare, printTable, startServerProcess } from './lib/http-bench.mjs';

const MS = Number(process.env.BENCH_MS ?? 1500);
const IN_FLIGHT = 50;
const REDIS_URL = process.env.WARDEN_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** Runs `decide(i)` with IN_FLIGHT concurrent loops for MS ms; returns decisions/s. */
async function throughput(decide) {
  let count = 0;
  const end = performance.now() + MS;
  const loop = async () => {
    while (performance.now() < end) {
      await decide(count % 1000);
      count += 1;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, loop));
  return count / ((performance.now() - start) / 1000);
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

async function decisions() {
  const redis = new Redis(REDIS_URL, { enableAutoPipelining: true, maxRetriesPerRequest: 1, commandTimeout: 1000 });
  const prefix = `warden-bench:${process.pid}:`;
  redis.defineCommand('rawIncr', {
    numberOfKeys: 1,
    lua: "local c = redis.call('INCR', KEYS[1]) if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return c",
  });
  const memory = createRateLimitService({}).limiter({ name: 'bench', limit: 1_000_000_000, windowMs: 60_000 });
  const viaRedis = (algorithm) =>
    createRateLimitService({ redis, keyPrefix: prefix, failurePolicy: 'fail-closed', redisTimeoutMs: 1000 }).limiter({ name: `bench-${algorithm}`, algorithm, limit: 1_000_000_000, windowMs: 60_000 });
  const rows = [];
  const targets = [
    ['memory store, sliding window', (i) => memory.limit(`k${i}`)],
    ['Redis: raw EVALSHA INCR+PEXPIRE (baseline)', (i) => redis.rawIncr(`${prefix}raw:{k${i}}`, 60_000)],
    ['Redis store, fixed window', ((l) => (i) => l.limit(`k${i}`))(viaRedis('fixed-window'))],
    ['Redis store, sliding window', ((l) => (i) => l.limit(`k${i}`))(viaRedis('sliding-window'))],
    ['Redis store, token bucket', ((l) => (i) => l.limit(`k${i}`))(viaRedis('token-bucket'))],
  ];
  // Interleaved rounds, median per target: the machine is shared and drifts between runs.
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const samples = targets.map(() => []);
  for (const [, decide] of targets) await throughput(decide); // warm-up
  for (let round = 0; round < rounds; round += 1) {
    for (const [index, [, decide]] of targets.entries()) samples[index].push(await throughput(decide));
  }
  for (const [index, [name]] of targets.entries()) {
    const sorted = [...samples[index]].sort((a, b) => a - b);
    rows.push([name, sorted[Math.floor(sorted.length / 2)]]);
  }
  const base = rows[1][1];
  console.log(`| decisions, ${IN_FLIGHT} in flight | decisions/s | vs raw EVALSHA |`);
  console.log('|---|---:|---:|');
  for (const [name, rate] of rows) console.log(`| ${name} | ${fmt(rate)} | ${(rate / base).toFixed(2)} |`);
  const keys = await redis.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  redis.disconnect();
}

async function http() {
  const here = (p) => fileURLToPath(new URL(p, import.meta.url));
  const servers = [
    ['bare Fastify', await startServerProcess(here('./servers/bare-fastify.mjs')), '/ok'],
    ['+ Warden rate limit, memory', await startServerProcess(here('./ratelimit-server.mjs'), { RATELIMIT_STORE: 'memory' }), ''],
    ['+ Warden rate limit, Redis', await startServerProcess(here('./ratelimit-server.mjs'), { RATELIMIT_STORE: 'redis' }), ''],
  ];
  try {
    const rows = await compare(
      servers.map(([name, server, path]) => ({ name, url: server.url.endsWith('/v1/ok') ? server.url : `${server.url}${path}` })),
      { rounds: Number(process.env.BENCH_ROUNDS ?? 1), duration: Number(process.env.BENCH_SECONDS ?? 3) },
    );
    printTable(rows);
  } finally {
    for (const [, server] of servers) await server.stop();
  }
}

await decisions();
if (process.env.BENCH_SKIP_HTTP !== '1') await http();
