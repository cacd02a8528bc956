// The floor of issue 2's target: bare Fastify that sends exactly Warden's security header
// table (same names and values, set in one callback onRequest hook) and nothing else: no
// request id, host check, metrics, log hook or rate limit.
import Fastify from 'fastify';
import { securityHeaderTable } from '../../dist/http/security-headers.js';
import { pinTickObjectShape } from '../../dist/server/tick-object-shape.js';

// Like Warden's servers, so that the baseline never runs Node's slow nextTick path (bench/README.md).
pinTickObjectShape();

const headers = securityHeaderTable({ contentSecurityPolicy: "default-src 'self'; frame-ancestors 'none'", hstsMaxAge: 0 });
const app = Fastify({ logger: false });
app.addHook('onRequest', (request, reply, done) => {
  reply.headers(headers);
  done();
});
app.get('/ok', async () => ({ ok: true }));
app.get('/healthz', async () => ({ status: 'ok' }));
await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`LISTENING http://127.0.0.1:${app.server.address().port}`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
