import { afterEach, expect, it, vi } from 'vitest';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { basic, FORM, seedClient } from './oauth-helpers.js';

/**
 * A client_id carrying a NUL character (%00 in the form, or inside the Basic credentials) is a
 * wrong credential on both databases (PostgreSQL cannot store a NUL): 401 invalid_client, never a
 * 500 with an error-level log line per request. A database lost mid-request at an OAuth endpoint
 * is an outage: 503 with Retry-After, as on every other route.
 */
describeEachDatabase('a NUL character in a presented client_id', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  it('is a client error at /oauth/token, /oauth/introspect and /oauth/revoke, never a 500', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['tokens:introspect', 'keys:read']);
    const attempts = [
      {
        url: '/oauth/token',
        headers: FORM,
        payload: `grant_type=client_credentials&client_id=%00${c.clientId}&client_secret=${c.secret}`,
      },
      {
        url: '/oauth/token',
        headers: { ...FORM, authorization: basic(`\0${c.clientId}`, c.secret) },
        payload: 'grant_type=client_credentials',
      },
      {
        url: '/oauth/introspect',
        headers: FORM,
        payload: `token=abc&client_id=x%00&client_secret=${c.secret}`,
      },
      { url: '/oauth/revoke', headers: FORM, payload: `token=abc&client_id=x%00&client_secret=${c.secret}` },
    ];
    for (const attempt of attempts) {
      const response = await t.app.inject({ method: 'POST', ...attempt });
      expect(response.statusCode, `${attempt.url}: ${response.body}`).toBeLessThan(500);
      expect(['invalid_client', 'invalid_request']).toContain(response.json().error);
    }
    expect(t.logs.filter((line) => (line.level as number) >= 50)).toEqual([]);
  });

  it('answers a database lost mid-request with 503 and Retry-After, without the driver message', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['keys:read']);
    const clients = oauthOf(t.context).clients;
    vi.spyOn(clients, 'authenticate').mockRejectedValue(
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' }),
    );
    const response = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: basic(c.clientId, c.secret) },
      payload: 'grant_type=client_credentials',
    });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.json()).toMatchObject({ code: 'storage_unavailable' });
    expect(response.body).not.toContain('10.0.0.5');
    expect(t.logs.filter((line) => (line.level as number) >= 50)).toEqual([]);
  });
});
