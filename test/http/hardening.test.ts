import net, { type AddressInfo } from 'node:net';
import { Type } from '@sinclair/typebox';
import type { InjectOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { WardenError } from '../../src/errors/index.js';
import { hostileUrlPart, isHostilePath } from '../../src/http/request-guards.js';
import { ROUTE_MODULES, type RouteModule } from '../../src/server/routes/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

/** A JSON route with a strict schema, and a route that fails, to exercise the shared layers. */
const probeRoutes: RouteModule = async (app) => {
  app.post(
    '/v1/probe',
    {
      config: { public: true },
      schema: {
        body: Type.Object({ name: Type.String({ maxLength: 50 }), count: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
      },
    },
    async (request) => ({ echoed: request.body }),
  );
  app.post(
    '/v1/probe/guarded',
    {
      config: { permission: 'probe:write' },
      schema: { body: Type.Object({ count: Type.Integer() }, { additionalProperties: false }) },
    },
    async () => ({ ok: true }),
  );
  app.get('/v1/probe/hello', { config: { public: true } }, async () => ({ hello: 'world' }));
  app.get('/v1/probe/crash', { config: { public: true } }, async () => {
    throw new Error('database password=hunter2 leaked in a driver message');
  });
  app.get('/v1/probe/denied', { config: { public: true } }, async () => {
    throw new WardenError('rate_limited', 'Slow down', { headers: { 'retry-after': '7' } });
  });
};

/** Sends a GET with the path exactly as given (no client-side normalisation). */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('end', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), body });
    });
  });
}

let t: TestApp;
afterEach(async () => {
  await t.close();
});

async function build(env: Record<string, string> = {}): Promise<TestApp> {
  t = await createTestApp({ env, routes: [...ROUTE_MODULES, probeRoutes] });
  return t;
}

function expectProblem(response: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number, code: string): Record<string, unknown> {
  expect(response.statusCode).toBe(status);
  expect(String(response.headers['content-type'])).toMatch(/^application\/problem\+json/);
  const body = response.json() as Record<string, unknown>;
  expect(body).toMatchObject({ status, code });
  expect(typeof body.type).toBe('string');
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  return body;
}

describe('security headers', () => {
  it('are on every response, errors included, without X-Powered-By', async () => {
    await build();
    for (const url of ['/healthz', '/nope', '/a/../b']) {
      const response = await t.app.inject({ url });
      expect(response.headers['content-security-policy']).toBe("default-src 'self'; frame-ancestors 'none'");
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
      expect(response.headers['permissions-policy']).toContain('camera=()');
      expect(response.headers['cross-origin-opener-policy']).toBe('same-origin');
      expect(response.headers['cross-origin-resource-policy']).toBe('same-origin');
      expect(response.headers['x-powered-by']).toBeUndefined();
      expect(response.headers['x-request-id']).toBeTruthy();
      expect(response.headers['cache-control']).toBe('no-store');
    }
  });

  it('send HSTS only over HTTPS, as reported by a trusted proxy', async () => {
    await build({ WARDEN_TRUST_PROXY: '127.0.0.1' });
    const plain = await t.app.inject({ url: '/healthz' });
    expect(plain.headers['strict-transport-security']).toBeUndefined();
    const viaProxy = await t.app.inject({ url: '/healthz', headers: { 'x-forwarded-proto': 'https' } });
    expect(viaProxy.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  });

  it('ignore X-Forwarded-Proto from an untrusted client', async () => {
    await build();
    const spoofed = await t.app.inject({ url: '/healthz', headers: { 'x-forwarded-proto': 'https' } });
    expect(spoofed.headers['strict-transport-security']).toBeUndefined();
  });

  it('use the configured CSP', async () => {
    await build({ WARDEN_CSP: "default-src 'none'; frame-ancestors 'none'" });
    const response = await t.app.inject({ url: '/healthz' });
    expect(response.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
  });
});

describe('CORS', () => {
  it('sends no CORS headers by default', async () => {
    await build();
    const response = await t.app.inject({ url: '/healthz', headers: { origin: 'https://evil.example' } });
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows exactly the listed origins, with credentials, and caches preflight', async () => {
    await build({ WARDEN_CORS_ORIGINS: 'https://app.example.com' });
    const allowed = await t.app.inject({ url: '/healthz', headers: { origin: 'https://app.example.com' } });
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(allowed.headers['access-control-allow-credentials']).toBe('true');
    const other = await t.app.inject({ url: '/healthz', headers: { origin: 'https://app.example.com.evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/v1/probe',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-max-age']).toBe('600');
    expect(String(preflight.headers['access-control-allow-methods'])).not.toContain('TRACE');
  });

  it('says Vary: Origin on every response under an allowlist, and exposes the rate-limit and request-id headers', async () => {
    await build({ WARDEN_CORS_ORIGINS: 'https://app.example.com' });
    const withoutOrigin = await t.app.inject({ url: '/healthz' });
    expect(withoutOrigin.headers.vary).toBe('Origin');
    expect(withoutOrigin.headers['access-control-allow-origin']).toBeUndefined();
    const allowed = await t.app.inject({ url: '/healthz', headers: { origin: 'https://app.example.com' } });
    expect(allowed.headers.vary).toBe('Origin');
    expect(String(allowed.headers['access-control-expose-headers'])).toContain('RateLimit');
    expect(String(allowed.headers['access-control-expose-headers'])).toContain('X-Request-Id');
  });

  it('answers a preflight before authentication, on any path, with the allowed methods and headers only', async () => {
    await build({ WARDEN_CORS_ORIGINS: 'https://app.example.com' });
    for (const url of ['/v1/probe/guarded', '/v1/keys', '/v1/no-such-route']) {
      const preflight = await t.app.inject({
        method: 'OPTIONS',
        url,
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
      });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.body).toBe('');
      expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(preflight.headers['access-control-allow-credentials']).toBe('true');
      expect(preflight.headers['access-control-allow-methods']).toBe('GET, POST, PUT, PATCH, DELETE');
      expect(preflight.headers['access-control-allow-headers']).toBe('Authorization, Content-Type, X-API-Key, X-Request-Id');
      // The security headers are on the preflight answer too.
      expect(preflight.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('gives a preflight from an origin outside the list no CORS headers and no 204', async () => {
    await build({ WARDEN_CORS_ORIGINS: 'https://app.example.com' });
    const refused = await t.app.inject({
      method: 'OPTIONS',
      url: '/v1/probe',
      headers: { origin: 'https://app.example.com.evil.example', 'access-control-request-method': 'POST' },
    });
    expect(refused.statusCode).not.toBe(204);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    expect(refused.headers['access-control-allow-methods']).toBeUndefined();
    expectProblem(refused, 405, 'method_not_allowed');
  });

  it('refuses a malformed preflight (no Access-Control-Request-Method) with 400 problem+json', async () => {
    await build({ WARDEN_CORS_ORIGINS: 'https://app.example.com' });
    const malformed = await t.app.inject({ method: 'OPTIONS', url: '/v1/probe', headers: { origin: 'https://app.example.com' } });
    const body = expectProblem(malformed, 400, 'invalid_request');
    expect(String(body.detail)).toContain('Access-Control-Request-Method');
    expect(malformed.headers['access-control-allow-methods']).toBeUndefined();
  });

  it('never combines * with credentials (allowed outside production only)', async () => {
    await build({ WARDEN_CORS_ORIGINS: '*' });
    const response = await t.app.inject({ url: '/healthz', headers: { origin: 'https://any.example' } });
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.headers['access-control-allow-credentials']).toBeUndefined();
  });
});

describe('trusted hosts, HTTPS redirect and client IP', () => {
  it('rejects a Host header outside the trusted list with 400', async () => {
    await build({ WARDEN_TRUSTED_HOSTS: 'api.example.com,*.internal.example' });
    // Any route but the health probes (test/http/health-probes.test.ts).
    const url = '/v1/probe/hello';
    expect((await t.app.inject({ url, headers: { host: 'api.example.com' } })).statusCode).toBe(200);
    expect((await t.app.inject({ url, headers: { host: 'api.example.com:8443' } })).statusCode).toBe(200);
    expect((await t.app.inject({ url, headers: { host: 'a.internal.example' } })).statusCode).toBe(200);
    expectProblem(await t.app.inject({ url, headers: { host: 'evil.example' } }), 400, 'invalid_host');
    expectProblem(await t.app.inject({ url, headers: { host: 'internal.example' } }), 400, 'invalid_host');
    expectProblem(await t.app.inject({ url, headers: { host: 'api.example.com.evil.example' } }), 400, 'invalid_host');
  });

  it('redirects plain HTTP to HTTPS with 308 when enabled, except health checks', async () => {
    await build({ WARDEN_HTTPS_REDIRECT: 'true' });
    const response = await t.app.inject({ url: '/v1/probe?x=1', method: 'POST', headers: { host: 'api.example.com' } });
    expect(response.statusCode).toBe(308);
    expect(response.headers.location).toBe('https://api.example.com/v1/probe?x=1');
    expect((await t.app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it('takes the client IP from X-Forwarded-For only when the proxy is trusted', async () => {
    await build();
    await t.app.inject({ url: '/healthz', headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(t.logs.find((l) => l.msg === 'request')?.ip).toBe('127.0.0.1');
    await t.close();
    await build({ WARDEN_TRUST_PROXY: '127.0.0.1' });
    await t.app.inject({ url: '/healthz', headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(t.logs.find((l) => l.msg === 'request')?.ip).toBe('203.0.113.9');
  });
});

describe('bad input gets a clear 4xx problem and changes nothing', () => {
  const cases: { name: string; request: InjectOptions; status: number; code: string; detail?: RegExp }[] = [
    { name: 'malformed JSON', request: { method: 'POST', url: '/v1/probe', headers: { 'content-type': 'application/json' }, payload: '{"name":' }, status: 400, code: 'malformed_json' },
    { name: 'empty JSON body (no body, and this one is required)', request: { method: 'POST', url: '/v1/probe', headers: { 'content-type': 'application/json' }, payload: '' }, status: 400, code: 'validation_failed', detail: /^body is required: send a JSON object$/ },
    { name: 'wrong content type', request: { method: 'POST', url: '/v1/probe', headers: { 'content-type': 'text/plain' }, payload: 'name=x' }, status: 415, code: 'unsupported_media_type' },
    { name: 'form content type', request: { method: 'POST', url: '/v1/probe', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=x' }, status: 415, code: 'unsupported_media_type' },
    { name: 'oversized body', request: { method: 'POST', url: '/v1/probe', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'x'.repeat(200_000), count: 1 }) }, status: 413, code: 'payload_too_large' },
    { name: 'unknown field', request: { method: 'POST', url: '/v1/probe', payload: { name: 'a', count: 1, is_admin: true } }, status: 400, code: 'validation_failed', detail: /^body has an unknown field "is_admin"$/ },
    { name: 'missing field', request: { method: 'POST', url: '/v1/probe', payload: { name: 'a' } }, status: 400, code: 'validation_failed', detail: /^body is missing the required field "count"$/ },
    { name: 'wrong type, no coercion', request: { method: 'POST', url: '/v1/probe', payload: { name: 'a', count: '5' } }, status: 400, code: 'validation_failed', detail: /^body\.count must be of type integer$/ },
    { name: 'SQL-looking value too long', request: { method: 'POST', url: '/v1/probe', payload: { name: "'; DROP TABLE users; --".repeat(5), count: 1 } }, status: 400, code: 'validation_failed', detail: /^body\.name must NOT have more than 50 characters$/ },
    { name: 'encoded NUL byte', request: { url: '/v1/probe%00.json' }, status: 400, code: 'invalid_path' },
    { name: 'encoded NUL byte in the query', request: { url: '/healthz?actor=%00' }, status: 400, code: 'validation_failed', detail: /^The query string contains NUL or control characters$/ },
    { name: 'encoded control character in the query', request: { url: '/healthz?a=1&b=x%0D%0Ay' }, status: 400, code: 'validation_failed', detail: /query string/ },
    { name: 'encoded DEL in the query', request: { url: '/healthz?b=%7f' }, status: 400, code: 'validation_failed', detail: /query string/ },
    { name: 'bad Host header', request: { url: '/v1/probe/hello', headers: { host: 'evil.example' } }, status: 400, code: 'invalid_host' },
  ];

  it.each(cases)('$name → $status $code', async ({ request, status, code, detail }) => {
    await build({ WARDEN_TRUSTED_HOSTS: 'localhost,127.0.0.1' });
    const body = expectProblem(await t.app.inject(request), status, code);
    if (detail !== undefined) expect(body.detail).toMatch(detail);
    expect(JSON.stringify(body)).not.toMatch(/stack|at Object|node_modules/);
    // The server keeps serving.
    expect((await t.app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  // inject() normalises dot segments like a browser would, so these go over a real socket.
  it.each([
    '/v1/../etc/passwd',
    '/v1/%2e%2e/etc/passwd',
    '/v1/..%2fetc/passwd',
    '/v1/probe%00',
    '/v1/a%0d%0aSet-Cookie:x',
    // An encoded delimiter before the dots is a delimiter too, in either case.
    '/a%2F%2e%2e%2Fb',
    '/a%2f..%2fb',
    '/a%5c..%5cb',
    '/a%5C%2E%2E',
  ])(
    'raw path %s → 400 invalid_path',
    async (path) => {
      await build();
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = t.app.server.address() as AddressInfo;
      const response = await rawGet(port, path);
      expect(response.status).toBe(400);
      expect(JSON.parse(response.body)).toMatchObject({ code: 'invalid_path', status: 400 });
      expect((await rawGet(port, '/healthz')).status).toBe(200);
    },
  );

  it('keeps a query string whose values merely look like traversal or carry printable escapes', async () => {
    await build();
    const response = await t.app.inject({ url: '/healthz?next=%2Fa%2F..%2Fb&q=%20x%2e%2e%5c&t=%E2%82%AC' });
    expect(response.statusCode).toBe(200);
  });

  it('accepts the valid request', async () => {
    await build();
    const response = await t.app.inject({ method: 'POST', url: '/v1/probe', payload: { name: 'a', count: 2 } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ echoed: { name: 'a', count: 2 } });
  });
});

describe('errors', () => {
  it('renders 404 and 405 as problem+json, 405 with Allow', async () => {
    await build();
    expectProblem(await t.app.inject({ url: '/does/not/exist' }), 404, 'not_found');
    const wrongMethod = await t.app.inject({ method: 'DELETE', url: '/healthz' });
    expectProblem(wrongMethod, 405, 'method_not_allowed');
    expect(wrongMethod.headers.allow).toBe('GET, HEAD');
  });

  it('turns an unknown error into a generic 500 with the request id; details only in the log', async () => {
    await build();
    const response = await t.app.inject({ url: '/v1/probe/crash', headers: { 'x-request-id': 'trace-abc-123' } });
    const body = expectProblem(response, 500, 'internal_error');
    expect(body.request_id).toBe('trace-abc-123');
    expect(body.detail).toBe('An unexpected error occurred; quote request id trace-abc-123 when reporting it');
    expect(response.body).not.toContain('hunter2');
    expect(response.body).not.toContain('database');
    expect(t.logs.some((l) => l.msg === 'unhandled error' && l.request_id === 'trace-abc-123')).toBe(true);
  });

  it('passes the headers of a WardenError through (e.g. Retry-After)', async () => {
    await build();
    const response = await t.app.inject({ url: '/v1/probe/denied' });
    expectProblem(response, 429, 'rate_limited');
    expect(response.headers['retry-after']).toBe('7');
  });
});

describe('auth guard order', () => {
  it('answers 401 before looking at the body of a guarded route (no schema hints to anonymous callers)', async () => {
    await build();
    const response = await t.app.inject({ method: 'POST', url: '/v1/probe/guarded', payload: { count: 'not a number', extra: 1 } });
    expectProblem(response, 401, 'token_missing');
    const malformed = await t.app.inject({ method: 'POST', url: '/v1/probe/guarded', headers: { 'content-type': 'application/json' }, payload: '{' });
    expectProblem(malformed, 401, 'token_missing');
  });
});

describe('request ids and request logging', () => {
  it('echoes a well-formed X-Request-Id and replaces a hostile one', async () => {
    await build();
    expect((await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'abc-12345678' } })).headers['x-request-id']).toBe('abc-12345678');
    const hostile = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'x\r\ninjected: 1 <script>' } });
    expect(hostile.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs one line per request with method, path, status, duration, IP, user agent and request id', async () => {
    await build();
    await t.app.inject({ url: '/healthz', headers: { 'user-agent': 'probe/1.0', 'x-request-id': 'req-00000001' } });
    const line = t.logs.find((l) => l.msg === 'request');
    expect(line).toMatchObject({ method: 'GET', path: '/healthz', status: 200, ip: '127.0.0.1', user_agent: 'probe/1.0', request_id: 'req-00000001' });
    expect(typeof line?.duration_ms).toBe('number');
  });

  it('never logs credentials from headers, query strings or bodies', async () => {
    await build();
    await t.app.inject({
      method: 'POST',
      url: '/v1/probe?token=sekrit-query-token&page=2',
      headers: { authorization: 'Bearer sekrit-bearer-token', cookie: 'sid=sekrit-cookie', 'x-api-key': 'wdn_live_sekritkey' },
      payload: { name: 'a', count: 1 },
    });
    t.context.logger.info({ password: 'sekrit-password', nested: { api_key: 'sekrit-nested' } }, 'something');
    const raw = t.rawLogs();
    expect(raw).toContain('page=2');
    for (const secret of ['sekrit-query-token', 'sekrit-bearer-token', 'sekrit-cookie', 'wdn_live_sekritkey', 'sekrit-password', 'sekrit-nested']) {
      expect(raw).not.toContain(secret);
    }
  });
});

describe('health', () => {
  it('reports readiness, and 503 once the database is unreachable', async () => {
    await build();
    const ready = await t.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { database: 'ok' } });
    await t.context.storage.db.destroy();
    const notReady = await t.app.inject({ url: '/readyz' });
    expectProblem(notReady, 503, 'service_unavailable');
    expect((await t.app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });
});

describe('the hostile-URL guard', () => {
  it('sees traversal behind encoded delimiters, in any case, and only in the path', () => {
    for (const path of ['/a%2F%2e%2e%2Fb', '/a%2f..%2fb', '/a%5c..%5cb', '/a%5C%2E%2E', '%2f..', '/a%2f%2E%2e?x=1']) {
      expect(isHostilePath(path), path).toBe(true);
      expect(hostileUrlPart(path), path).toBe('path');
    }
    for (const path of ['/a%2f..b', '/a%2fb..%2fc', '/v1/users/a.b', '/healthz?next=%2f..%2f', '/x?y=../z']) {
      expect(isHostilePath(path), path).toBe(false);
    }
  });

  it('tells a bad query string from a bad path, and passes clean URLs', () => {
    expect(hostileUrlPart('/v1/audit?actor=%00')).toBe('query');
    expect(hostileUrlPart('/v1/keys?owner_id=a%1Fb')).toBe('query');
    expect(hostileUrlPart('/v1/keys?owner_id=a%7Fb')).toBe('query');
    expect(hostileUrlPart('/v1/keys?owner_id=%E2%82%AC&after=%0a')).toBe('query');
    expect(hostileUrlPart('/v1/users/a%40b?x=%7e%20')).toBeUndefined();
    expect(hostileUrlPart('/v1/x%00?a=%00')).toBe('path');
    expect(hostileUrlPart('/v1/audit?actor=alice%40example.com&limit=5')).toBeUndefined();
    expect(hostileUrlPart('/v1/audit?')).toBeUndefined();
    expect(hostileUrlPart('/healthz')).toBeUndefined();
    // The guard's state does not leak from one call into the next.
    expect(hostileUrlPart('/a?b=%00')).toBe('query');
    expect(hostileUrlPart('/a?b=c')).toBeUndefined();
  });
});
