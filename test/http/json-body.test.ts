import type { InjectOptions } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROUTE_MODULES, type RouteModule } from '../../src/server/routes/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';

/**
 * A DELETE that takes no body: the parser is the same for every route and method. Outside /v1,
 * where a route without a body schema refuses a body with fields (and reads none as `{}`).
 */
const probeRoutes: RouteModule = async (app) => {
  app.delete('/probe/body', { config: { public: true } }, async (request) => ({ body_sent: request.body !== undefined }));
};

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp({ routes: [...ROUTE_MODULES, probeRoutes] });
});
afterEach(async () => t.close());

const JSON_TYPE = { 'content-type': 'application/json' };

function expectProblem(response: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number, code: string): Record<string, unknown> {
  expect(response.statusCode).toBe(status);
  expect(String(response.headers['content-type'])).toMatch(/^application\/problem\+json/);
  const body = response.json() as Record<string, unknown>;
  expect(body).toMatchObject({ status, code });
  return body;
}

describe('an empty body sent as JSON is no body', () => {
  it('POST /v1/auth/logout (body optional) with Content-Type: application/json and nothing else logs out', async () => {
    const user = await seedUser(t);
    for (const contentType of ['application/json', 'application/json; charset=utf-8', 'Application/JSON']) {
      const tokens = await login(t.app, user.email);
      const out = await t.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { ...bearer(tokens.access_token), 'content-type': contentType }, payload: '' });
      expect(out.statusCode, contentType).toBe(204);
      const me = await t.app.inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) });
      expect(me.json()).toMatchObject({ code: 'token_revoked' });
    }
  });

  it('POST /v1/auth/logout still reads a refresh token from a JSON body', async () => {
    const user = await seedUser(t);
    const tokens = await login(t.app, user.email);
    const out = await t.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(tokens.access_token), payload: { refresh_token: tokens.refresh_token } });
    expect(out.statusCode).toBe(204);
    const refresh = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: tokens.refresh_token } });
    expect(refresh.json()).toMatchObject({ code: 'refresh_token_invalid' });
  });

  it('any route, whatever the method, sees no body (undefined)', async () => {
    const response = await t.app.inject({ method: 'DELETE', url: '/probe/body', headers: JSON_TYPE, payload: '' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ body_sent: false });
  });

  it('POST /v1/auth/login (body required) answers 400 saying that the body is required, with or without a content type', async () => {
    for (const request of [
      { method: 'POST', url: '/v1/auth/login', headers: JSON_TYPE, payload: '' },
      { method: 'POST', url: '/v1/auth/login' },
    ] satisfies InjectOptions[]) {
      const body = expectProblem(await t.app.inject(request), 400, 'validation_failed');
      expect(body.detail).toBe('body is required: send a JSON object');
    }
  });
});

describe('what the JSON parser still refuses', () => {
  const loginRequest = (payload: string, headers: Record<string, string> = JSON_TYPE): InjectOptions => ({ method: 'POST', url: '/v1/auth/login', headers, payload });

  it.each([
    ['malformed JSON', '{"email":', 'The request body is not valid JSON'],
    ['whitespace only (a body, and not JSON)', '   ', 'The request body is not valid JSON'],
    ['a "__proto__" key', '{"email":"a@example.test","password":"x","__proto__":{"is_admin":true}}', 'The request body is not valid JSON'],
    ['a nested "__proto__" key', '{"email":"a@example.test","password":"x","extra":{"__proto__":{"x":1}}}', 'The request body is not valid JSON'],
    ['a "constructor.prototype" key', '{"email":"a@example.test","password":"x","constructor":{"prototype":{"is_admin":true}}}', 'The request body is not valid JSON'],
  ])('%s → 400 malformed_json', async (_name, payload, detail) => {
    const body = expectProblem(await t.app.inject(loginRequest(payload)), 400, 'malformed_json');
    expect(body.detail).toBe(detail);
  });

  it('a wrong content type → 415, even when empty', async () => {
    expectProblem(await t.app.inject(loginRequest('email=a', { 'content-type': 'text/plain' })), 415, 'unsupported_media_type');
    expectProblem(await t.app.inject(loginRequest('', { 'content-type': 'application/x-www-form-urlencoded' })), 415, 'unsupported_media_type');
  });

  it('a body over WARDEN_BODY_LIMIT → 413, whether or not Content-Length announces it', async () => {
    const big = JSON.stringify({ email: 'a@example.test', password: 'x'.repeat(t.settings.bodyLimit) });
    expectProblem(await t.app.inject(loginRequest(big)), 413, 'payload_too_large');
    const chunked = await t.app.inject({ ...loginRequest(''), headers: { ...JSON_TYPE, 'transfer-encoding': 'chunked' }, payload: big });
    expectProblem(chunked, 413, 'payload_too_large');
  });
});

describe('a JSON body must be UTF-8 (RFC 8259 §8.1)', () => {
  it('refuses invalid UTF-8 with 400 malformed_json instead of storing replacement characters, and changes nothing', async () => {
    const admin = await seedUser(t, { isAdmin: true });
    const { access_token } = await login(t.app, admin.email);
    const before = await t.context.storage.db.selectFrom('users').select('id').execute();
    for (const bad of [Buffer.from([0xff]), Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xe2, 0x82])]) {
      const payload = Buffer.concat([Buffer.from('{"email":"bad'), bad, Buffer.from('@example.test","password":"a-long-enough-passphrase-9"}')]);
      const refused = await t.app.inject({ method: 'POST', url: '/v1/users', headers: { ...bearer(access_token), ...JSON_TYPE }, payload });
      expect(expectProblem(refused, 400, 'malformed_json')).toMatchObject({ detail: 'The request body is not valid UTF-8' });
    }
    expect(await t.context.storage.db.selectFrom('users').select('id').execute()).toEqual(before);
  });

  it('accepts valid UTF-8, a literal U+FFFD included', async () => {
    const admin = await seedUser(t, { isAdmin: true });
    const { access_token } = await login(t.app, admin.email);
    const payload = Buffer.from(JSON.stringify({ email: 'zoë@example.test', password: 'a-long-enough-passphrase-9', name: 'Zoë \uFFFD 日本' }), 'utf8');
    const created = await t.app.inject({ method: 'POST', url: '/v1/users', headers: { ...bearer(access_token), ...JSON_TYPE }, payload });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ email: 'zoë@example.test', name: 'Zoë \uFFFD 日本' });
  });
});
