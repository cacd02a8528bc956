import { afterEach, beforeEach, expect, it } from 'vitest';
import { generateApiKey } from '../../src/apikeys/key-format.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * The 404 and 405 answers name the request path with its credentials redacted, as the request
 * log line does: a key or token put in the path never comes back in an error body.
 */
let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => t.close());

it('a 404 does not echo an API key that was in the path', async () => {
  const key = generateApiKey('live');
  const response = await t.app.inject({ url: `/v1/keys/verify/${key}` });
  expect(response.statusCode).toBe(404);
  expect(t.rawLogs()).not.toContain(key); // the log line already redacts it
  expect(response.body).not.toContain(key);
});

it('a 405 does not echo an API key that was in the path', async () => {
  const key = generateApiKey('test');
  const response = await t.app.inject({ method: 'PUT', url: `/v1/users/${key}` });
  expect(response.body).not.toContain(key);
});
