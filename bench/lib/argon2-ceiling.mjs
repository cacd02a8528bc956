// The login ceiling of the core the servers run on: argon2id verifies per second, one at a
// time, with Warden's parameters (OWASP: m=19456 KiB, t=2, p=1). Logins/s are read against
// this figure from the same run, since the machine's speed drifts between runs and days.
// Prints one JSON line {verifiesPerSecond}. Run pinned like the servers (see http-bench.mjs).
import { performance } from 'node:perf_hooks';
import { hash, verify } from '@node-rs/argon2';

const seconds = Number(process.env.BENCH_DURATION ?? 5);
const options = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 };
const encoded = await hash('violet-harbour-quietly-92', options);
await verify(encoded, 'violet-harbour-quietly-92');
let done = 0;
const start = performance.now();
while (performance.now() - start < seconds * 1000) {
  await verify(encoded, 'violet-harbour-quietly-92');
  done += 1;
}
console.log(JSON.stringify({ verifiesPerSecond: done / ((performance.now() - start) / 1000) }));
