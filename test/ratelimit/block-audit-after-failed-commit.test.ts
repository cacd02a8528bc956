import { afterEach, expect, it } from 'vitest';
import type { RouteModule } from '../../src/server/routes/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';

const routes: RouteModule = async (app) => {
  app.get('/v1/ping', { config: { public: true } }, async () => ({ ok: true }));
};

/**
 * The rate-limit plugin audits at most one block per policy group and client per minute. A
 * block whose event could not be committed (a database blip) does not spend that minute: the
 * client's next block is recorded, as the recorder's own sampler gives a failed event's window
 * back (docs/audit.md).
 */
describeEachDatabase('rate-limit block audit after a failed commit', (dialect) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('records the next block of the same client when the first block event could not be committed', async () => {
    t = await createTestApp({ dialect, env: { WARDEN_RATELIMIT_DEFAULT: '1/60s' }, routes: [routes] });
    const db = t.context.storage.db;
    const ip = '198.51.100.23';
    expect((await t.app.inject({ url: '/v1/ping', remoteAddress: ip })).statusCode).toBe(200);
    await db.updateTable('audit_chain_head').set({ id: 'away' }).where('id', '=', 'head').execute();
    expect((await t.app.inject({ url: '/v1/ping', remoteAddress: ip })).statusCode).toBe(429);
    await t.context.auditLog!.log.flush();
    await db.updateTable('audit_chain_head').set({ id: 'head' }).where('id', '=', 'away').execute();
    // Same client, same minute: neither the recorder's window nor the plugin's is spent.
    expect((await t.app.inject({ url: '/v1/ping', remoteAddress: ip })).statusCode).toBe(429);
    await t.context.auditLog!.log.flush();
    const rows = await db.selectFrom('audit_events').select('ip').where('action', '=', 'ratelimit.blocked').execute();
    expect(rows).toHaveLength(1);
  });
});
