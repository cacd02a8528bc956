// Issue 2's benchmark: GET /healthz through Warden's full hardening stack against a bare
// Fastify route, same run, same machine, with a third server that sends only Warden's
// security headers (the floor any stack meeting the header list starts from).
// Run: npm run build && node bench/http-stack.mjs
import { fileURLToPath } from 'node:url';
import { compare, printTable, startServerProcess } from './lib/http-bench.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const duration = Number(process.env.BENCH_DURATION ?? 5);
const bare = await startServerProcess(here('./servers/bare-fastify.mjs'));
const headersOnly = await startServerProcess(here('./servers/bare-fastify-headers.mjs'));
const warden = await startServerProcess(here('./servers/warden.mjs'));
try {
  const rows = await compare(
    [
      { name: 'bare Fastify GET /healthz', url: `${bare.url}/healthz`, pid: bare.pid },
      { name: 'bare Fastify GET /healthz + Warden\'s 7 security headers only', url: `${headersOnly.url}/healthz`, pid: headersOnly.pid },
      { name: 'Warden GET /healthz (full hardening stack)', url: `${warden.url}/healthz`, pid: warden.pid },
    ],
    { duration },
  );
  printTable(rows);
} finally {
  await Promise.all([bare.stop(), headersOnly.stop(), warden.stop()]);
}
