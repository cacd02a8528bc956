// bare-fastify-headers.mjs with the table written by Warden's header-block response class
// (src/http/header-block-response.ts) instead of set per request: what the headers cost
// when Node does not validate and serialise them one by one on every response.
import Fastify from 'fastify';
import { headerBlockResponse } from '../../dist/http/header-block-response.js';
import { securityHeaderTable } from '../../dist/http/security-headers.js';
import { pinTickObjectShape } from '../../dist/server/tick-object-shape.js';

pinTickObjectShape();

const headers = securityHeaderTable({ contentSecurityPolicy: "default-src 'self'; frame-ancestors 'none'", hstsMaxAge: 0 });
const app = Fastify({ logger: false, http: { ServerResponse: headerBlockResponse(headers) } });
app.get('/ok', async () => ({ ok: true }));
app.get('/healthz', async () => ({ status: 'ok' }));
await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`LISTENING http://127.0.0.1:${app.server.address().port}`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
