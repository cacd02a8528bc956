import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import type { Principal } from '../../src/http/principal.js';
import { identityOf } from '../../src/identity/identity-service.js';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { seedUser } from '../identity/identity-helpers.js';

const ROOT = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'test' } satisfies Principal, auditActor: 'system' };

describeEachDatabase('refused client scope escalations are audited as denied (review R-OAUTH-3)', (dialect) => {
  let t: TestApp;
  let user: string;
  /** A key of `user` carrying clients:write only; its owner also holds keys:read. */
  let narrowKey: { key: string; id: string };

  beforeEach(async () => {
    t = await createTestApp({ dialect });
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    await identityOf(t.context).initialise();
    user = (await seedUser(t)).id;
    await authz.createRole(ROOT, { name: 'cw', permissions: ['clients:write', 'keys:read'] });
    await authz.assignRole(ROOT, { userId: user, role: 'cw' });
    const issued = await (t.context.apiKeys as ApiKeys).service.create({ name: 'k', ownerId: user, permissions: ['clients:write'] }, { actor: 'system' });
    narrowKey = { key: issued.key, id: issued.record.id };
  });
  afterEach(async () => {
    await t.close();
  });

  const denied = (action: string) =>
    t.context.storage.db.selectFrom('audit_events').selectAll().where('action', '=', action).where('outcome', '=', 'denied').orderBy('seq').execute();
  const allStored = async () => JSON.stringify(await t.context.storage.db.selectFrom('audit_events').selectAll().execute());

  it('POST /v1/clients: a scope the calling key lacks (its owner holds it) is recorded as client.created denied', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/clients',
      headers: { 'x-api-key': narrowKey.key, 'user-agent': 'probe/1.0' },
      payload: { name: 'x', scopes: ['keys:read'] },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'privilege_escalation' });
    const rows = await denied('client.created');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: `apikey:${narrowKey.id}`, entity_type: 'oauth_client', entity_id: null, user_agent: 'probe/1.0' });
    expect(rows[0]?.request_id).toEqual(expect.any(String));
    expect(JSON.parse(String(rows[0]?.details))).toEqual({ reason: 'privilege_escalation', owner_id: user, scopes: ['keys:read'] });
    expect(await oauthOf(t.context).clients.list({ limit: 10 })).toMatchObject({ data: [] });
  });

  it('POST /v1/clients: a scope the owner lacks (the service check) is recorded as client.created denied', async () => {
    const admin = await seedUser(t, { isAdmin: true });
    const rootKey = await (t.context.apiKeys as ApiKeys).service.create({ name: 'root', ownerId: admin.id, permissions: ['*:*'] }, { actor: 'system' });
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/clients',
      headers: { 'x-api-key': rootKey.key },
      payload: { name: 'x', owner_id: user, scopes: ['keys:read', 'audit:read'] },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'privilege_escalation' });
    const rows = await denied('client.created');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: `apikey:${rootKey.record.id}`, entity_type: 'oauth_client', entity_id: null });
    expect(JSON.parse(String(rows[0]?.details))).toEqual({ reason: 'privilege_escalation', owner_id: user, scopes: ['audit:read'] });
  });

  it('POST /v1/clients/{id}/rotate: a client carrying a scope the caller lacks is recorded as client.rotated denied, never with a secret', async () => {
    const { client, secret } = await oauthOf(t.context).clients.create({ name: 'mine', ownerId: user, scopes: ['keys:read'] }, { actor: 'system' });
    const res = await t.app.inject({ method: 'POST', url: `/v1/clients/${client.client_id}/rotate`, headers: { 'x-api-key': narrowKey.key }, payload: {} });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'privilege_escalation' });
    const rows = await denied('client.rotated');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: `apikey:${narrowKey.id}`, entity_type: 'oauth_client', entity_id: client.client_id });
    expect(JSON.parse(String(rows[0]?.details))).toEqual({ reason: 'privilege_escalation', owner_id: user, scopes: ['keys:read'] });
    // Nothing rotated: the secret still works, and no secret reached the log.
    expect((await oauthOf(t.context).clients.authenticate(client.client_id, secret)).ok).toBe(true);
    const stored = await allStored();
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(narrowKey.key);
  });
});
