import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { installErrorHandlers } from '../../src/http/error-handler.js';
import { hardening } from '../../src/http/hardening.js';
import { HttpMetrics } from '../../src/http/http-metrics.js';
import { rateLimits } from '../../src/ratelimit/rate-limit-plugin.js';
import { createRateLimitService } from '../../src/ratelimit/rate-limit-service.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

// A frozen clock: a fixed window's edge passing mid-test would reset the count it asserts on.
const FROZEN_NOW = 1_800_000_030_000;

/** Fastify with the rate-limit plugin (2 requests a minute per IP), with or without the hardening plugin. */
async function limitedApp(withHardening: boolean): Promise<FastifyInstance> {
  const instance = Fastify();
  installErrorHandlers(instance, () => []);
  if (withHardening) {
    await instance.register(hardening, {
      trustedHosts: ['api.example.com'],
      httpsRedirect: false,
      contentSecurityPolicy: "default-src 'self'",
      hstsMaxAge: 0,
      metrics: new HttpMetrics(),
    });
  }
  await instance.register(rateLimits, {
    service: createRateLimitService({ now: () => FROZEN_NOW }),
    defaultPolicies: [{ limit: 2, windowMs: 60_000, blockDurationMs: 0 }],
    authPolicies: [],
    algorithm: 'fixed-window',
  });
  instance.get('/healthz', async () => ({ status: 'ok' }));
  app = instance;
  return instance;
}

const host = { host: 'api.example.com' };

describe('the default rate limit on requests no route matches', () => {
  for (const withHardening of [true, false]) {
    it(`counts every unmatched path, never a matched route without a limit (${withHardening ? 'inside the hardening hook' : 'as its own hook'})`, async () => {
      const server = await limitedApp(withHardening);
      for (let i = 0; i < 5; i += 1) expect((await server.inject({ url: '/healthz', headers: host })).statusCode).toBe(200);
      const first = await server.inject({ url: '/.env', headers: host });
      expect(first.statusCode).toBe(404);
      expect(first.headers['ratelimit-policy']).toBe('"default-60s";q=2;w=60');
      expect((await server.inject({ method: 'POST', url: '/V1/keys', headers: host, payload: {} })).statusCode).toBe(404);
      const limited = await server.inject({ url: '//v1/users', headers: host });
      expect(limited.statusCode).toBe(429);
      expect(limited.json()).toMatchObject({ code: 'rate_limited' });
      expect((await server.inject({ url: '/healthz', headers: host })).statusCode).toBe(200);
    });
  }

  it('runs after the hardening checks: a refused Host is answered 400 and spends nothing', async () => {
    const server = await limitedApp(true);
    for (let i = 0; i < 4; i += 1) {
      const res = await server.inject({ url: '/nothing', headers: { host: 'evil.example.net' } });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'invalid_host' });
    }
    expect((await server.inject({ url: '/nothing', headers: host })).statusCode).toBe(404);
    expect((await server.inject({ url: '/nothing', headers: host })).statusCode).toBe(404);
    expect((await server.inject({ url: '/nothing', headers: host })).statusCode).toBe(429);
  });
});
