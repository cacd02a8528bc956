import Fastify, { type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { hardening, hardeningHeaders, HttpMetrics, securityHeaderTable } from '../../src/http/index.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** The settings the service runs with when nothing is configured (development). */
function developmentDefaults() {
  return loadSettings({ env: {}, envFile: false, generateDevSecrets: false }).settings;
}

/** A bare Fastify app (no buildApp) with the plugin registered as a library user would. */
async function bareApp(register: (instance: FastifyInstance) => PromiseLike<unknown>, options: { trustProxy?: boolean } = {}): Promise<FastifyInstance> {
  const instance = Fastify({ trustProxy: options.trustProxy === true });
  await register(instance);
  instance.get('/hello', async () => ({ hello: 'world' }));
  instance.post('/hello', async () => ({ posted: true }));
  app = instance;
  return instance;
}

describe('the hardening plugin of warden/http without options', () => {
  it('registers on a bare Fastify app with no options at all, or {}, and sets the security headers', async () => {
    for (const register of [(i: FastifyInstance) => i.register(hardening), (i: FastifyInstance) => i.register(hardening, {})]) {
      const instance = await bareApp(register);
      const response = await instance.inject({ url: '/hello' });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ hello: 'world' });
      expect(response.headers).toMatchObject({
        'content-security-policy': "default-src 'self'; frame-ancestors 'none'",
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-store',
      });
      expect(response.headers['x-request-id']).toBeDefined();
      // No CORS unless asked for.
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
      await instance.close();
      app = undefined;
    }
  });

  it('behaves as the service does in development: any Host, no redirect, HSTS of a year over HTTPS only', async () => {
    const instance = await bareApp((i) => i.register(hardening), { trustProxy: true });
    const anyHost = await instance.inject({ method: 'POST', url: '/hello', headers: { host: 'whatever.example:8080' } });
    expect(anyHost.statusCode).toBe(200);
    expect(anyHost.headers.location).toBeUndefined();
    expect(anyHost.headers['strict-transport-security']).toBeUndefined();
    const https = await instance.inject({ url: '/hello', headers: { 'x-forwarded-proto': 'https' } });
    expect(https.headers['strict-transport-security']).toBe(`max-age=${developmentDefaults().hstsMaxAge}; includeSubDomains`);
  });

  it('records metrics only when given a HttpMetrics', async () => {
    const metrics = new HttpMetrics();
    const registry = new Registry();
    metrics.register(registry);
    const instance = await bareApp((i) => i.register(hardening, { metrics }));
    await instance.inject({ url: '/hello' });
    expect(await registry.metrics()).toContain('warden_http_requests_total{method="GET",route="/hello",status="200"} 1');
    await instance.close();
    // Without one, nothing is recorded and nothing fails.
    const bare = await bareApp((i) => i.register(hardening));
    expect((await bare.inject({ url: '/hello' })).statusCode).toBe(200);
  });

  it('hardeningHeaders() and securityHeaderTable() default to the header table of the service in development', () => {
    const defaults = developmentDefaults();
    const service = hardeningHeaders({ contentSecurityPolicy: defaults.contentSecurityPolicy, hstsMaxAge: defaults.hstsMaxAge });
    expect(hardeningHeaders()).toEqual(service);
    expect(hardeningHeaders({})).toEqual(service);
    expect(securityHeaderTable()).toEqual(service);
  });
});
