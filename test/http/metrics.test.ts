import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';

const METRICS_TOKEN = 'm3tr1cs-T0ken-ThatIsLongEnough-9f8e7d6c5b4a';

let t: TestApp;
afterEach(async () => {
  await t.close();
});

describe('GET /metrics', () => {
  it('is 401 problem+json without a credential, or with a wrong token', async () => {
    t = await createTestApp({ env: { WARDEN_METRICS_TOKEN: METRICS_TOKEN } });
    const missing = await t.app.inject({ url: '/metrics' });
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toMatchObject({ code: 'unauthorized' });
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="warden"');
    const wrong = await t.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
    expect(wrong.statusCode).toBe(401);
  });

  it('is 401 when no metrics token is configured and no principal holds metrics:read', async () => {
    t = await createTestApp();
    expect((await t.app.inject({ url: '/metrics', headers: { authorization: 'Bearer ' } })).statusCode).toBe(401);
  });

  it('is readable with a credential holding metrics:read, and 401 for one without it', async () => {
    t = await createTestApp();
    const admin = await seedUser(t, { isAdmin: true });
    const allowed = await t.app.inject({ url: '/metrics', headers: bearer((await login(t.app, admin.email)).access_token) });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.body).toContain('warden_http_requests_total');
    const plain = await seedUser(t);
    const denied = await t.app.inject({ url: '/metrics', headers: bearer((await login(t.app, plain.email)).access_token) });
    expect(denied.statusCode).toBe(401);
  });

  it('serves Prometheus text with request counts by route pattern and status, and process metrics', async () => {
    t = await createTestApp({ env: { WARDEN_METRICS_TOKEN: METRICS_TOKEN } });
    await t.app.inject({ url: '/healthz' });
    await t.app.inject({ url: '/no/such/route/123' });
    const response = await t.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.body).toContain('warden_http_requests_total{method="GET",route="/healthz",status="200"} 1');
    expect(response.body).toContain('route="unmatched",status="404"');
    expect(response.body).not.toContain('/no/such/route/123');
    expect(response.body).toContain('warden_http_request_duration_seconds_bucket');
    expect(response.body).toContain('process_cpu_user_seconds_total');
  });
});
