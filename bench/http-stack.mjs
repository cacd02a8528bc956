// Issue 2's benchmark: GET /healthz through Warden's full hardening stack against a bare
// Fastify route, same run, same machine. Run: npm run build && node bench/http-stack.mjs
import { fileURLToPath } from 'node:url';
import { compare, printTable, startServerProcess } from './lib/http-bench.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const duration = Number(process.env.BENCH_DURATION ?? 5);
const bare = await startServerProcess(here('./servers/bare-fastify.mjs'));
const warden = await startServerProcess(here('./servers/warden.mjs'));
try {
  const rows = await compare(
    [
      { name: 'bare Fastify GET /ok', url: `${bare.url}/ok` },
      { name: 'Warden GET /healthz (full hardening stack)', url: `${warden.url}/healthz` },
    ],
    { duration },
  );
  printTable(rows);
} finally {
  await Promise.all([bare.stop(), warden.stop()]);
}
