import { afterEach, beforeEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * /metrics reads its bearer token as every other route does: the scheme is case-insensitive
 * (RFC 9110 §11.1) and any run of spaces may follow it.
 */
const METRICS_TOKEN = 'm3tr1cs-T0ken-ThatIsLongEnough-9f8e7d6c5b4a';
let t: TestApp;
beforeEach(async () => {
  t = await createTestApp({ env: { WARDEN_METRICS_TOKEN: METRICS_TOKEN } });
});
afterEach(async () => t.close());

it('accepts the metrics token whatever the case of the Bearer scheme', async () => {
  const response = await t.app.inject({
    url: '/metrics',
    headers: { authorization: `bearer ${METRICS_TOKEN}` },
  });
  expect(response.statusCode).toBe(200);
});

it('accepts the metrics token after more than one space, as bearerToken does', async () => {
  const response = await t.app.inject({
    url: '/metrics',
    headers: { authorization: `Bearer  ${METRICS_TOKEN}` },
  });
  expect(response.statusCode).toBe(200);
});
