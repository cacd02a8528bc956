import { afterEach, describe, expect, it } from 'vitest';
import { rateLimitRoutes } from '../../src/ratelimit/rate-limit-routes.js';
import type { RouteModule } from '../../src/server/routes/index.js';
import type { TestApp } from '../helpers/app.js';
import { appWithTestPrincipals } from './fixtures/test-principals.js';

const testRoutes: RouteModule = async (app, context) => {
  await rateLimitRoutes(app, context.rateLimits);
  app.get(
    '/v1/per-user',
    { config: { permission: 'authenticated', rateLimit: { key: 'user', policies: [{ limit: 100, windowMs: 60_000, blockDurationMs: 0 }] } } },
    async () => ({ ok: true }),
  );
  app.get('/v1/per-user-default', { config: { permission: 'authenticated', rateLimit: { key: 'user' } } }, async () => ({ ok: true }));
};

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function start(env: Record<string, string>): Promise<TestApp> {
  t = await appWithTestPrincipals(env, [testRoutes]);
  return t;
}

describe('HTTP rate limits: forbidden callers, two plans, service sliding logs', () => {
  // POST /v1/ratelimit spends no per-IP budget for the callers allowed to use it; one that fails
  // authentication (401) or authenticates without ratelimit:check (403) spends the failed_auth
  // budget, else any credential of the deployment could send unlimited checks from one address.
  it('limits an authenticated caller without ratelimit:check on POST /v1/ratelimit', async () => {
    const app = await start({ WARDEN_RATELIMIT_DEFAULT: '3/60s' });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const response = await app.app.inject({
        method: 'POST',
        url: '/v1/ratelimit',
        headers: { 'x-test-user': 'mallory;users:read' },
        payload: { identifier: 'a', limit: 1, window_ms: 1000 },
      });
      statuses.push(response.statusCode);
    }
    expect(statuses.slice(0, 3)).toEqual([403, 403, 403]);
    expect(statuses).toContain(429);
  });

  // Every policy that applies is listed (draft-ietf-httpapi-ratelimit-headers): a route with a
  // caller-keyed limit has two plans (per IP before authentication, per caller after), and the
  // second adds its items to the first's instead of replacing them.
  it('advertises the per-IP policy too on a route with a caller-keyed limit', async () => {
    const app = await start({ WARDEN_RATELIMIT_DEFAULT: '2/60s' });
    const ok = await app.app.inject({ url: '/v1/per-user', headers: { 'x-test-user': 'alice' } });
    expect(ok.statusCode).toBe(200);
    expect(String(ok.headers['ratelimit-policy'])).toContain('"default-60s";q=2');
    expect(String(ok.headers['ratelimit-policy']).split(', ')).toHaveLength(2);
    expect(String(ok.headers.ratelimit).split(', ')).toHaveLength(2);
    // Without policies of its own the caller's budget has the default's: it is listed under a
    // name of its own, since one name must not stand for two budgets.
    const plain = await app.app.inject({ url: '/v1/per-user-default', headers: { 'x-test-user': 'alice' } });
    expect(plain.headers['ratelimit-policy']).toBe('"default-60s";q=2;w=60, "default-user-60s";q=2;w=60');
    expect(plain.headers.ratelimit).toMatch(/^"default-60s";r=0;t=\d+, "default-user-60s";r=1;t=\d+$/);
  });

  // A sliding log keeps an entry per unit of cost for its whole window, in the Redis that holds
  // Warden's own lockouts too: a service check may not pin them for a month.
  it('refuses a service sliding log longer than a day', async () => {
    const app = await start({});
    const check = (window_ms: number, algorithm: string) =>
      app.app.inject({ method: 'POST', url: '/v1/ratelimit', headers: { 'x-test-user': 'svc;ratelimit:check' }, payload: { identifier: 'a', limit: 10, window_ms, algorithm } });
    expect((await check(86_400_000 + 1, 'sliding-log')).json()).toMatchObject({ status: 400, code: 'validation_failed', field: 'body.window_ms' });
    expect((await check(86_400_000, 'sliding-log')).json()).toMatchObject({ allowed: true });
    expect((await check(31 * 86_400_000, 'sliding-window')).json()).toMatchObject({ allowed: true });
  });

  // A cost over the limit can never fit, and with a block it would start the block: a caller
  // choosing the cost could lock an identifier out with one request.
  it('refuses a cost above the limit with 400, changing nothing', async () => {
    const app = await start({});
    const check = (cost: number) =>
      app.app.inject({ method: 'POST', url: '/v1/ratelimit', headers: { 'x-test-user': 'svc;ratelimit:check' }, payload: { identifier: 'b', limit: 3, window_ms: 60_000, cost } });
    expect((await check(4)).json()).toMatchObject({ status: 400, code: 'validation_failed', field: 'body.cost' });
    expect((await check(3)).json()).toMatchObject({ allowed: true, remaining: 0 });
  });
});
