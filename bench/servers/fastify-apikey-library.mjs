// Issue 8's "verify in-process with the library" case: a bare Fastify app (no Warden stack)
// whose routes differ only in one onRequest hook, all in one process so that JIT and GC
// conditions are shared:
//   /ok       no hook (the baseline);
//   /floor    SHA-256 of X-API-Key + a Map lookup (PERFORMANCE.md's floor of a cached check);
//   /library  Warden's ApiKeyVerifier.verify(key, {permissions}) from its cache, 401 unless valid;
//   /library-sync  the same through verifyCached() in a callback hook (verify() on a miss).
// The key is issued on a throw-away SQLite database and written to BENCH_KEYS_FILE (0600).
import { hash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import Fastify from 'fastify';
import { insertBenchAdmin, openBenchContext } from '../lib/warden-bench-server.mjs';
import { closeContext } from '../../dist/server/create-context.js';
import { pinTickObjectShape } from '../../dist/server/tick-object-shape.js';

// Like Warden's servers, so that the baseline never runs Node's slow nextTick path (bench/README.md).
pinTickObjectShape();

const context = await openBenchContext('keys-library');
const ownerId = await insertBenchAdmin(context);
const { key } = await context.apiKeys.service.create({ name: 'caller', ownerId, permissions: ['reports:read'] }, { actor: 'system' });
writeFileSync(process.env.BENCH_KEYS_FILE, JSON.stringify({ callerKey: key }), { mode: 0o600 });
// For bench/instructions-per-request.sh, which sends one header line read from a file.
if (process.env.BENCH_REQUEST_HEADER_FILE) writeFileSync(process.env.BENCH_REQUEST_HEADER_FILE, `X-API-Key: ${key}\n`, { mode: 0o600 });

const verifier = context.apiKeys.verifier;
const floorTable = new Map([[hash('sha256', key, 'base64url'), { permissions: ['reports:read'] }]]);
const needed = ['reports:read'];

const app = Fastify({ logger: false });
app.get('/ok', async () => ({ ok: true }));
app.get('/floor', {
  onRequest: (request, reply, done) => {
    const presented = request.headers['x-api-key'];
    const entry = typeof presented === 'string' ? floorTable.get(hash('sha256', presented, 'base64url')) : undefined;
    if (entry === undefined || !entry.permissions.includes('reports:read')) reply.code(401).send({ ok: false });
    else done();
  },
}, async () => ({ ok: true }));
app.get('/library', {
  onRequest: async (request, reply) => {
    const presented = request.headers['x-api-key'];
    const result = typeof presented === 'string' ? await verifier.verify(presented, { permissions: needed, ip: request.ip }) : undefined;
    if (result?.valid !== true) return reply.code(401).send({ ok: false });
  },
}, async () => ({ ok: true }));
app.get('/library-sync', {
  onRequest: (request, reply, done) => {
    const presented = request.headers['x-api-key'];
    if (typeof presented !== 'string') return void reply.code(401).send({ ok: false });
    const options = { permissions: needed, ip: request.ip };
    const settle = (result) => (result.valid ? done() : reply.code(401).send({ ok: false }));
    const quick = verifier.verifyCached(presented, options);
    if (quick !== undefined) settle(quick);
    else verifier.verify(presented, options).then(settle, done);
  },
}, async () => ({ ok: true }));
await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`LISTENING http://127.0.0.1:${app.server.address().port}`);
process.on('SIGTERM', () => app.close().then(() => closeContext(context)).then(() => process.exit(0)));
