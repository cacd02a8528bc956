import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { seedUser, STRONG_PASSWORD } from '../identity/identity-helpers.js';

/**
 * No request body is decoded here, so a body with a Content-Encoding other than `identity` is
 * refused with 415 before it is read (RFC 9110 §15.5.16): parsed as it stands, a gzip body would
 * be refused as bad JSON, and a plain one labelled gzip would be read differently than by a
 * proxy or WAF that inflates it.
 */
let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
  await seedUser(t, { email: 'enc@example.test' });
});
afterEach(async () => t.close());

const json = JSON.stringify({ email: 'enc@example.test', password: STRONG_PASSWORD });

it('refuses a body whose Content-Encoding it does not decode (plain bytes labelled gzip)', async () => {
  const response = await t.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    body: json,
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
  });
  expect(response.statusCode).toBe(415);
  expect(response.json()).toMatchObject({ code: 'unsupported_media_type' });
});

it('answers a real gzip body with 415, not malformed_json', async () => {
  const response = await t.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    body: gzipSync(json),
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
  });
  expect(response.json()).toMatchObject({ status: 415, code: 'unsupported_media_type' });
});

it('still accepts Content-Encoding: identity', async () => {
  const response = await t.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    body: json,
    headers: { 'content-type': 'application/json', 'content-encoding': 'identity' },
  });
  expect(response.statusCode).toBe(200);
});
