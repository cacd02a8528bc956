import { afterEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * Schemes are case-insensitive (RFC 3986 §3.1) and some load balancers send
 * `X-Forwarded-Proto: HTTPS`. Read case-sensitively, every request would be redirected to the
 * URL it came on (a loop), and HSTS never sent.
 */
let t: TestApp | undefined;
afterEach(async () => t?.close());

it('a trusted proxy saying X-Forwarded-Proto: HTTPS is HTTPS (no redirect loop, HSTS sent)', async () => {
  t = await createTestApp({ env: { WARDEN_TRUST_PROXY: '1', WARDEN_HTTPS_REDIRECT: 'true' } });
  const response = await t.app.inject({
    url: '/v1/roles',
    remoteAddress: '10.0.0.2',
    headers: { host: 'api.example.com', 'x-forwarded-proto': 'HTTPS', 'x-forwarded-for': '203.0.113.9' },
  });
  expect(response.statusCode).toBe(401);
  expect(response.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
});
