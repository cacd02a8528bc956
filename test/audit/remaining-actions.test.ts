import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/index.js';
import { createTestApp, TEST_SECRET_KEY, type TestApp } from '../helpers/app.js';
import { runWarden } from '../helpers/cli.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';

/** Audit actions recorded by their real code paths (HTTP and CLI), not by calling record() directly. */
describeEachDatabase('audit: actions recorded by the code that causes them', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  const actionsFor = async (entityId: string): Promise<string[]> =>
    (await t.context.storage.db.selectFrom('audit_events').select('action').where('entity_id', '=', entityId).execute()).map((r) => r.action);

  it('records user.deactivated and user.deleted from the /v1/users routes', async () => {
    t = await createTestApp({ dialect });
    const admin = await seedUser(t, { isAdmin: true });
    const auth = bearer((await login(t.app, admin.email)).access_token);
    const user = await seedUser(t);
    expect((await t.app.inject({ method: 'PATCH', url: `/v1/users/${user.id}`, headers: auth, payload: { is_active: false } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${user.id}`, headers: auth })).statusCode).toBeLessThan(300);
    expect(await actionsFor(user.id)).toEqual(expect.arrayContaining(['user.created', 'user.deactivated', 'user.deleted']));
  });

  it('records apikey.verification_denied for a revoked key, with the prefix and never the key', async () => {
    t = await createTestApp({ dialect });
    const owner = await seedUser(t, { isAdmin: true });
    const { key, record } = await t.context.apiKeys!.service.create({ name: 'ci', ownerId: owner.id, permissions: ['keys:read'] }, { actor: 'system' });
    await t.context.apiKeys!.service.revoke(record.id, { actor: 'system' });
    const response = await t.app.inject({ url: '/v1/keys', headers: { 'x-api-key': key } });
    expect(response.statusCode).toBe(401);
    const rows = await t.context.storage.db.selectFrom('audit_events').selectAll().where('action', '=', 'apikey.verification_denied').execute();
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows)).not.toContain(key);
  });
});

describe('audit: signing_key.rotated from `warden keys rotate-signing`', () => {
  it('is recorded with the new kid', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'warden-audit-rotate-'));
    const url = `sqlite:${path.join(cwd, 'w.db')}`;
    const result = await runWarden(['keys', 'rotate-signing'], { cwd, env: { WARDEN_SECRET_KEY: TEST_SECRET_KEY, WARDEN_DATABASE_URL: url, WARDEN_LOG_LEVEL: 'silent' } });
    expect(result.code, result.stderr).toBe(0);
    const kid = /new signing key (\S+)/.exec(result.stdout)?.[1];
    const storage = openDatabase(url);
    try {
      const rows = await storage.db.selectFrom('audit_events').select(['action', 'entity_id']).where('action', '=', 'signing_key.rotated').execute();
      expect(rows).toEqual([{ action: 'signing_key.rotated', entity_id: kid }]);
    } finally {
      await storage.close();
    }
  });
});
