import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const TRUSTED = { WARDEN_TRUSTED_HOSTS: 'api.example.com' };
// What a Kubernetes or load-balancer probe sends: the pod's address and port.
const POD_HOST = '10.1.2.3:8080';

async function build(env: Record<string, string> = TRUSTED): Promise<TestApp> {
  t = await createTestApp({ env });
  return t;
}

/** Sends one request exactly as written (no client-side normalisation of the target or Host). */
function raw(port: number, head: string): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`${head}\r\n\r\n`));
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('end', () => {
      const [responseHead = '', body = ''] = data.split('\r\n\r\n');
      resolve({ status: Number(responseHead.split(' ')[1]), head: responseHead, body });
    });
  });
}

async function listening(app: TestApp): Promise<number> {
  await app.app.listen({ port: 0, host: '127.0.0.1' });
  return (app.app.server.address() as AddressInfo).port;
}

describe('health probes under WARDEN_TRUSTED_HOSTS', () => {
  it('answer GET and HEAD of /healthz and /readyz whatever the Host, and never echo it', async () => {
    const app = await build();
    for (const host of [POD_HOST, '10.1.2.3', 'evil.example', '[fd00::7]:8080', 'evil.example/path@x']) {
      for (const method of ['GET', 'HEAD'] as const) {
        for (const url of ['/healthz', '/readyz']) {
          const response = await app.app.inject({ method, url, headers: { host } });
          expect(response.statusCode, `${method} ${url} Host: ${host}`).toBe(200);
          const everything = JSON.stringify(response.headers) + response.body;
          expect(everything).not.toContain(host);
        }
      }
    }
    // Also when a trusted proxy passes on a Host nobody listed.
    await app.close();
    const proxied = await build({ ...TRUSTED, WARDEN_TRUST_PROXY: 'loopback' });
    const response = await proxied.app.inject({ url: '/healthz', headers: { host: POD_HOST, 'x-forwarded-host': 'evil.example' } });
    expect(response.statusCode).toBe(200);
    expect(JSON.stringify(response.headers) + response.body).not.toContain('evil.example');
  });

  it('answer a probe that adds a query string (the path decides, as for the HTTPS redirect)', async () => {
    const app = await build();
    expect((await app.app.inject({ url: '/healthz?source=lb', headers: { host: POD_HOST } })).statusCode).toBe(200);
  });

  it('are still served on a trusted Host, and not redirected to HTTPS from the pod address', async () => {
    const app = await build({ ...TRUSTED, WARDEN_HTTPS_REDIRECT: 'true' });
    expect((await app.app.inject({ url: '/healthz', headers: { host: 'api.example.com' } })).statusCode).toBe(200);
    const probe = await app.app.inject({ url: '/readyz', headers: { host: POD_HOST } });
    expect(probe.statusCode).toBe(200);
    expect(probe.headers.location).toBeUndefined();
  });

  it('every other route, method and unmatched path still refuses an untrusted Host with 400 invalid_host', async () => {
    const app = await build();
    const refused = [
      { method: 'GET', url: '/v1/auth/me' },
      { method: 'POST', url: '/v1/auth/login', payload: { email: 'a@example.test', password: 'x' } },
      { method: 'GET', url: '/metrics' },
      { method: 'GET', url: '/nope' },
      { method: 'GET', url: '/v1/users?x=/healthz' },
      // Only GET and HEAD are probes.
      { method: 'POST', url: '/healthz' },
      { method: 'DELETE', url: '/readyz' },
      { method: 'OPTIONS', url: '/healthz' },
    ] as const;
    for (const request of refused) {
      const response = await app.app.inject({ ...request, headers: { host: POD_HOST } });
      expect(response.statusCode, `${request.method} ${request.url}`).toBe(400);
      expect(response.json(), `${request.method} ${request.url}`).toMatchObject({ code: 'invalid_host' });
    }
  });

  // Over a socket: inject() would normalise these targets before the hook saw them.
  it.each([
    ['/healthz/', 'invalid_host'],
    ['//healthz', 'invalid_host'],
    ['/HEALTHZ', 'invalid_host'],
    ['/Readyz', 'invalid_host'],
    ['/%68ealthz', 'invalid_host'],
    ['/healthz%2f', 'invalid_host'],
    ['/healthz;x', 'invalid_host'],
    ['/healthz#x', 'invalid_host'],
    ['/healthz/..', 'invalid_path'],
    ['/healthz%00', 'invalid_path'],
    ['http://api.example.com/healthz', 'invalid_host'],
  ])('a path variant %s is no probe: refused (%s)', async (target, code) => {
    const app = await build();
    const port = await listening(app);
    const response = await raw(port, `GET ${target} HTTP/1.1\r\nHost: ${POD_HOST}\r\nConnection: close`);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ code });
    expect((await raw(port, `GET /healthz HTTP/1.1\r\nHost: ${POD_HOST}\r\nConnection: close`)).status).toBe(200);
  });

  it('still refuses a probe without any Host on HTTP/1.1 (RFC 9112); HTTP/1.0 needs none', async () => {
    const app = await build();
    const port = await listening(app);
    const missing = await raw(port, 'GET /healthz HTTP/1.1\r\nConnection: close');
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.body)).toMatchObject({ code: 'invalid_host', detail: 'The Host header is missing' });
    expect((await raw(port, 'GET /healthz HTTP/1.0')).status).toBe(200);
  });
});
