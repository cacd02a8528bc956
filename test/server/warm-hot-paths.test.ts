import type { InjectOptions } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { identityOf } from '../../src/identity/identity-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer } from '../identity/identity-helpers.js';
import { FORM } from '../oauth/oauth-helpers.js';
import { RL, seed } from './hot-path-fixtures.js';
import { installSqlCounter, type SqlCounter } from '../helpers/sql-counter.js';

// The hot paths (verify a JWT, verify an API key, check a permission, take a rate-limit token;
// introspection, which a resource server calls per request) issue no SQL statement once their
// caches are warm. Counted at the driver: every statement, any table, any kind.
let counter: SqlCounter;
beforeAll(() => {
  counter = installSqlCounter();
});
afterAll(() => counter.restore());

const USER_STATUS_READ = 'select "is_active", "is_admin" from "users"';
const CLIENT_STATUS_READ = 'select "oauth_clients"."revoked_at"';

describeEachDatabase('warm hot paths issue no SQL statement', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    // Long cache lives, so "warm" does not depend on how fast this machine runs the test.
    t = await createTestApp({
      dialect,
      env: { WARDEN_AUTHZ_CACHE_TTL_MS: '600000', WARDEN_API_KEY_CACHE_TTL_MS: '60000' },
    });
  });
  afterEach(async () => t.close());

  it('token, API key, verify, authz check, rate limit and healthz requests', async () => {
    const s = await seed(t);
    const cases: Record<string, InjectOptions> = {
      'user token with a role': {
        method: 'POST',
        url: '/v1/ratelimit',
        headers: bearer(s.userToken),
        payload: RL,
      },
      'admin token': { method: 'POST', url: '/v1/ratelimit', headers: bearer(s.adminToken), payload: RL },
      'restricted admin token': {
        method: 'POST',
        url: '/v1/ratelimit',
        headers: bearer(s.restrictedAdminToken),
        payload: RL,
      },
      'restricted user token': {
        method: 'POST',
        url: '/v1/ratelimit',
        headers: bearer(s.restrictedUserToken),
        payload: RL,
      },
      'client token': { method: 'POST', url: '/v1/ratelimit', headers: bearer(s.clientToken), payload: RL },
      'X-API-Key': { method: 'POST', url: '/v1/ratelimit', headers: { 'x-api-key': s.key }, payload: RL },
      'Bearer wdn_': { method: 'POST', url: '/v1/ratelimit', headers: bearer(s.key), payload: RL },
      'keys/verify': {
        method: 'POST',
        url: '/v1/keys/verify',
        headers: { 'x-api-key': s.gatewayKey },
        payload: { key: s.key, permissions: ['ratelimit:check'] },
      },
      'authz/check': {
        method: 'POST',
        url: '/v1/authz/check',
        headers: bearer(s.userToken),
        payload: { subject: s.user.id, permission: 'ratelimit:check' },
      },
      'authz/check scoped': {
        method: 'POST',
        url: '/v1/authz/check',
        headers: { 'x-api-key': s.key },
        payload: { subject: s.user.id, permission: 'ratelimit:check', scope: 'org-a' },
      },
      healthz: { method: 'GET', url: '/healthz' },
    };
    const seen: Record<string, string[]> = {};
    for (const [name, request] of Object.entries(cases)) {
      for (let i = 0; i < 2; i++) expect((await t.app.inject(request)).statusCode, name).toBe(200);
      counter.start();
      const res = await t.app.inject(request);
      seen[name] = counter.stop();
      expect(res.statusCode, name).toBe(200);
    }
    expect(seen).toEqual(Object.fromEntries(Object.keys(cases).map((name) => [name, []])));
  });

  it('introspection of a client token, a user token and an API key, with the same client credentials', async () => {
    const s = await seed(t);
    for (const [token, kind] of [
      [s.clientToken, 'client token'],
      [s.userToken, 'user token'],
      [s.key, 'API key'],
    ] as const) {
      const request = {
        method: 'POST' as const,
        url: '/oauth/introspect',
        headers: { ...FORM, authorization: s.client.authorization },
        payload: `token=${token}`,
      };
      for (let i = 0; i < 2; i++)
        expect((await t.app.inject(request)).json(), kind).toMatchObject({ active: true });
      counter.start();
      const res = await t.app.inject(request);
      const statements = counter.stop();
      expect(res.json(), kind).toMatchObject({ active: true });
      expect(statements, kind).toEqual([]);
    }
  });

  // Requests that miss a status cache at the same moment (an entry expired or was invalidated,
  // or the bus is not heard and entries live 1 s) share one read, as the API-key verifier and the
  // authz service do: not one identical SELECT each, each holding a pool connection.
  /** The statements starting with `read` that 10 concurrent requests send after `invalidate`, warm otherwise. */
  async function readsOfConcurrentMisses(
    headers: Record<string, string>,
    invalidate: () => Promise<void>,
    read: string,
  ): Promise<string[]> {
    const request = { method: 'POST' as const, url: '/v1/ratelimit', headers, payload: RL };
    expect((await t.app.inject(request)).statusCode).toBe(200); // warm everything
    await invalidate();
    counter.start();
    const responses = await Promise.all(Array.from({ length: 10 }, () => t.app.inject(request)));
    const statements = counter.stop();
    expect(responses.map((r) => r.statusCode)).toEqual(Array.from({ length: 10 }, () => 200));
    return statements.filter((sql) => sql.startsWith(read));
  }

  it("10 concurrent requests of one user whose status is not cached read the user's status once", async () => {
    const s = await seed(t);
    // What a change of the user sends: the status is read again.
    const reads = await readsOfConcurrentMisses(
      bearer(s.userToken),
      () => identityOf(t.context).userStatus.invalidate(s.user.id),
      USER_STATUS_READ,
    );
    expect(reads).toHaveLength(1);
  });

  it("10 concurrent requests with one client's token whose status is not cached read the client's status once", async () => {
    const s = await seed(t);
    // What a revocation elsewhere sends.
    const reads = await readsOfConcurrentMisses(
      bearer(s.clientToken),
      () => t.context.invalidation.publish({ topic: 'oauth-client', id: s.client.id }),
      CLIENT_STATUS_READ,
    );
    expect(reads).toHaveLength(1);
  });
});
