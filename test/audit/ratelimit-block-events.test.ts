import { afterEach, expect, it } from 'vitest';
import { anyCovers } from '../../src/authz/permission-match.js';
import type { RouteModule } from '../../src/server/routes/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';

/**
 * A denial by an HTTP rate limit is audited once per policy and client per minute (the plugin)
 * and sampled per actor, address and route (the recorder): blocked clients each get their own
 * event, also when all of them are anonymous, under the actor every other event of theirs uses.
 */
const routes: RouteModule = async (app) => {
  app.get('/v1/ping', { config: { public: true } }, async () => ({ ok: true }));
  app.get(
    '/v1/me',
    { config: { permission: 'authenticated', rateLimit: { key: 'user', policies: [{ limit: 1, windowMs: 60_000, blockDurationMs: 0 }] } } },
    async () => ({ ok: true }),
  );
};

describeEachDatabase('ratelimit.blocked audit events', (dialect) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const blocks = () => t!.context.storage.db.selectFrom('audit_events').selectAll().where('action', '=', 'ratelimit.blocked').orderBy('seq').execute();

  it('records one block per client (address), not one for all anonymous clients together', async () => {
    t = await createTestApp({ dialect, env: { WARDEN_RATELIMIT_DEFAULT: '1/60s' }, routes: [routes] });
    for (const ip of ['198.51.100.7', '203.0.113.9']) {
      expect((await t.app.inject({ url: '/v1/ping', remoteAddress: ip })).statusCode).toBe(200);
      expect((await t.app.inject({ url: '/v1/ping', remoteAddress: ip })).statusCode).toBe(429);
    }
    await t.context.auditLog!.log.flush();
    const rows = await blocks();
    expect(rows.map((r) => r.ip).sort()).toEqual(['198.51.100.7', '203.0.113.9']);
  });

  it("records a user's block under actorId(principal) (the user id), like every other event", async () => {
    t = await createTestApp({ dialect, routes: [routes] });
    t.context.authorize = async (principal, permission) => anyCovers(principal.permissions, permission);
    t.context.authenticators.push(async (request) =>
      request.headers['x-test-user'] === undefined ? undefined : { kind: 'user', subject: 'u-42', permissions: [], credentialId: 'jti-1' },
    );
    await t.app.inject({ url: '/v1/me', headers: { 'x-test-user': '1' } });
    expect((await t.app.inject({ url: '/v1/me', headers: { 'x-test-user': '1' } })).statusCode).toBe(429);
    await t.context.auditLog!.log.flush();
    const rows = await blocks();
    expect(rows).toHaveLength(1);
    // actorId: GET /v1/audit?actor=u-42 finds it.
    expect(rows[0]?.actor).toBe('u-42');
  });
});
