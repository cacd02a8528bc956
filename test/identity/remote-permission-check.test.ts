import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import type { Principal } from '../../src/http/principal.js';
import { wardenTokenGuard } from '../../src/identity/fastify-token-guard.js';
import { createRemotePermissionCheck, type RemotePermissionCheck, type RemotePermissionCheckOptions } from '../../src/identity/remote-permission-check.js';
import { createRemoteTokenVerifier } from '../../src/identity/remote-token-verifier.js';
import { basic, FORM, seedClient } from '../oauth/oauth-helpers.js';
import { staticToken } from '../../src/token-providers/static-token.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, login, seedUser } from './identity-helpers.js';

const ROOT = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'test' } satisfies Principal, auditActor: 'system' };

describe("another service's guard asking Warden for a user's role-based permissions", () => {
  let warden: TestApp;
  let wardenUrl: string;
  let serviceKey: string;
  let service: FastifyInstance | undefined;
  let serviceLogs: string;
  /** Requests sent to Warden's /v1/authz/check (through countingFetch). */
  let checks: number;

  beforeEach(async () => {
    warden = await createTestApp();
    wardenUrl = await warden.app.listen({ host: '127.0.0.1', port: 0 });
    checks = 0;
    // The other service's own credential: an API key holding only authz:read.
    const operator = await seedUser(warden, { isAdmin: true });
    serviceKey = (await (warden.context.apiKeys as ApiKeys).service.create({ name: 'reports-service', ownerId: operator.id, permissions: ['authz:read'] }, { actor: 'system' })).key;
    serviceLogs = '';
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
    await warden.close();
  });

  /** The other service: /reports needs reports:read, /reports/edit reports:write. */
  async function startService(permissionCheck: RemotePermissionCheck | undefined): Promise<FastifyInstance> {
    const app = Fastify({ logger: { level: 'warn', stream: new Writable({ write: (chunk: Buffer, _e, cb) => ((serviceLogs += chunk.toString()), cb()) }) } });
    const verifier = createRemoteTokenVerifier({ jwksUrl: `${wardenUrl}/.well-known/jwks.json`, issuer: 'warden', audience: 'warden', jwksCooldownMs: 0 });
    await app.register(wardenTokenGuard, permissionCheck === undefined ? { verifier } : { verifier, permissionCheck });
    app.get('/reports', { preHandler: app.requirePermission('reports:read') }, async (request) => ({ user: request.tokenUser?.id }));
    app.get('/reports/edit', { preHandler: app.requirePermission('reports:write') }, async () => ({ ok: true }));
    await app.ready();
    service = app;
    return app;
  }

  const countingFetch: typeof fetch = (input, init) => {
    checks += 1;
    return fetch(input, init);
  };
  const checkWith = (options: Partial<RemotePermissionCheckOptions> = {}): RemotePermissionCheck =>
    createRemotePermissionCheck({ wardenUrl, credential: staticToken(serviceKey), fetch: countingFetch, ...options });

  /** A user holding `role` globally, logged in. */
  async function memberOf(role: string): Promise<{ id: string; auth: Record<string, string> }> {
    const user = await seedUser(warden);
    await warden.context.authz?.assignRole(ROOT, { userId: user.id, role });
    return { id: user.id, auth: bearer((await login(warden.app, user.email)).access_token) };
  }

  it('without a permission check, a member holding *:read is refused: a login token carries no permissions', async () => {
    const app = await startService(undefined);
    const member = await memberOf('member');
    const response = await app.inject({ url: '/reports', headers: member.auth });
    expect(response.statusCode).toBe(403);
    expect(checks).toBe(0);
  });

  it("with it, passes a user whose roles grant the permission and refuses one whose roles do not", async () => {
    const app = await startService(checkWith());
    const member = await memberOf('member'); // member inherits reader: *:read, plus keys:write
    const ok = await app.inject({ url: '/reports', headers: member.auth });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({ user: member.id });
    const write = await app.inject({ url: '/reports/edit', headers: member.auth });
    expect(write.statusCode).toBe(403);
    expect(write.json()).toMatchObject({ code: 'forbidden' });

    const nobody = await memberOf('reader');
    await warden.context.authz?.removeRole(ROOT, { userId: nobody.id, role: 'reader' });
    expect((await app.inject({ url: '/reports', headers: nobody.auth })).statusCode).toBe(403);
    const admin = await seedUser(warden, { isAdmin: true });
    expect((await app.inject({ url: '/reports/edit', headers: bearer((await login(warden.app, admin.email)).access_token) })).statusCode).toBe(200);
  });

  it('reuses an answer for cacheTtlMs, sharing one request between concurrent callers', async () => {
    const app = await startService(checkWith({ cacheTtlMs: 60_000 }));
    const member = await memberOf('member');
    const responses = await Promise.all([1, 2, 3].map(() => app.inject({ url: '/reports', headers: member.auth })));
    expect(responses.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expect((await app.inject({ url: '/reports', headers: member.auth })).statusCode).toBe(200);
    expect(checks).toBe(1);
    // A refusal is an answer too.
    expect((await app.inject({ url: '/reports/edit', headers: member.auth })).statusCode).toBe(403);
    expect((await app.inject({ url: '/reports/edit', headers: member.auth })).statusCode).toBe(403);
    expect(checks).toBe(2);
  });

  it('sees a removed role on the next request when answers are not cached', async () => {
    const app = await startService(checkWith({ cacheTtlMs: 0 }));
    const member = await memberOf('member');
    expect((await app.inject({ url: '/reports', headers: member.auth })).statusCode).toBe(200);
    await warden.context.authz?.removeRole(ROOT, { userId: member.id, role: 'member' });
    expect((await app.inject({ url: '/reports', headers: member.auth })).statusCode).toBe(403);
  });

  it('fails closed with 503 when Warden refuses the credential or does not answer, and never logs the credential', async () => {
    const member = await memberOf('member');
    // A key without authz:read: Warden answers 403, so nothing is known.
    const weakKey = (await (warden.context.apiKeys as ApiKeys).service.create({ name: 'weak', ownerId: member.id, permissions: ['keys:read'] }, { actor: 'system' })).key;
    let app = await startService(checkWith({ credential: staticToken(weakKey) }));
    const refused = await app.inject({ url: '/reports', headers: member.auth });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.json()).toMatchObject({ status: 503, code: 'service_unavailable' });
    // As every 503 of the guard: a client knows when to try again.
    expect(refused.headers['retry-after']).toBe('1');
    expect(serviceLogs).toContain('warden permission check failed');
    expect(serviceLogs).toContain('HTTP 403');
    expect(`${serviceLogs}${refused.body}`).not.toContain(weakKey);
    await app.close();

    // Nothing listening where Warden should be; failures are not cached.
    app = await startService(checkWith({ wardenUrl: 'http://127.0.0.1:9', timeoutMs: 500 }));
    for (let i = 0; i < 2; i += 1) expect((await app.inject({ url: '/reports', headers: member.auth })).statusCode).toBe(503);
    expect(`${serviceLogs}`).not.toContain(serviceKey);
  });

  it('leaves client-credentials tokens to their scope, without asking Warden', async () => {
    const app = await startService(checkWith());
    const client = await seedClient(warden, ['reports:read']);
    const grant = await warden.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM, authorization: basic(client.clientId, client.secret) }, payload: 'grant_type=client_credentials' });
    const auth = bearer(grant.json<{ access_token: string }>().access_token);
    expect((await app.inject({ url: '/reports', headers: auth })).statusCode).toBe(200);
    expect((await app.inject({ url: '/reports/edit', headers: auth })).statusCode).toBe(403);
    expect(checks).toBe(0);
  });

  it('answers scoped questions for service code, and refuses what Warden could never allow without asking', async () => {
    const check = checkWith({ cacheTtlMs: 0 });
    const user = await seedUser(warden);
    await warden.context.authz?.assignRole(ROOT, { userId: user.id, role: 'reader', scope: 'tenant-a' });
    expect(await check.check(user.id, 'reports:read', 'tenant-a')).toBe(true);
    expect(await check.check(user.id, 'reports:read', 'tenant-b')).toBe(false);
    expect(await check.check(user.id, 'reports:read')).toBe(false);
    const before = checks;
    expect(await check.check('x'.repeat(101), 'reports:read')).toBe(false);
    expect(await check.check(user.id, 'reports:read', 'bad scope')).toBe(false);
    expect(checks).toBe(before);
  });

  it('is bounded by timeoutMs while fetching its own credential too (a token endpoint that hangs)', async () => {
    const hanging = { getToken: () => new Promise<string>(() => undefined) };
    const check = createRemotePermissionCheck({ wardenUrl: 'http://127.0.0.1:9', allowInsecureHttp: true, credential: hanging, timeoutMs: 50 });
    await expect(check.check('6f1c1f5e-93b5-4a4e-9a53-0c0d7b0f3e11', 'reports:read')).rejects.toThrow(/did not answer/);
  });

  it('refuses a Warden URL the credential should not travel to', () => {
    const credential = staticToken('wdn_live_example');
    expect(() => createRemotePermissionCheck({ wardenUrl: 'http://auth.example.com', credential })).toThrow(/must be https/);
    expect(() => createRemotePermissionCheck({ wardenUrl: 'https://user:pass@auth.example.com', credential })).toThrow(/must not contain credentials/);
    expect(() => createRemotePermissionCheck({ wardenUrl: 'https://auth.example.com', credential, cacheTtlMs: 3_600_000 })).toThrow(RangeError);
    expect(() => createRemotePermissionCheck({ wardenUrl: 'http://auth.internal', credential, allowInsecureHttp: true })).not.toThrow();
  });
});
