import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';

const METRICS_TOKEN = 'm3tr1cs-T0ken-ThatIsLongEnough-9f8e7d6c5b4a';

/**
 * A request over a real socket with a header sent once per value (Node joins repeated
 * X-API-Key with ", " and keeps only the first Authorization); a GET unless a form body is given.
 */
function getWithRepeatedHeader(port: number, path: string, name: string, values: readonly string[], form?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const options = form === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } };
    const req = httpRequest({ host: '127.0.0.1', port, path, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setHeader(name, [...values]);
    req.on('error', reject);
    req.end(form);
  });
}

describe('a request carrying two credentials is refused, whichever would have won', () => {
  let t: TestApp;
  let apiKey: string;
  let jwt: string;

  beforeEach(async () => {
    t = await createTestApp({ env: { WARDEN_METRICS_TOKEN: METRICS_TOKEN } });
    const admin = await seedUser(t, { isAdmin: true });
    jwt = (await login(t.app, admin.email)).access_token;
    apiKey = (await (t.context.apiKeys as ApiKeys).service.create({ name: 'ci', ownerId: admin.id, permissions: ['keys:read'] }, { actor: 'system' })).key;
  });
  afterEach(async () => t.close());

  const keys = (headers: Record<string, string | string[]>) => t.app.inject({ url: '/v1/keys', headers });

  it('accepts each credential on its own', async () => {
    expect((await keys({ 'x-api-key': apiKey })).statusCode).toBe(200);
    expect((await keys({ authorization: `Bearer ${apiKey}` })).statusCode).toBe(200);
    expect((await keys(bearer(jwt))).statusCode).toBe(200);
  });

  it('answers 400 ambiguous_credentials for X-API-Key with an Authorization header, different or the same', async () => {
    for (const authorization of [`Bearer ${jwt}`, `Bearer ${apiKey}`, 'Basic dXNlcjpwYXNz', 'Bearer']) {
      const refused = await keys({ 'x-api-key': apiKey, authorization });
      expect(refused.statusCode).toBe(400);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect(refused.json()).toMatchObject({
        code: 'ambiguous_credentials',
        detail: 'The request carries both an X-API-Key and an Authorization header; send exactly one credential',
      });
      expect(refused.body).not.toContain(apiKey);
    }
  });

  it('answers 400 ambiguous_credentials for a repeated X-API-Key, also when both copies are the same key', async () => {
    const injected = await keys({ 'x-api-key': [apiKey, apiKey] });
    expect(injected.statusCode).toBe(400);
    expect(injected.json()).toMatchObject({ code: 'ambiguous_credentials' });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    for (const values of [[apiKey, apiKey], [apiKey, 'wdn_live_other']]) {
      const refused = await getWithRepeatedHeader(port, '/v1/keys', 'x-api-key', values);
      expect(refused.status).toBe(400);
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'ambiguous_credentials', detail: 'The request carries more than one X-API-Key header; send exactly one credential' });
    }
    expect((await getWithRepeatedHeader(port, '/v1/keys', 'x-api-key', [apiKey])).status).toBe(200);
  });

  it('answers 400 ambiguous_credentials for a repeated Authorization header, also when both copies are the same', async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    for (const values of [[`Bearer ${jwt}`, `Bearer ${jwt}`], [`Bearer ${jwt}`, `Bearer ${apiKey}`], [`Bearer ${apiKey}`, `Bearer ${jwt}`]]) {
      const refused = await getWithRepeatedHeader(port, '/v1/keys', 'authorization', values);
      expect(refused.status).toBe(400);
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'ambiguous_credentials', detail: 'The request carries more than one Authorization header; send exactly one credential' });
    }
    expect((await getWithRepeatedHeader(port, '/v1/keys', 'authorization', [`Bearer ${jwt}`])).status).toBe(200);
    const metrics = await getWithRepeatedHeader(port, '/metrics', 'authorization', [`Bearer ${METRICS_TOKEN}`, 'Bearer wrong']);
    expect(metrics.status).toBe(400);
    expect(JSON.parse(metrics.body)).toMatchObject({ code: 'ambiguous_credentials' });
  });

  it('answers invalid_request (RFC 6749) for a repeated Authorization header at the token endpoint', async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const basicOf = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    const refused = await getWithRepeatedHeader(port, '/oauth/token', 'authorization', [basicOf('one', 'secret-1'), basicOf('two', 'secret-2')], 'grant_type=client_credentials');
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'invalid_request', error_description: 'The request carries more than one Authorization header; send exactly one credential' });
    expect(refused.body).not.toContain('secret-');
  });

  it('refuses both headers on GET /metrics too, even when the Authorization header holds the metrics token', async () => {
    expect((await t.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).statusCode).toBe(200);
    const refused = await t.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}`, 'x-api-key': apiKey } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'ambiguous_credentials' });
  });
});
