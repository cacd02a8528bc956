import { afterEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
afterEach(async () => {
  await t.close();
});

/**
 * RFC 8414 §3.1: for an issuer with a path (https://auth.example.com/warden) the metadata is
 * also served at /.well-known/oauth-authorization-server/warden (the well-known segment inserted
 * between host and path), where openid-client's `algorithm: 'oauth2'` discovery looks.
 */
it('serves the RFC 8414 metadata at the path-inserted well-known URI of an issuer that has a path', async () => {
  t = await createTestApp({ env: { WARDEN_JWT_ISSUER: 'https://auth.example.com/warden' } });
  const response = await t.app.inject({ url: '/.well-known/oauth-authorization-server/warden' });
  expect(response.statusCode).toBe(200);
  expect(response.json().issuer).toBe('https://auth.example.com/warden');
});

it('an issuer without a path is served at the plain well-known URI only', async () => {
  t = await createTestApp({ env: { WARDEN_JWT_ISSUER: 'https://auth.example.com/' } });
  expect((await t.app.inject({ url: '/.well-known/oauth-authorization-server' })).json().issuer).toBe('https://auth.example.com/');
  expect((await t.app.inject({ url: '/.well-known/oauth-authorization-server/warden' })).statusCode).toBe(404);
});
