// Baseline: a bare Fastify 5 route returning {"ok":true}, no plugins.
import Fastify from 'fastify';
import { pinTickObjectShape } from '../../dist/server/tick-object-shape.js';

// Like Warden's servers, so that the baseline never runs Node's slow nextTick path (bench/README.md).
pinTickObjectShape();

const app = Fastify({ logger: false });
app.get('/ok', async () => ({ ok: true }));
app.get('/healthz', async () => ({ status: 'ok' }));
await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`LISTENING http://127.0.0.1:${app.server.address().port}`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
