import { request as httpRequest, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { headerBlockResponse, WRITES_SECURITY_HEADERS } from '../../src/http/header-block-response.js';
import { securityHeaderTable } from '../../src/http/security-headers.js';
import type { RouteModule } from '../../src/server/routes/index.js';
import { ROUTE_MODULES } from '../../src/server/routes/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

const TABLE = securityHeaderTable({ contentSecurityPolicy: "default-src 'self'; frame-ancestors 'none'", hstsMaxAge: 0 });

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** Sends a request to the listening app; answers the status and the raw header lines, duplicates kept. */
function send(path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; raw: [string, string][] }> {
  const { port } = t?.app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      res.resume();
      res.on('end', () => {
        const raw: [string, string][] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) raw.push([(res.rawHeaders[i] ?? '').toLowerCase(), res.rawHeaders[i + 1] ?? '']);
        resolve({ status: res.statusCode ?? 0, raw });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const valuesOf = (raw: [string, string][], name: string): string[] => raw.filter(([n]) => n === name).map(([, v]) => v);

// Routes that set a security header of their own, as an application may.
const ownHeaderRoutes: RouteModule = async (app) => {
  app.get('/v1/own-csp', { config: { public: true } }, async (_request, reply) => {
    reply.header('content-security-policy', "default-src 'none'");
    return { ok: true };
  });
  app.get('/v1/block-flag', { config: { public: true } }, async (_request, reply) => {
    reply.header('x-written-by-block', String((reply.raw as unknown as Record<symbol, unknown>)[WRITES_SECURITY_HEADERS] === true));
    // The hardening hook left the table to the response (it would be correct but slower otherwise).
    reply.header('x-table-set-per-request', String(reply.getHeader('x-frame-options') !== undefined));
    return { ok: true };
  });
  app.get('/v1/raw-head', { config: { public: true } }, async (_request, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, ['X-Frame-Options', 'SAMEORIGIN', 'content-type', 'text/plain']);
    reply.raw.end('raw');
  });
};

describe('the header-block response of a listening service', () => {
  beforeEach(async () => {
    t = await createTestApp({ routes: [...ROUTE_MODULES, ownHeaderRoutes] });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });

  it('writes every security header exactly once on successes, 404s, 400s, 415s and framework errors', async () => {
    // The listening server writes the table from the response class, not per request.
    const flag = await send('/v1/block-flag');
    expect(valuesOf(flag.raw, 'x-written-by-block')).toEqual(['true']);
    expect(valuesOf(flag.raw, 'x-table-set-per-request')).toEqual(['false']);
    const answers = [
      await send('/healthz'),
      await send('/v1/nothing-here'),
      await send('/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":' }),
      await send('/v1/auth/login', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }),
      await send('/v1/users/%E0%A4%A'),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 404, 400, 415, 400]);
    for (const { raw } of answers) {
      for (const [name, value] of Object.entries(TABLE)) expect(valuesOf(raw, name), name).toEqual([value]);
      expect(valuesOf(raw, 'x-request-id')).toHaveLength(1);
    }
  });

  it('lets a route’s own value of a security header win, without a duplicate', async () => {
    const own = await send('/v1/own-csp');
    expect(valuesOf(own.raw, 'content-security-policy')).toEqual(["default-src 'none'"]);
    expect(valuesOf(own.raw, 'x-frame-options')).toEqual(['DENY']);
    // The JWKS may be cached; every other answer says no-store.
    expect(valuesOf((await send('/.well-known/jwks.json')).raw, 'cache-control')).toEqual(['public, max-age=60']);
    expect(valuesOf(own.raw, 'cache-control')).toEqual(['no-store']);
    // A raw writeHead with a header array, names in any case.
    const raw = await send('/v1/raw-head');
    expect(valuesOf(raw.raw, 'x-frame-options')).toEqual(['SAMEORIGIN']);
    expect(valuesOf(raw.raw, 'x-content-type-options')).toEqual(['nosniff']);
  });
});

describe('headerBlockResponse', () => {
  it('marks its class so the per-request hook can skip the table, and refuses header injection', () => {
    const cls = headerBlockResponse(TABLE);
    expect(cls).toBeDefined();
    expect((cls?.prototype as unknown as Record<symbol, unknown>)[WRITES_SECURITY_HEADERS]).toBe(true);
    expect((ServerResponse.prototype as unknown as Record<symbol, unknown>)[WRITES_SECURITY_HEADERS]).toBeUndefined();
    expect(() => headerBlockResponse({ 'x-evil': 'a\r\nset-cookie: s=1' })).toThrow();
    expect(() => headerBlockResponse({ 'bad name': 'x' })).toThrow();
    expect(() => headerBlockResponse({ 'X-Upper': 'x' })).toThrow(/lower-case/);
  });
});
