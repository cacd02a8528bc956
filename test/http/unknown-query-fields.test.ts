import { afterEach, beforeEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { insertUser } from '../authz/fixtures.js';
import { testUserAuthenticator } from '../authz/test-authenticator.js';

/**
 * "Unknown query fields are 400 like every unknown field" (docs/architecture.md), also on /v1
 * routes that take no query fields at all — else `GET /v1/roles?limit=1` answers the whole list
 * as if paginated as asked. OAuth's endpoints ignore unknown parameters, as RFC 6749 §3.2 asks.
 */
let t: TestApp;
let admin: string;
beforeEach(async () => {
  t = await createTestApp();
  t.context.authenticators.push(testUserAuthenticator);
  admin = await insertUser(t.context.storage.db, { isAdmin: true });
});
afterEach(async () => t.close());

it('GET /v1/roles refuses an unknown query field with 400 naming it', async () => {
  const response = await t.app.inject({ method: 'GET', url: '/v1/roles?limit=1', headers: { 'x-test-user': admin } });
  expect(response.statusCode).toBe(400);
  expect(response.json()).toMatchObject({ code: 'validation_failed', detail: 'querystring has an unknown field "limit"' });
  expect((await t.app.inject({ method: 'GET', url: '/v1/roles', headers: { 'x-test-user': admin } })).statusCode).toBe(200);
});

it('a POST without query fields refuses one too, and changes nothing', async () => {
  const response = await t.app.inject({ method: 'POST', url: '/v1/roles?dry_run=1', headers: { 'x-test-user': admin }, payload: { name: 'auditor', permissions: ['audit:read'] } });
  expect(response.statusCode).toBe(400);
  expect((await t.app.inject({ method: 'GET', url: '/v1/roles/auditor', headers: { 'x-test-user': admin } })).statusCode).toBe(404);
});

it('the OAuth token endpoint ignores an unknown query parameter (RFC 6749 §3.2)', async () => {
  const response = await t.app.inject({ method: 'POST', url: '/oauth/token?trace=1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=client_credentials&client_id=x&client_secret=y' });
  expect(response.json()).toMatchObject({ error: 'invalid_client' });
});
