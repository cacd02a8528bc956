import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function build(env: Record<string, string>): Promise<TestApp> {
  t = await createTestApp({ env: { WARDEN_HTTPS_REDIRECT: 'true', ...env } });
  return t;
}

/** A plain-HTTP request as it arrives from `from` (default: the trusted proxy on loopback). */
function plainHttp(app: TestApp, headers: Record<string, string>, from = '127.0.0.1') {
  return app.app.inject({ url: '/v1/users?page=2', remoteAddress: from, headers });
}

/** Sends a GET with the Host header exactly as given (inject() would not send an invalid one). */
function rawGet(port: number, host: string): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET /v1/users HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('end', () => {
      const head = data.split('\r\n\r\n')[0] ?? '';
      const location = /\r\nlocation: ([^\r]*)/i.exec(head)?.[1];
      resolve({ status: Number(head.split(' ')[1]), location });
    });
  });
}

describe('HTTPS redirect never points at an untrusted host', () => {
  it('with trusted hosts, refuses an untrusted X-Forwarded-Host from a trusted proxy instead of redirecting to it', async () => {
    const app = await build({ WARDEN_TRUSTED_HOSTS: 'api.example.com', WARDEN_TRUST_PROXY: 'loopback' });
    const attack = await plainHttp(app, { host: 'api.example.com', 'x-forwarded-host': 'evil.example.net' });
    expect(attack.headers.location).toBeUndefined();
    expect(attack.statusCode).toBe(400);
    expect(attack.json()).toMatchObject({ code: 'invalid_host' });
  });

  it('with trusted hosts, redirects to a trusted X-Forwarded-Host (the public name behind the proxy)', async () => {
    const app = await build({ WARDEN_TRUSTED_HOSTS: 'api.example.com,*.example.com', WARDEN_TRUST_PROXY: 'loopback' });
    const response = await plainHttp(app, { host: 'api.example.com', 'x-forwarded-host': 'login.example.com' });
    expect(response.statusCode).toBe(308);
    expect(response.headers.location).toBe('https://login.example.com/v1/users?page=2');
  });

  it('with trusted hosts, a wildcard entry does not admit a host that smuggles a path ("evil.net/.example.com")', async () => {
    const app = await build({ WARDEN_TRUSTED_HOSTS: '*.example.com', WARDEN_TRUST_PROXY: 'loopback' });
    const attack = await plainHttp(app, { host: 'api.example.com', 'x-forwarded-host': 'evil.example.net/.example.com' });
    expect(attack.headers.location).toBeUndefined();
    expect(attack.json()).toMatchObject({ code: 'invalid_host' });
  });

  it('with trusted hosts, ignores X-Forwarded-Host from an untrusted peer and checks the Host header', async () => {
    const app = await build({ WARDEN_TRUSTED_HOSTS: 'api.example.com', WARDEN_TRUST_PROXY: 'loopback' });
    const response = await plainHttp(app, { host: 'api.example.com', 'x-forwarded-host': 'evil.example.net' }, '192.0.2.50');
    expect(response.statusCode).toBe(308);
    expect(response.headers.location).toBe('https://api.example.com/v1/users?page=2');
  });

  it('without trusted hosts, redirects to the Host header and never to X-Forwarded-Host', async () => {
    const app = await build({ WARDEN_TRUST_PROXY: 'loopback' });
    const response = await plainHttp(app, { host: 'api.example.com', 'x-forwarded-host': 'evil.example.net' });
    expect(response.statusCode).toBe(308);
    expect(response.headers.location).toBe('https://api.example.com/v1/users?page=2');
  });

  it('without trusted hosts, refuses to build a redirect from a Host header that is not a plain host[:port]', async () => {
    const app = await build({});
    await app.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.app.server.address() as AddressInfo;
    for (const host of ['evil.example.net/.api.example.com', 'api.example.com@evil.example.net', 'evil.example.net\\x']) {
      const response = await rawGet(port, host);
      expect(response.location).toBeUndefined();
      expect(response.status).toBe(400);
    }
    expect(await rawGet(port, 'api.example.com:8080')).toEqual({ status: 308, location: 'https://api.example.com:8080/v1/users' });
    expect(await rawGet(port, '[::1]:8080')).toEqual({ status: 308, location: 'https://[::1]:8080/v1/users' });
  });
});

describe('trusted-host check covers the host the app uses', () => {
  it('rejects an untrusted X-Forwarded-Host even without the redirect (request.host feeds e.g. the OAuth issuer)', async () => {
    t = await createTestApp({ env: { WARDEN_TRUSTED_HOSTS: 'api.example.com', WARDEN_TRUST_PROXY: 'loopback' } });
    // The OAuth metadata names its issuer from request.host. (The health probes, which name no
    // host, are exempt: test/http/health-probes.test.ts.)
    const url = '/.well-known/oauth-authorization-server';
    const attack = await t.app.inject({ url, headers: { host: 'api.example.com', 'x-forwarded-host': 'evil.example.net' } });
    expect(attack.statusCode).toBe(400);
    expect(attack.json()).toMatchObject({ code: 'invalid_host' });
    expect(attack.body).not.toContain('evil.example.net');
    const fine = await t.app.inject({ url, headers: { host: 'api.example.com', 'x-forwarded-host': 'api.example.com' } });
    expect(fine.statusCode).toBe(200);
  });
});
