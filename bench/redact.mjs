// Redaction throughput on a realistic service log (issue 9). Build first: npm run build.
// Run: node bench/redact.mjs   (BENCH_MS=1500 per cell by default)
// Baselines in the same run: JSON.parse + JSON.stringify of each line (what any JSON log
// pipeline pays) and a single IPv4 regex replace (the cheapest "redactor" imaginable).
import { createLineRedactor, defaultRedactor, redactText, redactValue } from '../dist/redact/index.js';

const BENCH_MS = Number(process.env.BENCH_MS ?? 1500);

function realisticLog(lines) {
  const out = [];
  const paths = ['/v1/keys/verify', '/v1/auth/login', '/healthz', '/v1/users?cursor=abc', '/v1/ratelimit'];
  for (let i = 0; i < lines; i += 1) {
    const kind = i % 20;
    const t = 1_763_892_000_000 + i * 7;
    if (kind < 14) {
      out.push(
        JSON.stringify({
          level: 30,
          time: t,
          service: 'warden',
          request_id: `req-${i.toString(16).padStart(8, '0')}`,
          msg: 'request',
          method: i % 3 === 0 ? 'POST' : 'GET',
          path: paths[i % paths.length],
          status: 200,
          duration_ms: (i % 97) / 10,
          user_agent:
            'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
        }),
      );
    } else if (kind < 17) {
      out.push(
        `2026-11-23T10:${String(i % 60).padStart(2, '0')}:00.000Z INFO user user${i}@example.com logged in from 198.51.100.${i % 250} (session s-${i})`,
      );
    } else if (kind === 17) {
      out.push(
        JSON.stringify({
          level: 50,
          time: t,
          msg: 'token rejected',
          err: {
            type: 'Error',
            message: `bad signature for Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1${i}In0.c2lnbmF0dXJl`,
          },
        }),
      );
    } else if (kind === 18) {
      out.push(
        `2026-11-23T10:00:00.000Z ERROR db connect postgres://warden:pw${i}@db.internal:5432/warden failed: ECONNREFUSED 10.0.3.${i % 250}:5432`,
      );
    } else {
      out.push(
        JSON.stringify({
          level: 40,
          time: t,
          msg: 'slow query',
          sql_ms: 812,
          table: 'api_keys',
          note: 'order 1234567890123456 v1.2.3',
        }),
      );
    }
  }
  return out;
}

function measure(name, lines, fn, { bytesOf = (l) => Buffer.byteLength(l) + 1 } = {}) {
  const bytes = lines.reduce((n, l) => n + bytesOf(l), 0);
  // Warm-up.
  for (const line of lines) fn(line);
  let rounds = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  let sink = 0;
  while (elapsed < BENCH_MS) {
    for (const line of lines) sink += fn(line).length;
    rounds += 1;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  const mbPerS = (bytes * rounds) / (1024 * 1024) / (elapsed / 1000);
  const linesPerS = (lines.length * rounds) / (elapsed / 1000);
  return { name, mbPerS, linesPerS, sink };
}

const lines = realisticLog(20_000);
const ipv4Only = /\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/g;
const lineRedactor = createLineRedactor(defaultRedactor);
const results = [
  measure('baseline: JSON.parse + JSON.stringify (JSON lines) / identity (text)', lines, (l) =>
    l.startsWith('{') ? JSON.stringify(JSON.parse(l)) : l,
  ),
  measure('baseline: one IPv4 regex replace', lines, (l) => l.replace(ipv4Only, '[IP]')),
  measure('redactText (every pattern, as text)', lines, (l) => redactText(l)),
  measure('warden redact line redactor (JSON by key + value)', lines, (l) => lineRedactor.line(l) ?? ''),
  measure(
    'logger path: redactValue on the parsed object',
    lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)),
    (o) => JSON.stringify(redactValue(o)),
    {
      // Counted as the size of the serialized line, so MB/s compare with the other rows.
      bytesOf: (o) => Buffer.byteLength(JSON.stringify(o)) + 1,
    },
  ),
];
const baseline = results[0].mbPerS;
console.log(
  `node ${process.version}, ${lines.length} lines, ${(lines.reduce((n, l) => n + l.length + 1, 0) / 1024 / 1024).toFixed(2)} MB, ${BENCH_MS} ms per cell`,
);
console.log('| case | MB/s | lines/s | vs JSON round-trip |');
console.log('|---|---:|---:|---:|');
for (const r of results)
  console.log(
    `| ${r.name} | ${r.mbPerS.toFixed(1)} | ${Math.round(r.linesPerS).toLocaleString('en-US')} | ${(r.mbPerS / baseline).toFixed(2)} |`,
  );
