import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { authGuard } from '../../src/http/auth-guard.js';
import { ROUTE_MODULES, type RouteModule } from '../../src/server/routes/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

interface SeenRoute {
  readonly method: string;
  readonly url: string;
  readonly config: { public?: boolean; permission?: string; auth?: string } | undefined;
}

/** The only routes that may be reached without a credential (or that check their own). */
const ALLOWED_OPEN = new Set([
  'GET /healthz',
  'GET /livez',
  'GET /readyz',
  'GET /metrics',
  'GET /.well-known/jwks.json',
  'GET /.well-known/openid-configuration',
  'GET /.well-known/oauth-authorization-server',
  'POST /v1/auth/login',
  'POST /v1/auth/refresh',
  // OAuth endpoints authenticate the client themselves (client_secret_basic/post): RFC 6749,
  // RFC 7662 (introspection) and RFC 7009 (revocation).
  'POST /oauth/token',
  'POST /oauth/introspect',
  'POST /oauth/revoke',
]);

/** Every route module of the real service, plus a first module that records each route. */
function recordingModules(seen: SeenRoute[]): RouteModule[] {
  const recorder: RouteModule = async (app) => {
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const method of methods) if (method !== 'HEAD') seen.push({ method, url: route.url, config: route.config as SeenRoute['config'] });
    });
  };
  return [recorder, ...ROUTE_MODULES];
}

describe('route table walk', () => {
  let t: TestApp | undefined;
  afterEach(async () => t?.close());

  it('every route declares a permission or is one of the allowed public routes', async () => {
    const seen: SeenRoute[] = [];
    t = await createTestApp({ routes: recordingModules(seen) });
    expect(seen.length).toBeGreaterThan(10);
    const open: string[] = [];
    for (const route of seen) {
      const name = `${route.method} ${route.url}`;
      const config = route.config ?? {};
      if (config.public === true || config.auth !== undefined) {
        open.push(name);
        continue;
      }
      expect(config.permission, `${name} has no permission`).toMatch(/^(authenticated|[a-z][a-z0-9_.-]*:[a-z][a-z0-9_.-]*)$/);
    }
    expect(open.filter((name) => !ALLOWED_OPEN.has(name)), 'unexpected public routes').toEqual([]);
    // Every /v1 route of the authorization domain is present and guarded.
    const names = new Set(seen.map((r) => `${r.method} ${r.url}`));
    for (const name of [
      'GET /v1/roles',
      'POST /v1/roles',
      'GET /v1/roles/:name',
      'PATCH /v1/roles/:name',
      'DELETE /v1/roles/:name',
      'PUT /v1/users/:id/roles/:role',
      'DELETE /v1/users/:id/roles/:role',
      'GET /v1/users/:id/permissions',
      'POST /v1/authz/check',
      'POST /v1/authz/check/batch',
    ]) {
      expect(names.has(name), name).toBe(true);
    }
  });

  // The shared guard is a preHandler, so Fastify validates params and bodies before it runs:
  it('each guarded route refuses a request without a credential', async () => {
    const seen: SeenRoute[] = [];
    t = await createTestApp({ routes: recordingModules(seen) });
    for (const route of seen) {
      if (route.config?.public === true || route.config?.auth !== undefined) continue;
      const url = route.url.replace(/:[a-z_]+/gi, 'x1');
      const res = await t.app.inject({ method: route.method as 'GET', url, ...(['POST', 'PUT', 'PATCH'].includes(route.method) ? { payload: {} } : {}) });
      // The guard runs in onRequest, before params and body are validated: always exactly 401.
      expect(res.statusCode, `${route.method} ${url} answered ${res.statusCode}`).toBe(401);
      expect(res.json(), `${route.method} ${url}`).toMatchObject({ code: 'token_missing' });
    }
  });

  it('the guard refuses at start-up a route that declares neither public nor permission', async () => {
    const app = Fastify();
    await app.register(authGuard, { authenticators: [], authorize: async () => true });
    expect(() => app.get('/v1/forgotten', async () => 'open')).toThrow(/declares neither/);
    await app.close();
  });
});
