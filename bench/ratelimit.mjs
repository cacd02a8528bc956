// Rate-limit benchmarks (issue 4). Build first: `npm run build`. Needs Redis at
// WARDEN_REDIS_URL (default redis://127.0.0.1:6379/0). Prints Markdown tables.
//  1. decisions/s with 50 in flight, every Redis row on ONE connection with the service's own
//     client options (create-context.ts: auto-pipelining, commandTimeout), same concurrency,
//     interleaved in the same run:
//     - raw EVALSHA INCR+PEXPIRE: the floor of a Redis decision named in PERFORMANCE.md;
//     - raw EVALSHA of Warden's own script with the arguments a decision sends: the floor of
//       *this* script, so the ratio to it is the client-side cost of Warden's layers alone;
//     - Warden's limiter API (`service.limiter(policy).limit(key)`, i.e. limiter → failover
//       store with its timeout → Redis store), which is what the HTTP plugin calls per request.
//     Also prints CPU per decision of this process and of Redis (INFO cpu): with auto-pipelining
//     one batch is in flight at a time, so client and server time add up per decision, and these
//     figures say which side a gap comes from even when the machine is too busy for rates.
//  2. HTTP: a bare Fastify route vs the same route behind the rate-limit plugin (memory, Redis).
import { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { RATE_LIMIT_LUA } from '../dist/ratelimit/redis-script.js';
import { createRateLimitService } from '../dist/ratelimit/rate-limit-service.js';
import { compare, printTable, startServerProcess } from './lib/http-bench.mjs';

const MS = Number(process.env.BENCH_MS ?? 1500);
const IN_FLIGHT = 50;
const REDIS_URL = process.env.WARDEN_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
/** The service's client options (src/server/create-context.ts), so that both sides pay the same. */
const CLIENT_OPTIONS = { enableAutoPipelining: true, maxRetriesPerRequest: 1, commandTimeout: 1000 };

/** Runs `decide(i)` with IN_FLIGHT concurrent loops for MS ms; returns decisions/s and CPU µs per decision. */
async function throughput(decide, redisCpu) {
  let count = 0;
  const end = performance.now() + MS;
  const loop = async () => {
    while (performance.now() < end) {
      await decide(count % 1000);
      count += 1;
    }
  };
  const redisBefore = await redisCpu();
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, loop));
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const redisSeconds = (await redisCpu()) - redisBefore;
  return { rate: count / seconds, clientUs: (cpu.user + cpu.system) / count, redisUs: (redisSeconds * 1e6) / count };
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function decisions() {
  const redis = new Redis(REDIS_URL, CLIENT_OPTIONS);
  // INFO is never auto-pipelined, but a separate connection keeps it out of the measured one.
  const info = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const redisCpu = async () => {
    const text = await info.info('cpu');
    const field = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? NaN);
    return field('used_cpu_user') + field('used_cpu_sys');
  };
  // The limiter refuses (fail-closed) until the connection is ready.
  await Promise.all([redis.ping(), info.ping()]);
  const prefix = `warden-bench:${process.pid}:`;
  // defineCommand = EVALSHA with EVAL on NOSCRIPT, exactly how the Redis store sends its script.
  redis.defineCommand('rawIncr', {
    numberOfKeys: 1,
    lua: "local c = redis.call('INCR', KEYS[1]) if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return c",
  });
  redis.defineCommand('rawWardenScript', { numberOfKeys: 2, lua: RATE_LIMIT_LUA });
  const memory = createRateLimitService({}).limiter({ name: 'bench', limit: 1_000_000_000, windowMs: 60_000 });
  // redisTimeoutMs above the default 250 ms only so that a stall of this shared machine does not
  // abort the run with a fail-closed 503; the timeout's cost per decision does not depend on it.
  const service = createRateLimitService({ redis, keyPrefix: prefix, failurePolicy: 'fail-closed', redisTimeoutMs: 1000 });
  const viaLimiter = (algorithm) => {
    const limiter = service.limiter({ name: `bench-${algorithm}`, algorithm, limit: 1_000_000_000, windowMs: 60_000 });
    return (i) => limiter.limit(`k${i}`);
  };
  // The same keys and arguments the store sends for `bench-sliding-window`, on a key space of its own.
  const rawScript = (i) => {
    const tag = `${prefix}raw-script:{bench-sliding-window:k${i}}`;
    return redis.rawWardenScript(`${tag}:sliding-window`, `${tag}:block`, 'sliding-window', String(Date.now()), '1000000000', '60000', '1', '0');
  };
  const targets = [
    ['memory store, sliding window', (i) => memory.limit(`k${i}`)],
    ['Redis: raw EVALSHA INCR+PEXPIRE (PERFORMANCE.md baseline)', (i) => redis.rawIncr(`${prefix}raw:{k${i}}`, 60_000)],
    ["Redis: raw EVALSHA of Warden's script, sliding window", rawScript],
    ['Warden limiter, Redis, fixed window', viaLimiter('fixed-window')],
    ['Warden limiter, Redis, sliding window', viaLimiter('sliding-window')],
    ['Warden limiter, Redis, token bucket', viaLimiter('token-bucket')],
  ];
  // Interleaved rounds, median per target: the machine is shared and drifts between runs.
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const samples = targets.map(() => []);
  for (const [, decide] of targets) await throughput(decide, redisCpu); // warm-up
  for (let round = 0; round < rounds; round += 1) {
    for (const [index, [, decide]] of targets.entries()) samples[index].push(await throughput(decide, redisCpu));
  }
  const rows = targets.map(([name], index) => ({
    name,
    rate: median(samples[index].map((s) => s.rate)),
    clientUs: median(samples[index].map((s) => s.clientUs)),
    redisUs: median(samples[index].map((s) => s.redisUs)),
  }));
  const incr = rows[1].rate;
  const script = rows[2].rate;
  console.log(`| decisions, ${IN_FLIGHT} in flight | decisions/s | vs raw INCR+PEXPIRE | vs raw same script | client CPU µs/decision | Redis CPU µs/decision |`);
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [index, { name, rate, clientUs, redisUs }] of rows.entries()) {
    const vsScript = index >= 2 ? (rate / script).toFixed(2) : '';
    const server = index === 0 ? '' : redisUs.toFixed(1);
    console.log(`| ${name} | ${fmt(rate)} | ${(rate / incr).toFixed(2)} | ${vsScript} | ${clientUs.toFixed(1)} | ${server} |`);
  }
  console.log('\n(Redis CPU counts every client of that Redis, so it reads high while others use it too.)\n');
  const keys = await redis.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  redis.disconnect();
  info.disconnect();
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
