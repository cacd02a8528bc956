import { afterEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * RFC 9110 §15.5.6: a 405's Allow lists every method the resource supports. Every GET route
 * answers HEAD too (Fastify's exposeHeadRoutes), so HEAD is listed wherever GET is.
 */
let t: TestApp | undefined;
afterEach(async () => t?.close());

it('a 405 on a GET route lists HEAD in Allow (HEAD is served there)', async () => {
  t = await createTestApp();
  const head = await t.app.inject({ method: 'HEAD', url: '/healthz' });
  expect(head.statusCode).toBe(200);
  const response = await t.app.inject({ method: 'DELETE', url: '/healthz' });
  expect(response.statusCode).toBe(405);
  expect(response.headers.allow).toBe('GET, HEAD');
});

it('a 405 on a route without GET lists no HEAD', async () => {
  t = await createTestApp();
  const response = await t.app.inject({ method: 'GET', url: '/v1/auth/login' });
  expect(response.statusCode).toBe(405);
  expect(response.headers.allow).toBe('POST');
});
