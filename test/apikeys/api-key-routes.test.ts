import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { insertUser, withTypo } from './fixtures.js';

describeEachDatabase('/v1/keys over HTTP', (dialect) => {
  let t: TestApp;
  let ownerId: string;
  let adminKey: string;

  beforeEach(async () => {
    t = await createTestApp({ dialect });
    ownerId = await insertUser(t.context.storage.db, { admin: true });
    const apiKeys = t.context.apiKeys as ApiKeys;
    adminKey = (await apiKeys.service.create({ name: 'admin', ownerId, permissions: ['keys:*', 'reports:*'] }, { actor: 'system' })).key;
  });
  afterEach(async () => t.close());

  const as = (key: string): Record<string, string> => ({ 'x-api-key': key });

  it('creates a key, returns it once, and never shows it again', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/keys',
      headers: as(adminKey),
      payload: { name: 'ci', owner_id: ownerId, permissions: ['reports:read'], expires_at: '2099-01-01T00:00:00.000Z', metadata: { team: 'qa' } },
    });
    expect(created.statusCode).toBe(201);
    const body = created.json<Record<string, unknown>>();
    const key = body.key as string;
    expect(key).toMatch(/^wdn_live_/);
    expect(body).toMatchObject({ name: 'ci', owner_id: ownerId, permissions: ['reports:read'], expires_at: '2099-01-01T00:00:00.000Z', status: 'active' });
    expect(body.prefix).toBe(key.slice(0, 17));

    const shown = await t.app.inject({ method: 'GET', url: `/v1/keys/${String(body.id)}`, headers: as(adminKey) });
    expect(shown.statusCode).toBe(200);
    expect(shown.body).not.toContain(key);
    expect(shown.json()).not.toHaveProperty('key');
    const listed = await t.app.inject({ method: 'GET', url: `/v1/keys?owner_id=${ownerId}`, headers: as(adminKey) });
    expect(listed.json<{ data: unknown[] }>().data).toHaveLength(2);
    expect(listed.body).not.toContain(key);
    expect(t.rawLogs()).not.toContain(key);
    expect(t.rawLogs()).not.toContain(adminKey);
  });

  it('rejects unknown fields and coerced types in the create body', async () => {
    const extra = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: as(adminKey), payload: { name: 'x', owner_id: ownerId, permissions: [], admin: true } });
    expect(extra.statusCode).toBe(400);
    const wrong = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: as(adminKey), payload: { name: 'x', owner_id: ownerId, permissions: 'keys:read' } });
    expect(wrong.statusCode).toBe(400);
  });

  it('accepts an API key as the credential with exactly its permissions (X-API-Key and Bearer)', async () => {
    const service = (t.context.apiKeys as ApiKeys).service;
    const readOnly = (await service.create({ name: 'ro', ownerId, permissions: ['keys:read'] }, { actor: 'system' })).key;
    expect((await t.app.inject({ method: 'GET', url: '/v1/keys', headers: as(readOnly) })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/v1/keys', headers: { authorization: `Bearer ${readOnly}` } })).statusCode).toBe(200);
    const write = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: as(readOnly), payload: { name: 'x', owner_id: ownerId, permissions: [] } });
    expect(write.statusCode).toBe(403);
    const typo = await t.app.inject({ method: 'GET', url: '/v1/keys', headers: as(withTypo(readOnly, 20)) });
    expect(typo.statusCode).toBe(401);
    expect(typo.json()).toMatchObject({ code: 'key_malformed' });
    // Neither the presented (mistyped) key nor the real one is echoed back.
    expect(typo.body).not.toContain(withTypo(readOnly, 20).slice(9));
    expect(typo.body).not.toContain(readOnly.slice(21));
  });

  it('refuses a key that would carry more than its creator holds', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: as(adminKey), payload: { name: 'x', owner_id: ownerId, permissions: ['users:delete'] } });
    expect(res.statusCode).toBe(403);
    // The owner (an administrator) holds it: the refusal says it is the caller who does not.
    expect(res.json()).toMatchObject({
      code: 'privilege_escalation',
      detail: 'The caller does not hold users:delete: a key cannot carry permissions its creator does not hold',
    });
  });

  it('refuses a key that would carry more than its owner holds (owner without roles)', async () => {
    const plainUser = await insertUser(t.context.storage.db);
    // Issuing a key for another user needs users:write besides keys:write.
    const service = (t.context.apiKeys as ApiKeys).service;
    const manager = (await service.create({ name: 'manager', ownerId, permissions: ['keys:*', 'reports:*', 'users:write'] }, { actor: 'system' })).key;
    const res = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: as(manager), payload: { name: 'x', owner_id: plainUser, permissions: ['reports:read'] } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({
      code: 'privilege_escalation',
      detail: `The owner (user ${plainUser}) does not hold reports:read: a key cannot carry permissions its owner does not hold; give the owner a role that grants them first`,
    });
  });

  it('verifies keys with POST /v1/keys/verify and reports each denial code', async () => {
    const service = (t.context.apiKeys as ApiKeys).service;
    const verifierKey = (await service.create({ name: 'gw', ownerId, permissions: ['keys:verify'] }, { actor: 'system' })).key;
    const target = await service.create({ name: 't', ownerId, permissions: ['reports:read'], rateLimit: { limit: 100, windowMs: 60_000 } }, { actor: 'system' });
    const verify = async (payload: Record<string, unknown>): Promise<Record<string, unknown>> => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/keys/verify', headers: as(verifierKey), payload });
      expect(res.statusCode).toBe(200);
      return res.json();
    };
    expect(await verify({ key: target.key, permissions: ['reports:read'] })).toEqual({
      valid: true,
      code: null,
      key_id: target.record.id,
      owner_id: ownerId,
      permissions: ['reports:read'],
      expires_at: null,
      ratelimit: { limit: 100, remaining: 99, reset_ms: expect.any(Number) },
    });
    expect(await verify({ key: target.key, permissions: ['reports:write'] })).toMatchObject({ valid: false, code: 'insufficient_permissions' });
    expect(await verify({ key: withTypo(target.key, 15) })).toMatchObject({ valid: false, code: 'malformed', key_id: null });
    const revoke = await t.app.inject({ method: 'POST', url: `/v1/keys/${target.record.id}/revoke`, headers: as(adminKey) });
    expect(revoke.json()).toMatchObject({ status: 'revoked' });
    expect(await verify({ key: target.key })).toMatchObject({ valid: false, code: 'revoked', key_id: target.record.id });
    const other = (await service.create({ name: 'o', ownerId, permissions: ['reports:read'] }, { actor: 'system' })).key;
    const noPermission = await t.app.inject({ method: 'POST', url: '/v1/keys/verify', headers: as(other), payload: { key: target.key } });
    expect(noPermission.statusCode).toBe(403);
  });

  it('rotates over HTTP: a new key is returned once and the old one enters its grace period', async () => {
    const service = (t.context.apiKeys as ApiKeys).service;
    const old = await service.create({ name: 'svc', ownerId, permissions: ['reports:read'] }, { actor: 'system' });
    const res = await t.app.inject({ method: 'POST', url: `/v1/keys/${old.record.id}/rotate`, headers: as(adminKey), payload: { grace_period_ms: 0 } });
    expect(res.statusCode).toBe(201);
    const rotated = res.json<{ key: string; rotated_from: string }>();
    expect(rotated.rotated_from).toBe(old.record.id);
    expect((await t.app.inject({ method: 'GET', url: '/v1/keys', headers: as(old.key) })).json()).toMatchObject({ code: 'key_revoked' });
  });

  it('rotates with the default grace period when the request has no body', async () => {
    const service = (t.context.apiKeys as ApiKeys).service;
    const old = await service.create({ name: 'svc', ownerId, permissions: ['reports:read'] }, { actor: 'system' });
    const res = await t.app.inject({ method: 'POST', url: `/v1/keys/${old.record.id}/rotate`, headers: as(adminKey) });
    expect(res.statusCode).toBe(201);
    const shown = await t.app.inject({ method: 'GET', url: `/v1/keys/${old.record.id}`, headers: as(adminKey) });
    expect(shown.json()).toMatchObject({ status: 'rotating', replaced_by: res.json<{ id: string }>().id });
    expect((await (t.context.apiKeys as ApiKeys).verifier.verify(old.key)).valid).toBe(true);
  });

  it('disables and re-enables a key with PATCH; a disabled key is refused as disabled', async () => {
    const service = (t.context.apiKeys as ApiKeys).service;
    const key = await service.create({ name: 'svc', ownerId, permissions: ['keys:read'] }, { actor: 'system' });
    expect((await t.app.inject({ method: 'GET', url: '/v1/keys', headers: as(key.key) })).statusCode).toBe(200);
    const off = await t.app.inject({ method: 'PATCH', url: `/v1/keys/${key.record.id}`, headers: as(adminKey), payload: { enabled: false } });
    expect(off.json()).toMatchObject({ status: 'disabled' });
    expect((await t.app.inject({ method: 'GET', url: '/v1/keys', headers: as(key.key) })).json()).toMatchObject({ code: 'key_disabled' });
    await t.app.inject({ method: 'PATCH', url: `/v1/keys/${key.record.id}`, headers: as(adminKey), payload: { enabled: true } });
    expect((await t.app.inject({ method: 'GET', url: '/v1/keys', headers: as(key.key) })).statusCode).toBe(200);
  });

  it('shows usage recorded by API-key requests', async () => {
    const service = (t.context.apiKeys as ApiKeys).service;
    const key = await service.create({ name: 'svc', ownerId, permissions: ['keys:read'] }, { actor: 'system' });
    for (let i = 0; i < 3; i += 1) await t.app.inject({ method: 'GET', url: '/v1/keys', headers: as(key.key), remoteAddress: '198.51.100.7' });
    const shown = await t.app.inject({ method: 'GET', url: `/v1/keys/${key.record.id}`, headers: as(adminKey) });
    expect(shown.json()).toMatchObject({ usage_count: 3, last_used_ip: '198.51.100.7' });
  });

  it("records as last used the address a /verify caller passes, not the caller's own", async () => {
    const service = (t.context.apiKeys as ApiKeys).service;
    const key = await service.create(
      { name: 'svc', ownerId, permissions: ['keys:read'] },
      { actor: 'system' },
    );
    const verify = (payload: Record<string, unknown>) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/keys/verify',
        headers: as(adminKey),
        payload: { key: key.key, ...payload },
        remoteAddress: '10.0.0.5',
      });
    const shown = async () =>
      (await t.app.inject({ method: 'GET', url: `/v1/keys/${key.record.id}`, headers: as(adminKey) })).json<
        Record<string, unknown>
      >();

    expect((await verify({})).json()).toMatchObject({ valid: true });
    expect(await shown()).toMatchObject({ usage_count: 1, last_used_ip: null });
    expect((await verify({ ip: '2001:db8::7' })).json()).toMatchObject({ valid: true });
    expect(await shown()).toMatchObject({ usage_count: 2, last_used_ip: '2001:db8::7' });

    for (const ip of ['10.0.0.256', "1.2.3.4' OR 1=1 --", '']) {
      const refused = await verify({ ip });
      expect(refused.statusCode, ip).toBe(400);
      expect(refused.json(), ip).toMatchObject({ code: 'validation_failed' });
    }
    expect(await shown()).toMatchObject({ usage_count: 2, last_used_ip: '2001:db8::7' });
  });
});
