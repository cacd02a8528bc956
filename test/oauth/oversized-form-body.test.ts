import { afterEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { basic, FORM, seedClient } from './oauth-helpers.js';

let t: TestApp;
afterEach(async () => {
  await t.close();
});

/**
 * A form body over the OAuth endpoints' limit is answered 413 with a size reason, as on every
 * other route, not as a wrong content type: the integrator did send a form body.
 */
it('answers an oversized form body at /oauth/token with a size error, not a content-type error', async () => {
  t = await createTestApp({ env: { WARDEN_RATELIMIT_AUTH: 'off' } });
  const c = await seedClient(t, ['keys:read']);
  const response = await t.app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...FORM, authorization: basic(c.clientId, c.secret) },
    payload: `grant_type=client_credentials&pad=${'a'.repeat(64 * 1024)}`,
  });
  expect(response.json().error).toBe('invalid_request');
  expect(response.json().error_description).not.toMatch(/application\/x-www-form-urlencoded/);
  expect(response.json().error_description).toMatch(/large|size|limit/i);
  expect(response.statusCode).toBe(413);
});
