import { afterEach, describe, expect, it } from 'vitest';
import type { RouteModule } from '../../src/server/routes/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function start(routes: RouteModule, env: Record<string, string> = {}): Promise<TestApp> {
  t = await createTestApp({ env: { WARDEN_RATELIMIT_DEFAULT: '100/60s', ...env }, routes: [routes] });
  return t;
}

describe('per-route rate-limit plans: hostile cases', () => {
  it('charges HEAD (which Fastify answers with the GET handler) to the GET budget of a route', async () => {
    const app = await start(async (server) => {
      server.get('/v1/report', { config: { public: true, rateLimit: { key: 'route', policies: [{ limit: 2, windowMs: 60_000, blockDurationMs: 0 }] } } }, async () => ({ ok: true }));
    });
    expect((await app.app.inject({ url: '/v1/report' })).statusCode).toBe(200);
    expect((await app.app.inject({ method: 'HEAD', url: '/v1/report' })).statusCode).toBe(200);
    expect((await app.app.inject({ method: 'HEAD', url: '/v1/report' })).statusCode).toBe(429);
    expect((await app.app.inject({ url: '/v1/report' })).statusCode).toBe(429);
  });

  it('keeps two policies of one route apart even when their windows round to the same second', async () => {
    const app = await start(async (server) => {
      server.get(
        '/v1/burst',
        {
          config: {
            public: true,
            rateLimit: {
              policies: [
                { limit: 2, windowMs: 400, blockDurationMs: 0, algorithm: 'sliding-log' },
                { limit: 10, windowMs: 1000, blockDurationMs: 0, algorithm: 'sliding-log' },
              ],
            },
          },
        },
        async () => ({ ok: true }),
      );
    });
    const first = await app.app.inject({ url: '/v1/burst' });
    expect(first.statusCode).toBe(200);
    const names = [...String(first.headers['ratelimit-policy']).matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(names).size).toBe(2);
    // Sharing one counter, each request would be charged twice and the second denied.
    expect((await app.app.inject({ url: '/v1/burst' })).statusCode).toBe(200);
    expect((await app.app.inject({ url: '/v1/burst' })).statusCode).toBe(429);
  });

  it('charges an anonymous caller of a caller-keyed route (default policy) once, not twice', async () => {
    const app = await start(
      async (server) => {
        server.get('/v1/optional-auth', { config: { public: true, rateLimit: { key: 'user' } } }, async () => ({ ok: true }));
      },
      { WARDEN_RATELIMIT_DEFAULT: '3/60s' },
    );
    for (let i = 0; i < 3; i += 1) expect((await app.app.inject({ url: '/v1/optional-auth' })).statusCode).toBe(200);
    expect((await app.app.inject({ url: '/v1/optional-auth' })).statusCode).toBe(429);
  });

  for (const cost of [0, -1, 1.5, Number.NaN]) {
    it(`refuses a route cost of ${cost} when the route is registered, not per request`, async () => {
      await expect(
        start(async (server) => {
          server.get('/v1/free', { config: { public: true, rateLimit: { cost } } }, async () => ({ ok: true }));
        }),
      ).rejects.toThrow(/cost/);
    });
  }
});
