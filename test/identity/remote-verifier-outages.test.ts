import Fastify, { type FastifyInstance } from 'fastify';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { wardenTokenGuard } from '../../src/identity/fastify-token-guard.js';
import { createRemotePermissionCheck } from '../../src/identity/remote-permission-check.js';
import {
  createRemoteTokenVerifier,
  type RemoteTokenVerifierOptions,
} from '../../src/identity/remote-token-verifier.js';
import { KeySourceUnavailableError } from '../../src/identity/token-checks.js';
import { staticToken } from '../../src/token-providers/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, login, seedUser } from './identity-helpers.js';

/**
 * A service guarding its routes with Warden's tokens must tell "this token is bad" (401) from
 * "I cannot tell" (503): a JWKS that cannot be loaded or an isRevoked hook that throws is an
 * outage. Answered as a forged token, clients would be told to log in again; answered with the
 * hook's own error, the client would read an internal message.
 */
describe('the token guard when it cannot reach a verdict', () => {
  let warden: TestApp | undefined;
  let service: FastifyInstance | undefined;
  let broken: Server | undefined;
  afterEach(async () => {
    await service?.close();
    await warden?.close();
    await new Promise((resolve) => (broken === undefined ? resolve(undefined) : broken.close(resolve)));
    [warden, service, broken] = [undefined, undefined, undefined];
  });

  async function serviceWith(
    options: Partial<RemoteTokenVerifierOptions> & { jwksUrl: string },
  ): Promise<FastifyInstance> {
    service = Fastify();
    await service.register(wardenTokenGuard, {
      verifier: createRemoteTokenVerifier({
        issuer: 'warden',
        audience: 'warden',
        jwksCooldownMs: 0,
        ...options,
      }),
    });
    service.get('/profile', { preHandler: service.authenticate }, async (request) => ({
      id: request.tokenUser?.id,
    }));
    await service.ready();
    return service;
  }

  async function realToken(): Promise<string> {
    warden = await createTestApp();
    const user = await seedUser(warden);
    return (await login(warden.app, user.email)).access_token;
  }

  it('a JWKS that does not answer, or answers 500, is 503 service_unavailable with Retry-After, not token_invalid_signature', async () => {
    const token = await realToken();
    broken = createServer((_req, res) => res.writeHead(500).end('down'));
    await new Promise<void>((resolve) => broken?.listen(0, '127.0.0.1', resolve));
    const failing = `http://127.0.0.1:${(broken.address() as AddressInfo).port}/.well-known/jwks.json`;
    for (const jwksUrl of [failing, 'http://127.0.0.1:9/.well-known/jwks.json']) {
      const app = await serviceWith({ jwksUrl });
      const response = await app.inject({ url: '/profile', headers: bearer(token) });
      expect(response.statusCode, jwksUrl).toBe(503);
      expect(response.json()).toMatchObject({ code: 'service_unavailable' });
      expect(response.headers['retry-after']).toBe('1');
      await app.close();
      service = undefined;
    }
    // The verifier itself says why it has no verdict.
    const verifier = createRemoteTokenVerifier({ jwksUrl: failing, issuer: 'warden', audience: 'warden' });
    await expect(verifier.verify(token)).rejects.toBeInstanceOf(KeySourceUnavailableError);
  });

  it("an isRevoked hook that throws is 503 problem+json without the hook's message", async () => {
    const token = await realToken();
    const address = await warden!.app.listen({ host: '127.0.0.1', port: 0 });
    const app = await serviceWith({
      jwksUrl: `${address}/.well-known/jwks.json`,
      isRevoked: async () => {
        throw new Error('redis down at 10.1.2.3');
      },
    });
    const response = await app.inject({ url: '/profile', headers: bearer(token) });
    expect(response.statusCode).toBe(503);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.body).not.toContain('redis down');
  });

  it('a malformed permission is refused where the route is defined, and the permission check answers false for one without asking', async () => {
    service = Fastify();
    let asked = 0;
    const permissionCheck = createRemotePermissionCheck({
      wardenUrl: 'http://127.0.0.1:9',
      credential: staticToken('wdn_test_unused'),
      fetch: (async () => {
        asked += 1;
        return new Response('{"allowed": true}', { status: 200 });
      }) as typeof fetch,
    });
    await service.register(wardenTokenGuard, {
      verifier: createRemoteTokenVerifier({
        jwksUrl: 'http://127.0.0.1:9/jwks',
        issuer: 'warden',
        audience: 'warden',
      }),
      permissionCheck,
    });
    await service.after();
    expect(() => service?.requirePermission('nocolon')).toThrow(/not a resource:action permission/);
    expect(await permissionCheck.check('3f2504e0-4f89-41d3-9a0c-0305e82c3301', 'nocolon')).toBe(false);
    expect(await permissionCheck.check('3f2504e0-4f89-41d3-9a0c-0305e82c3301', '')).toBe(false);
    expect(asked).toBe(0);
  });

  it('says what was wrong with a credential that is not a Bearer token, instead of "no credential"', async () => {
    const app = await serviceWith({ jwksUrl: 'http://127.0.0.1:9/jwks' });
    const basic = await app.inject({ url: '/profile', headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(basic.json()).toMatchObject({
      status: 401,
      code: 'token_missing',
      detail:
        'The Authorization header is not a Bearer access token; send Authorization: Bearer <access token>',
    });
    expect(basic.body).not.toContain('dXNlcjpwYXNz');
    expect((await app.inject({ url: '/profile' })).json()).toMatchObject({
      code: 'token_missing',
      detail: 'Send Authorization: Bearer <access token>',
    });
  });
});
