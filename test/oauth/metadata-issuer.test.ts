import { afterEach, expect, it } from 'vitest';
import { issuerIsUrl } from '../../src/config/issuer-url.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * The OAuth metadata publishes WARDEN_JWT_ISSUER as `issuer` when it is a URL, and `warden config
 * check` warns when it is not: both must judge "a URL" the same way, schemes in any case
 * (RFC 3986 §3.1), or an issuer such as `HTTPS://…` gets neither the metadata nor the warning.
 */
let t: TestApp | undefined;
afterEach(async () => t?.close());

it('judges an issuer a URL by its scheme in any case', () => {
  expect(['https://auth.example.com', 'HTTPS://auth.example.com', 'http://127.0.0.1:8080'].every(issuerIsUrl)).toBe(true);
  expect(['warden', 'auth.example.com', 'ftp://x', 'https:/x'].some(issuerIsUrl)).toBe(false);
});

it('publishes an issuer spelt HTTPS:// as it is, so that it equals the tokens\' iss', async () => {
  t = await createTestApp({ env: { WARDEN_JWT_ISSUER: 'HTTPS://auth.example.com' } });
  const metadata = (await t.app.inject({ url: '/.well-known/oauth-authorization-server' })).json<{ issuer: string; token_endpoint: string }>();
  expect(metadata.issuer).toBe('HTTPS://auth.example.com');
  expect(metadata.token_endpoint).toBe('HTTPS://auth.example.com/oauth/token');
});
