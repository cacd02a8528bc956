// A bare Fastify 5 route behind Warden's rate-limit plugin only (compiled code from dist/).
// RATELIMIT_STORE=memory|redis; the limit is high enough that every request is allowed, so
// the figure is the cost of one decision plus the two RateLimit headers per request.
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { rateLimits } from '../dist/ratelimit/rate-limit-plugin.js';
import { createRateLimitService } from '../dist/ratelimit/rate-limit-service.js';

const store = process.env.RATELIMIT_STORE ?? 'memory';
const redis =
  store === 'redis'
    ? new Redis(process.env.WARDEN_REDIS_URL ?? 'redis://127.0.0.1:6379/0', { enableAutoPipelining: true, maxRetriesPerRequest: 1, commandTimeout: 1000 })
    : undefined;
// Fail-closed refuses every decision until the connection is ready: wait, or the first requests are 503s.
await redis?.ping();
const service = createRateLimitService({ redis, keyPrefix: `warden-bench:${process.pid}:`, failurePolicy: 'fail-closed' });
const app = Fastify({ logger: false });
await app.register(rateLimits, {
  service,
  defaultPolicies: [{ limit: 1_000_000_000, windowMs: 60_000, blockDurationMs: 0 }],
  authPolicies: [],
  algorithm: process.env.RATELIMIT_ALGORITHM ?? 'sliding-window',
});
app.get('/v1/ok', async () => ({ ok: true }));
await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`LISTENING http://127.0.0.1:${app.server.address().port}/v1/ok`);
process.on('SIGTERM', () => app.close().then(() => { redis?.disconnect(); process.exit(0); }));
