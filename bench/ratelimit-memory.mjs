// In-process micro-benchmark of the in-memory limiter (no Redis, no HTTP): ns per
// `limiter.limitNow()` decision for a sliding window and a sliding log, over 1000 keys.
// Run: npm run build && node bench/ratelimit-memory.mjs [another checkout's root, built]
// With a second root, both builds run alternately in fresh processes (6 each) so that an A/B
// reads as same-run figures; pin with `taskset -c 1` on a busy machine.
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('..', import.meta.url));

async function measure(root) {
  const { createRateLimitService } = await import(`${root}/dist/ratelimit/rate-limit-service.js`);
  const service = createRateLimitService({});
  const window = service.limiter({ name: 'http:bench', algorithm: 'sliding-window', limit: 1_000_000_000, windowMs: 60_000 });
  const log = service.limiter({ name: 'http:bench-log', algorithm: 'sliding-log', limit: 50, windowMs: 1000 });
  const run = (limiter, n) => {
    const start = performance.now();
    for (let i = 0; i < n; i++) limiter.limitNow(`k${i % 1000}`, 1);
    return ((performance.now() - start) * 1e6) / n;
  };
  for (let i = 0; i < 3; i++) {
    run(window, 200_000);
    run(log, 200_000);
  }
  const w = [], l = [];
  for (let i = 0; i < 5; i++) {
    w.push(run(window, 2_000_000));
    l.push(run(log, 1_000_000));
  }
  const median = (xs) => Math.round(xs.sort((a, b) => a - b)[2]);
  return { slidingWindowNs: median(w), slidingLogNs: median(l) };
}

if (process.argv[2] === '--child') {
  process.stdout.write(JSON.stringify(await measure(process.argv[3])));
} else {
  const roots = [here, ...(process.argv[2] === undefined ? [] : [process.argv[2]])];
  const results = new Map(roots.map((r) => [r, []]));
  for (let round = 0; round < (roots.length > 1 ? 6 : 3); round++) {
    for (const root of roots) {
      results.get(root).push(JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', root], { encoding: 'utf8' })));
    }
  }
  console.log('| build | sliding window, ns/decision | sliding log (limit 50), ns/decision |\n|---|---|---|');
  for (const [root, rows] of results) {
    const sorted = (key) => rows.map((r) => r[key]).sort((a, b) => a - b).join(', ');
    console.log(`| ${root === here ? 'this checkout' : root} | ${sorted('slidingWindowNs')} | ${sorted('slidingLogNs')} |`);
  }
}
