import { afterEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { basic, FORM, seedClient } from './oauth-helpers.js';

let t: TestApp;
afterEach(async () => {
  await t.close();
});

/**
 * A secret sent in the wrong parameter (a misconfigured client putting CLIENT_SECRET in `scope`,
 * or as a parameter name) never comes back in error_description, which client libraries
 * (openid-client, curl scripts, proxies) log: only permission names and parameter-like names
 * are echoed.
 */
it('never echoes a client secret sent in the wrong parameter in an OAuth error body', async () => {
  t = await createTestApp({ env: { WARDEN_RATELIMIT_AUTH: 'off' } });
  const c = await seedClient(t, ['keys:read']);
  const auth = { ...FORM, authorization: basic(c.clientId, c.secret) };
  const asScope = await t.app.inject({ method: 'POST', url: '/oauth/token', headers: auth, payload: `grant_type=client_credentials&scope=${c.secret}` });
  expect(asScope.json().error).toBe('invalid_scope');
  expect(asScope.body).not.toContain(c.secret);

  const asName = await t.app.inject({ method: 'POST', url: '/oauth/token', headers: FORM, payload: `${c.secret}&${c.secret}` });
  expect(asName.json().error).toBe('invalid_request');
  // 40 of the secret's 47 characters are enough to leave only ~41 bits to guess.
  expect(asName.body).not.toContain(c.secret.slice(0, 24));
});
