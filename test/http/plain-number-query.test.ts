import { afterEach, beforeEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { insertUser } from '../authz/fixtures.js';
import { testUserAuthenticator } from '../authz/test-authenticator.js';

/**
 * A number in a URL is written as a plain decimal. `?limit=0x10`, `1e1`, ` 5` or `5.` is a 400
 * naming the field, not a page of 16, 10 or 5 items: the query is coerced only from the form a
 * client means.
 */
let t: TestApp;
let admin: string;
beforeEach(async () => {
  t = await createTestApp();
  t.context.authenticators.push(testUserAuthenticator);
  admin = await insertUser(t.context.storage.db, { isAdmin: true });
});
afterEach(async () => t.close());

const list = (query: string) => t.app.inject({ method: 'GET', url: `/v1/users?${query}`, headers: { 'x-test-user': admin } });

it.each(['0x10', '1e1', '%205', '5%20', '5.', '5.0', '+5', '05', '0b1', 'Infinity', '-0x1'])('?limit=%s is refused with 400 naming limit', async (value) => {
  const response = await list(`limit=${value}`);
  expect(response.statusCode).toBe(400);
  expect(response.json()).toMatchObject({ code: 'validation_failed', detail: 'querystring.limit must be of type integer', field: 'querystring.limit' });
});

it('a plain decimal limit is accepted, and out-of-range ones keep their own message', async () => {
  expect((await list('limit=5')).statusCode).toBe(200);
  expect((await list('')).statusCode).toBe(200);
  const zero = await list('limit=0');
  expect(zero.statusCode).toBe(400);
  expect(zero.json().detail).toBe('querystring.limit must be >= 1');
});
