import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import { healthRoutes } from '../../src/http/health.js';
import { rateLimitRoutes } from '../../src/ratelimit/rate-limit-routes.js';
import type { RouteModule } from '../../src/server/routes/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { appWithTestPrincipals } from './fixtures/test-principals.js';

// Only the routes under test (the service's other modules are other domains' business).
const testRoutes: RouteModule = async (app, context) => {
  await app.register(healthRoutes, { checks: {} });
  await rateLimitRoutes(app, context.rateLimits);
  app.get('/v1/ping', { config: { public: true } }, async () => ({ ok: true }));
  app.post('/v1/auth/login', { config: { public: true } }, async () => ({ ok: true }));
  app.get('/v1/whoami', { config: { public: true, rateLimit: false } }, async (request) => ({ ip: request.ip }));
  app.get('/v1/shared', { config: { public: true, rateLimit: { key: 'route', policies: [{ limit: 2, windowMs: 60_000, blockDurationMs: 0 }] } } }, async () => ({ ok: true }));
  app.get(
    '/v1/tenant',
    {
      config: {
        public: true,
        rateLimit: { key: (request) => (typeof request.headers['x-tenant'] === 'string' ? request.headers['x-tenant'] : undefined), cost: 2, policies: [{ limit: 4, windowMs: 60_000, blockDurationMs: 0, algorithm: 'token-bucket' }] },
      },
    },
    async () => ({ ok: true }),
  );
  app.get('/v1/unlimited', { config: { public: true, rateLimit: false } }, async () => ({ ok: true }));
  app.route({
    method: ['GET', 'POST'],
    url: '/v1/both',
    config: { public: true, rateLimit: { key: 'route', policies: [{ limit: 1, windowMs: 60_000, blockDurationMs: 0 }] } },
    handler: async () => ({ ok: true }),
  });
  app.get(
    '/v1/per-user',
    { config: { permission: 'authenticated', rateLimit: { key: 'user', policies: [{ limit: 2, windowMs: 60_000, blockDurationMs: 0 }] } } },
    async () => ({ ok: true }),
  );
};

let t: TestApp;
afterEach(async () => {
  await t.close();
});

async function start(env: Record<string, string>): Promise<TestApp> {
  t = await appWithTestPrincipals(env, [testRoutes]);
  return t;
}

/** The status of a GET sent over a unix socket. */
function statusOverSocket(socketPath: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, path, headers: { host: 'localhost' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP rate limits', () => {
  it('applies the default limit to /v1 routes with RateLimit-Policy/RateLimit headers, then 429 problem+json', async () => {
    // The default algorithm (sliding-window): a fixed window's edge could pass mid-test and reset the count.
    await start({ WARDEN_RATELIMIT_DEFAULT: '3/60s' });
    for (let i = 0; i < 3; i += 1) {
      const ok = await t.app.inject({ url: '/v1/ping' });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['ratelimit-policy']).toBe('"default-60s";q=3;w=60');
      expect(ok.headers.ratelimit).toMatch(new RegExp(`^"default-60s";r=${2 - i};t=\\d+$`));
    }
    const limited = await t.app.inject({ url: '/v1/ping' });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toContain('application/problem+json');
    expect(limited.json()).toMatchObject({ code: 'rate_limited', status: 429 });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    // A sliding window weighs the full window just ended: with 3 counted, the next request fits
    // once a third of the following window has passed, so the wait is at most 60 s + 20 s.
    expect(retryAfter).toBeLessThanOrEqual(80);
    expect(limited.headers['ratelimit-policy']).toBe('"default-60s";q=3;w=60');
    expect(limited.headers.ratelimit).toMatch(/^"default-60s";r=0;t=\d+$/);
    // Unmatched paths count against the same budget (route probing is limited too), whatever
    // their spelling or prefix.
    expect((await t.app.inject({ url: '/v1/nothing-here' })).statusCode).toBe(429);
    expect((await t.app.inject({ url: '/V1/nothing-here' })).statusCode).toBe(429);
    expect((await t.app.inject({ url: '//v1/ping' })).statusCode).toBe(429);
    expect((await t.app.inject({ url: '/.env' })).statusCode).toBe(429);
  });

  it('limits callers without an address (a unix-socket listener) as one shared client, not with errors', async () => {
    await start({ WARDEN_RATELIMIT_DEFAULT: '2/60s' });
    const dir = await mkdtemp(join(tmpdir(), 'warden-sock-'));
    const socketPath = join(dir, 'warden.sock');
    await t.app.listen({ path: socketPath });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i += 1) statuses.push(await statusOverSocket(socketPath, '/v1/ping'));
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('several limits on one route: the first exhausted one denies, and both are advertised', async () => {
    await start({ WARDEN_RATELIMIT_DEFAULT: '2/1s, 3/1h', WARDEN_RATELIMIT_ALGORITHM: 'sliding-log' });
    const first = await t.app.inject({ url: '/v1/ping' });
    expect(first.headers['ratelimit-policy']).toBe('"default-1s";q=2;w=1, "default-3600s";q=3;w=3600');
    expect(first.headers.ratelimit).toMatch(/^"default-1s";r=1;t=\d+, "default-3600s";r=2;t=\d+$/);
    expect((await t.app.inject({ url: '/v1/ping' })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/v1/ping' })).statusCode).toBe(429);
  });

  it('gives the auth routes their own stricter limit', async () => {
    await start({ WARDEN_RATELIMIT_DEFAULT: '100/60s', WARDEN_RATELIMIT_AUTH: '2/60s block 5m' });
    expect((await t.app.inject({ method: 'POST', url: '/v1/auth/login' })).statusCode).toBe(200);
    const second = await t.app.inject({ method: 'POST', url: '/v1/auth/login' });
    expect(second.headers['ratelimit-policy']).toBe('"auth-60s";q=2;w=60');
    const third = await t.app.inject({ method: 'POST', url: '/v1/auth/login' });
    expect(third.statusCode).toBe(429);
    // The block (5 minutes) outlasts the window (1 minute).
    expect(Number(third.headers['retry-after'])).toBe(300);
    expect((await t.app.inject({ url: '/v1/ping' })).statusCode).toBe(200);
  });

  it('exempts health and routes marked rateLimit: false; /metrics has a per-IP budget of its own', async () => {
    await start({ WARDEN_RATELIMIT_DEFAULT: '1/60s' });
    for (let i = 0; i < 3; i += 1) {
      const health = await t.app.inject({ url: '/healthz' });
      expect(health.statusCode).toBe(200);
      expect(health.headers['ratelimit-policy']).toBeUndefined();
      expect((await t.app.inject({ url: '/v1/unlimited' })).statusCode).toBe(200);
    }
    // /metrics authenticates its caller: the default policies, per IP, on a budget apart from /v1's.
    const metrics = await t.app.inject({ url: '/metrics' });
    expect(metrics.statusCode).toBe(401);
    expect(metrics.headers['ratelimit-policy']).toBe('"default:GET /metrics-60s";q=1;w=60');
    expect((await t.app.inject({ url: '/metrics' })).statusCode).toBe(429);
    expect((await t.app.inject({ url: '/v1/ping' })).statusCode).toBe(200);
  });

  it('gives each method of a multi-method route its own budget under a route policy', async () => {
    await start({ WARDEN_RATELIMIT_DEFAULT: '100/60s' });
    expect((await t.app.inject({ url: '/v1/both' })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/v1/both' })).statusCode).toBe(429);
    const post = await t.app.inject({ method: 'POST', url: '/v1/both' });
    expect(post.statusCode).toBe(200);
    expect(post.headers['ratelimit-policy']).toMatch(/^"route:POST \/v1\/both-60s";q=1;w=60$/);
    expect((await t.app.inject({ method: 'POST', url: '/v1/both' })).statusCode).toBe(429);
  });

  it('keys by client IP, grouping IPv6 by /64', async () => {
    await start({ WARDEN_RATELIMIT_DEFAULT: '1/60s' });
    const from = (remoteAddress: string) => t.app.inject({ url: '/v1/ping', remoteAddress });
    expect((await from('2001:db8:1:2::1')).statusCode).toBe(200);
    expect((await from('2001:db8:1:2:ffff::9')).statusCode).toBe(429);
    expect((await from('2001:db8:1:3::1')).statusCode).toBe(200);
    expect((await from('192.0.2.1')).statusCode).toBe(200);
    expect((await from('::ffff:192.0.2.1')).statusCode).toBe(429);
  });

  it('keys by route (one budget for every caller) or by a custom function, with a per-route cost', async () => {
    await start({ WARDEN_RATELIMIT_DEFAULT: '100/60s' });
    expect((await t.app.inject({ url: '/v1/shared', remoteAddress: '192.0.2.1' })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/v1/shared', remoteAddress: '192.0.2.2' })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/v1/shared', remoteAddress: '192.0.2.3' })).statusCode).toBe(429);
    const tenant = (name: string, remoteAddress: string) => t.app.inject({ url: '/v1/tenant', remoteAddress, headers: { 'x-tenant': name } });
    expect((await tenant('acme', '192.0.2.1')).statusCode).toBe(200);
    expect((await tenant('acme', '192.0.2.2')).statusCode).toBe(200);
    // Cost 2 against a bucket of 4: the third request of the tenant is denied, from any address.
    expect((await tenant('acme', '192.0.2.3')).statusCode).toBe(429);
    expect((await tenant('globex', '192.0.2.1')).statusCode).toBe(200);
  });

  it('honours the trust-proxy setting for the client IP', async () => {
    await start({ WARDEN_RATELIMIT_DEFAULT: '1/60s', WARDEN_TRUST_PROXY: 'loopback' });
    const via = (client: string) => t.app.inject({ url: '/v1/ping', headers: { 'x-forwarded-for': client } });
    expect((await via('198.51.100.1')).statusCode).toBe(200);
    expect((await via('198.51.100.2')).statusCode).toBe(200);
    expect((await via('198.51.100.1')).statusCode).toBe(429);
  });

  it('keys a route by user after authentication, while the per-IP limit still runs first', async () => {
    await start({ WARDEN_RATELIMIT_DEFAULT: '5/60s' });
    const as = (user: string) => t.app.inject({ url: '/v1/per-user', headers: { 'x-test-user': user } });
    expect((await as('alice')).statusCode).toBe(200);
    expect((await as('alice')).statusCode).toBe(200);
    const denied = await as('alice');
    expect(denied.statusCode).toBe(429);
    // Both plans' policies apply, and both are listed: per IP, then per caller.
    expect(denied.headers['ratelimit-policy']).toBe('"default-60s";q=5;w=60, "route:GET /v1/per-user-60s";q=2;w=60');
    expect((await as('bob')).statusCode).toBe(200);
    // 4 requests so far from this IP; the 5th passes the IP limit, the 6th does not even authenticate.
    expect((await t.app.inject({ url: '/v1/per-user' })).statusCode).toBe(401);
    expect((await t.app.inject({ url: '/v1/per-user' })).statusCode).toBe(429);
  });

  it('denies a request whose limiter fails, whether it fails at once (in-memory counters) or later (a store that waits)', async () => {
    let handled = 0;
    const failing: RouteModule = async (app, context) => {
      const limiterOf = context.rateLimits.limiter.bind(context.rateLimits);
      // A store that breaks: one limiter throws while deciding synchronously, one rejects.
      context.rateLimits.limiter = (policy) => {
        const real = limiterOf(policy);
        if (policy.name.includes('/v1/fails-now')) return { ...real, limitNow: () => { throw new Error('counter store exploded'); } };
        if (policy.name.includes('/v1/fails-later')) return { limit: async () => { throw new Error('counter store exploded'); }, reset: real.reset };
        return real;
      };
      const policies = [{ limit: 5, windowMs: 60_000, blockDurationMs: 0 }];
      app.get('/v1/fails-now', { config: { public: true, rateLimit: { policies } } }, async () => ({ handled: ++handled }));
      app.get('/v1/fails-later', { config: { public: true, rateLimit: { policies } } }, async () => ({ handled: ++handled }));
      app.get('/v1/works', { config: { public: true, rateLimit: { policies } } }, async () => ({ handled: ++handled }));
    };
    t = await createTestApp({ env: {}, routes: [failing] });
    for (const url of ['/v1/fails-now', '/v1/fails-later']) {
      const denied = await t.app.inject({ url });
      expect(denied.statusCode).toBe(500);
      expect(denied.headers['content-type']).toContain('application/problem+json');
      expect(denied.body).not.toContain('exploded');
    }
    expect(handled).toBe(0);
    const works = await t.app.inject({ url: '/v1/works' });
    expect(works.statusCode).toBe(200);
    expect(works.headers.ratelimit).toMatch(/;r=4;t=\d+$/);
    expect(handled).toBe(1);
  });

  it('records a sampled ratelimit.blocked audit event without the counter key, and counts decisions', async () => {
    await start({ WARDEN_RATELIMIT_DEFAULT: '1/60s', WARDEN_METRICS_TOKEN: 'm3tr1cs-T0ken-ThatIsLongEnough-9f8e7d6c5b4a' });
    const events: AuditEventInput[] = [];
    t.context.audit = { record: async (event) => void events.push(event) };
    await t.app.inject({ url: '/v1/ping' });
    await t.app.inject({ url: '/v1/ping' });
    await t.app.inject({ url: '/v1/ping' });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'ratelimit.blocked', outcome: 'denied', actor: 'anonymous', ip: '127.0.0.1' });
    expect(events[0]?.details).toEqual({ route: '/v1/ping', policies: ['default-60s'], key_kind: 'ip' });
    const metrics = await t.app.inject({ url: '/metrics', headers: { authorization: 'Bearer m3tr1cs-T0ken-ThatIsLongEnough-9f8e7d6c5b4a' } });
    expect(metrics.body).toContain('warden_ratelimit_decisions_total{policy="default-60s",route="/v1/ping",outcome="allowed"} 1');
    expect(metrics.body).toContain('warden_ratelimit_decisions_total{policy="default-60s",route="/v1/ping",outcome="limited"} 2');
  });
});

describe('POST /v1/ratelimit', () => {
  const check = (body: unknown, user = 'svc;ratelimit:check') =>
    t.app.inject({ method: 'POST', url: '/v1/ratelimit', headers: { 'x-test-user': user }, payload: body as object });

  it('decides for other applications, per namespace and identifier', async () => {
    await start({ WARDEN_RATELIMIT_DEFAULT: '1/60s' });
    const body = { identifier: 'customer-42', limit: 2, window_ms: 60_000, namespace: 'emails' };
    const first = await check(body);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ allowed: true, limit: 2, remaining: 1, retry_after_ms: 0 });
    expect((await check(body)).json()).toMatchObject({ allowed: true, remaining: 0 });
    const denied = (await check(body)).json() as { allowed: boolean; retry_after_ms: number; reset_ms: number };
    expect(denied.allowed).toBe(false);
    expect(denied.retry_after_ms).toBeGreaterThan(0);
    expect((await check({ ...body, namespace: 'sms' })).json()).toMatchObject({ allowed: true });
    expect((await check({ identifier: 'x', limit: 5, window_ms: 1000, cost: 5, algorithm: 'token-bucket' })).json()).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('gives each policy on one identifier a counter of its own: another window neither drains nor resets it', async () => {
    await start({});
    // Sliding windows: a fixed window's edge could pass mid-test and reset a count.
    const hourly = { identifier: 'user-42', limit: 2, window_ms: 3_600_000, algorithm: 'sliding-window' };
    expect((await check(hourly)).json()).toMatchObject({ allowed: true, remaining: 1 });
    expect((await check(hourly)).json()).toMatchObject({ allowed: true, remaining: 0 });
    // Another caller's policy on the same identifier: a shorter window, another limit.
    expect((await check({ ...hourly, window_ms: 60_000 })).json()).toMatchObject({ allowed: true, remaining: 1 });
    expect((await check({ ...hourly, limit: 3 })).json()).toMatchObject({ allowed: true, remaining: 2 });
    expect((await check(hourly)).json()).toMatchObject({ allowed: false, remaining: 0 });
    // Identifiers that spell the policy or the key's separators stay identifiers of their own.
    for (const identifier of ['2:3600000:user-42', 'user-42}:sliding-window', '{svc:default:user-42}', 'user-42\u0000', 'sliding-window:2:3600000:11:svc:default:user-42']) {
      expect((await check({ ...hourly, identifier })).json()).toMatchObject({ allowed: true, remaining: 1 });
    }
  });

  it('requires ratelimit:check and a strict body', async () => {
    await start({});
    const body = { identifier: 'a', limit: 1, window_ms: 1000 };
    expect((await t.app.inject({ method: 'POST', url: '/v1/ratelimit', payload: body })).statusCode).toBe(401);
    expect((await check(body, 'svc;keys:read')).statusCode).toBe(403);
    expect((await check({ ...body, extra: 1 })).statusCode).toBe(400);
    expect((await check({ ...body, limit: '1' })).statusCode).toBe(400);
    expect((await check({ ...body, window_ms: 0 })).statusCode).toBe(400);
    expect((await check({ ...body, identifier: 'x'.repeat(257) })).statusCode).toBe(400);
    expect((await check({ ...body, identifier: 'x'.repeat(256) })).statusCode).toBe(200);
    expect((await check({ ...body, limit: 5000, algorithm: 'sliding-log' })).json()).toMatchObject({ code: 'validation_failed' });
  });
});
