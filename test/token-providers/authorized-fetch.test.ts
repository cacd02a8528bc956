import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedFetch, staticToken, type TokenProvider } from '../../src/token-providers/index.js';

describe('authorizedFetch with a Request as input', () => {
  const received: IncomingHttpHeaders[] = [];
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    received.push(req.headers);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      bodies.push(body);
      res.statusCode = req.headers.authorization === 'Bearer stale' ? 401 : 200;
      res.end('ok');
    });
  });
  let base = '';

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  it("keeps the Request's own headers and adds the Authorization header", async () => {
    received.length = 0;
    const api = authorizedFetch(staticToken('fixed'));
    const response = await api(new Request(`${base}/thing`, { headers: { 'x-tenant': 'acme', accept: 'application/json' } }));
    expect(response.status).toBe(200);
    await response.text();
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ 'x-tenant': 'acme', accept: 'application/json', authorization: 'Bearer fixed' });
  });

  it('lets init.headers override a same-named Request header and keeps the others', async () => {
    received.length = 0;
    const api = authorizedFetch(staticToken('fixed'));
    const request = new Request(`${base}/thing`, { headers: { 'x-tenant': 'acme', 'x-trace': 't1' } });
    const response = await api(request, { headers: { 'X-Tenant': 'globex' } });
    await response.text();
    expect(received[0]).toMatchObject({ 'x-tenant': 'globex', 'x-trace': 't1', authorization: 'Bearer fixed' });
  });

  it('puts its own token over an Authorization header on the Request or in init', async () => {
    received.length = 0;
    const api = authorizedFetch(staticToken('fixed'));
    const response = await api(new Request(`${base}/thing`, { headers: { authorization: 'Bearer stale', 'x-tenant': 'acme' } }), { headers: { authorization: 'Bearer other' } });
    await response.text();
    expect(received[0]).toMatchObject({ 'x-tenant': 'acme', authorization: 'Bearer fixed' });
  });

  it('sends a Request with a body again after a 401, with the fresh token and the same body', async () => {
    received.length = 0;
    bodies.length = 0;
    let current = 'stale';
    const rotating: TokenProvider = {
      async getToken(options) {
        if (options?.rejected === current) current = 'fresh';
        return current;
      },
    };
    const api = authorizedFetch(rotating);
    const response = await api(new Request(`${base}/thing`, { method: 'POST', body: '{"n":1}', headers: { 'content-type': 'application/json' } }));
    expect(response.status).toBe(200);
    await response.text();
    expect(received.map((h) => h.authorization)).toEqual(['Bearer stale', 'Bearer fresh']);
    expect(bodies).toEqual(['{"n":1}', '{"n":1}']);
  });
});
