// Issue 2's benchmark: GET /healthz through Warden's full hardening stack against a bare
// Fastify route, same run, same machine, with a third server that sends only Warden's
// security headers set per request (the floor any stack meeting the header list starts
// from when it sets them like every Fastify plugin does) and a fourth that writes them as one
// block from its response class, as Warden's service does.
// Run: npm run build && node bench/http-stack.mjs
// BENCH_COMPARE_WITH=<another built checkout> adds that checkout's Warden to the same run
// (e.g. `git worktree add /tmp/old <commit> && (cd /tmp/old && npm run build)`).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, printTable, startServerProcess } from './lib/http-bench.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const duration = Number(process.env.BENCH_DURATION ?? 5);
const bare = await startServerProcess(here('./servers/bare-fastify.mjs'));
const headersOnly = await startServerProcess(here('./servers/bare-fastify-headers.mjs'));
const headerBlock = await startServerProcess(here('./servers/bare-fastify-header-block.mjs'));
const warden = await startServerProcess(here('./servers/warden.mjs'));
const otherCheckout = process.env.BENCH_COMPARE_WITH;
const other = otherCheckout ? await startServerProcess(path.resolve(otherCheckout, 'bench/servers/warden.mjs')) : undefined;
try {
  const rows = await compare(
    [
      { name: 'bare Fastify GET /healthz', url: `${bare.url}/healthz`, pid: bare.pid },
      { name: 'bare Fastify GET /healthz + Warden\'s 8 fixed headers, set per request', url: `${headersOnly.url}/healthz`, pid: headersOnly.pid },
      { name: 'bare Fastify GET /healthz + the same headers as one block', url: `${headerBlock.url}/healthz`, pid: headerBlock.pid },
      { name: 'Warden GET /healthz (full hardening stack)', url: `${warden.url}/healthz`, pid: warden.pid },
      ...(other === undefined ? [] : [{ name: `the same, ${otherCheckout}`, url: `${other.url}/healthz`, pid: other.pid }]),
    ],
    { duration },
  );
  printTable(rows);
} finally {
  await Promise.all([bare.stop(), headersOnly.stop(), headerBlock.stop(), warden.stop(), other?.stop()]);
}
