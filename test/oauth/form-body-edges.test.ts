import { afterEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { basic, FORM, seedClient } from './oauth-helpers.js';

/** Edge cases of the form body at the OAuth endpoints; each group says what is expected. */
let t: TestApp;
afterEach(async () => {
  await t.close();
});

/**
 * RFC 6749 §3.2 (token endpoint): "Parameters sent without a value MUST be treated as if they
 * were omitted from the request." docs/oauth.md: a missing credential "is refused before any
 * lookup, and is neither counted by the lockout nor audited".
 */

it('treats grant_type sent without a value as missing (invalid_request), not as an unsupported grant type', async () => {
  t = await createTestApp({ env: { WARDEN_RATELIMIT_AUTH: 'off' } });
  const c = await seedClient(t, ['keys:read']);
  const response = await t.app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...FORM, authorization: basic(c.clientId, c.secret) },
    payload: 'grant_type=',
  });
  expect(response.statusCode).toBe(400);
  expect(response.json().error).toBe('invalid_request');
});

it('ignores an empty client_secret body parameter next to HTTP Basic (it counts as omitted, so only one method is used)', async () => {
  t = await createTestApp({ env: { WARDEN_RATELIMIT_AUTH: 'off' } });
  const c = await seedClient(t, ['keys:read']);
  const response = await t.app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...FORM, authorization: basic(c.clientId, c.secret) },
    payload: 'grant_type=client_credentials&client_secret=',
  });
  expect(response.statusCode).toBe(200);
});

it('neither counts nor audits empty client_id/client_secret parameters as a failed authentication (a missing credential)', async () => {
  t = await createTestApp({ env: { WARDEN_RATELIMIT_AUTH: 'off', WARDEN_LOGIN_MAX_FAILURES_PER_IP: '1' } });
  const c = await seedClient(t, ['keys:read']);
  const remoteAddress = '192.0.2.44';
  // e.g. a service started with CLIENT_ID / CLIENT_SECRET unset in its environment.
  const empty = await t.app.inject({
    method: 'POST',
    url: '/oauth/token',
    remoteAddress,
    headers: FORM,
    payload: 'grant_type=client_credentials&client_id=&client_secret=',
  });
  expect(empty.statusCode).toBe(401);
  expect(empty.json().error).toBe('invalid_client');
  const failures = await t.context.storage.db
    .selectFrom('audit_events')
    .select('id')
    .where('action', '=', 'client.auth.failed')
    .execute();
  expect(failures).toHaveLength(0);
  // Not counted: the address is not locked out (nor are the user logins sharing the IP tier).
  const right = await t.app.inject({
    method: 'POST',
    url: '/oauth/token',
    remoteAddress,
    headers: { ...FORM, authorization: basic(c.clientId, c.secret) },
    payload: 'grant_type=client_credentials',
  });
  expect(right.statusCode).toBe(200);
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
  const asScope = await t.app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: auth,
    payload: `grant_type=client_credentials&scope=${c.secret}`,
  });
  expect(asScope.json().error).toBe('invalid_scope');
  expect(asScope.body).not.toContain(c.secret);

  const asName = await t.app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: FORM,
    payload: `${c.secret}&${c.secret}`,
  });
  expect(asName.json().error).toBe('invalid_request');
  // 40 of the secret's 47 characters are enough to leave only ~41 bits to guess.
  expect(asName.body).not.toContain(c.secret.slice(0, 24));
});
