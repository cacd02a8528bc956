import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { identityOf } from '../../src/identity/identity-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer } from '../identity/identity-helpers.js';
import { RL, seed } from './hot-path-fixtures.js';
import { installSqlCounter, type SqlCounter } from '../helpers/sql-counter.js';

// Requests that miss a status cache at the same moment (an entry expired or was invalidated, or
// the bus is not heard and entries live 1 s) share one read, as the API-key verifier and the
// authz service do: not one identical SELECT each, each holding a pool connection.
let counter: SqlCounter;
beforeAll(() => {
  counter = installSqlCounter();
});
afterAll(() => counter.restore());

const USER_STATUS_READ = 'select "is_active", "is_admin" from "users"';
const CLIENT_STATUS_READ = 'select "oauth_clients"."revoked_at"';

describeEachDatabase('concurrent cache misses share one load', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp({
      dialect,
      env: { WARDEN_AUTHZ_CACHE_TTL_MS: '600000', WARDEN_API_KEY_CACHE_TTL_MS: '60000' },
    });
  });
  afterEach(async () => t.close());

  it("10 concurrent requests of one user whose status is not cached read the user's status once", async () => {
    const s = await seed(t);
    const request = {
      method: 'POST' as const,
      url: '/v1/ratelimit',
      headers: bearer(s.userToken),
      payload: RL,
    };
    expect((await t.app.inject(request)).statusCode).toBe(200); // warm everything
    await identityOf(t.context).userStatus.invalidate(s.user.id); // what a change of the user sends: the status is read again
    counter.start();
    const responses = await Promise.all(Array.from({ length: 10 }, () => t.app.inject(request)));
    const statements = counter.stop();
    expect(responses.map((r) => r.statusCode)).toEqual(Array.from({ length: 10 }, () => 200));
    expect(statements.filter((sql) => sql.startsWith(USER_STATUS_READ))).toHaveLength(1);
  });

  it("10 concurrent requests with one client's token whose status is not cached read the client's status once", async () => {
    const s = await seed(t);
    const request = {
      method: 'POST' as const,
      url: '/v1/ratelimit',
      headers: bearer(s.clientToken),
      payload: RL,
    };
    expect((await t.app.inject(request)).statusCode).toBe(200);
    await t.context.invalidation.publish({ topic: 'oauth-client', id: s.client.id }); // what a revocation elsewhere sends
    counter.start();
    const responses = await Promise.all(Array.from({ length: 10 }, () => t.app.inject(request)));
    const statements = counter.stop();
    expect(responses.map((r) => r.statusCode)).toEqual(Array.from({ length: 10 }, () => 200));
    expect(statements.filter((sql) => sql.startsWith(CLIENT_STATUS_READ))).toHaveLength(1);
  });
});
