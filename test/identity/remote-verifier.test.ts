import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { wardenTokenGuard } from '../../src/identity/fastify-token-guard.js';
import { createRemoteTokenVerifier } from '../../src/identity/remote-token-verifier.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, identityOfApp, login, seedUser } from './identity-helpers.js';

describe('a separate service verifying Warden tokens with only the JWKS URL', () => {
  let warden: TestApp;
  let service: FastifyInstance;
  let jwksUrl: string;

  beforeEach(async () => {
    warden = await createTestApp();
    const address = await warden.app.listen({ host: '127.0.0.1', port: 0 });
    jwksUrl = `${address}/.well-known/jwks.json`;
    service = Fastify();
    await service.register(wardenTokenGuard, { verifier: createRemoteTokenVerifier({ jwksUrl, issuer: 'warden', audience: 'warden', jwksCooldownMs: 0 }) });
    service.get('/profile', { preHandler: service.authenticate }, async (request) => ({ id: request.tokenUser?.id }));
    service.get('/admin', { preHandler: service.requirePermission('reports:read') }, async () => ({ ok: true }));
    await service.ready();
  });
  afterEach(async () => {
    await service.close();
    await warden.close();
  });

  it('accepts a real token, reports the user, and enforces permissions from the token', async () => {
    const user = await seedUser(warden);
    const admin = await seedUser(warden, { isAdmin: true });
    const userTokens = await login(warden.app, user.email);
    const adminTokens = await login(warden.app, admin.email);
    const profile = await service.inject({ method: 'GET', url: '/profile', headers: bearer(userTokens.access_token) });
    expect(profile.json()).toEqual({ id: user.id });
    expect((await service.inject({ method: 'GET', url: '/admin', headers: bearer(userTokens.access_token) })).statusCode).toBe(403);
    expect((await service.inject({ method: 'GET', url: '/admin', headers: bearer(adminTokens.access_token) })).statusCode).toBe(200);
  });

  it('refuses two Authorization headers (400 ambiguous_credentials) rather than acting on the first', async () => {
    const user = await seedUser(warden);
    const admin = await seedUser(warden, { isAdmin: true });
    const [userToken, adminToken] = [(await login(warden.app, user.email)).access_token, (await login(warden.app, admin.email)).access_token];
    await service.listen({ host: '127.0.0.1', port: 0 });
    const { port } = service.server.address() as AddressInfo;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/admin' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      // Node sends one header line per value; its server keeps only the first Authorization.
      req.setHeader('authorization', [`Bearer ${adminToken}`, `Bearer ${userToken}`]);
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'ambiguous_credentials' });
  });

  it('answers 401 problem+json with the specific code', async () => {
    const missing = await service.inject({ method: 'GET', url: '/profile' });
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toMatchObject({ code: 'token_missing' });
    const user = await seedUser(warden);
    const tokens = await login(warden.app, user.email);
    const [h, p, s] = tokens.access_token.split('.') as [string, string, string];
    const tampered = await service.inject({ method: 'GET', url: '/profile', headers: bearer(`${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`) });
    expect(tampered.json()).toMatchObject({ status: 401, code: 'token_invalid_signature' });
    expect(tampered.headers['content-type']).toContain('application/problem+json');
  });

  it('picks up a rotated signing key from the JWKS (unknown kid triggers a refetch)', async () => {
    const user = await seedUser(warden);
    await login(warden.app, user.email).then((t) => service.inject({ method: 'GET', url: '/profile', headers: bearer(t.access_token) }));
    await identityOfApp(warden).keys.rotate();
    const fresh = await login(warden.app, user.email);
    const response = await service.inject({ method: 'GET', url: '/profile', headers: bearer(fresh.access_token) });
    expect(response.statusCode).toBe(200);
  });
});
