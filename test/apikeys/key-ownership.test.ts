import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import type { Principal } from '../../src/http/principal.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { insertUser } from './fixtures.js';

const ROOT = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'test' } satisfies Principal, auditActor: 'system' };

describeEachDatabase("who may see and change another owner's API keys", (dialect) => {
  let t: TestApp;
  let keys: ApiKeys;
  let admin: string;
  let adminWide: { key: string; id: string };

  beforeEach(async () => {
    t = await createTestApp({ dialect });
    keys = t.context.apiKeys as ApiKeys;
    admin = await insertUser(t.context.storage.db, { admin: true });
    const issued = await keys.service.create({ name: 'root', ownerId: admin, permissions: ['*:*'] }, { actor: 'system' });
    adminWide = { key: issued.key, id: issued.record.id };
  });
  afterEach(async () => t.close());

  const as = (key: string): Record<string, string> => ({ 'x-api-key': key });

  /** A user holding exactly keys:read and keys:write (through a role), and a key of theirs carrying both. */
  async function keyHolder(): Promise<{ id: string; key: string }> {
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    const id = await insertUser(t.context.storage.db);
    const role = `keys-${id.slice(0, 8)}`;
    await authz.createRole(ROOT, { name: role, permissions: ['keys:read', 'keys:write'] });
    await authz.assignRole(ROOT, { userId: id, role });
    const { key } = await keys.service.create({ name: 'mine', ownerId: id, permissions: ['keys:read', 'keys:write'] }, { actor: 'system' });
    return { id, key };
  }

  it("with keys:* alone a caller reaches only its own keys: another owner's are not listed, shown, rotated, disabled or revoked", async () => {
    const holder = await keyHolder();
    const listed = await t.app.inject({ url: '/v1/keys', headers: as(holder.key) });
    expect(listed.json().data.map((k: { owner_id: string }) => k.owner_id)).toEqual([holder.id]);
    const askedForAdmin = await t.app.inject({ url: `/v1/keys?owner_id=${admin}`, headers: as(holder.key) });
    expect(askedForAdmin.statusCode).toBe(403);
    const target = `/v1/keys/${adminWide.id}`;
    expect((await t.app.inject({ url: target, headers: as(holder.key) })).statusCode).toBe(404);
    const rotated = await t.app.inject({ method: 'POST', url: `${target}/rotate`, headers: as(holder.key), payload: {} });
    expect(rotated.statusCode).toBe(404);
    expect(rotated.body).not.toMatch(/wdn_/);
    expect((await t.app.inject({ method: 'PATCH', url: target, headers: as(holder.key), payload: { enabled: false } })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'POST', url: `${target}/revoke`, headers: as(holder.key) })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: target, headers: as(holder.key) })).statusCode).toBe(404);
    const minted = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: as(holder.key), payload: { name: 'x', owner_id: admin, permissions: [] } });
    expect(minted.statusCode).toBe(403);
    // The admin's key is untouched and still works.
    expect(await keys.verifier.verify(adminWide.key)).toMatchObject({ valid: true });
    expect((await keys.service.list({ ownerId: admin, limit: 10 })).data.map((k) => k.id)).toEqual([adminWide.id]);
  });

  it('a key loses what its owner loses: after a demotion it is refused on a guarded route and by /v1/keys/verify', async () => {
    const holder = await keyHolder();
    expect((await t.app.inject({ url: '/v1/keys', headers: as(holder.key) })).statusCode).toBe(200);
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    await authz.removeRole(ROOT, { userId: holder.id, role: `keys-${holder.id.slice(0, 8)}` });
    const listed = await t.app.inject({ url: '/v1/keys', headers: as(holder.key) });
    expect(listed.statusCode).toBe(403);
    const verify = async (permissions?: string[]) =>
      (await t.app.inject({ method: 'POST', url: '/v1/keys/verify', headers: as(adminWide.key), payload: { key: holder.key, permissions } })).json();
    // The key itself is still valid (it authenticates); it just holds nothing its owner lacks.
    expect(await verify()).toMatchObject({ valid: true, code: null });
    expect(await verify(['keys:read'])).toMatchObject({ valid: false, code: 'insufficient_permissions' });
  });

  it('a caller with users:read sees every owner\'s keys, and with users:write manages them', async () => {
    const manager = (await keys.service.create({ name: 'ops', ownerId: admin, permissions: ['keys:*', 'users:read', 'users:write'] }, { actor: 'system' })).key;
    const holder = await keyHolder();
    const listed = await t.app.inject({ url: '/v1/keys?limit=10', headers: as(manager) });
    expect(new Set(listed.json().data.map((k: { owner_id: string }) => k.owner_id))).toEqual(new Set([admin, holder.id]));
    const theirs = (await keys.service.list({ ownerId: holder.id, limit: 1 })).data[0];
    const revoked = await t.app.inject({ method: 'POST', url: `/v1/keys/${theirs?.id}/revoke`, headers: as(manager) });
    expect(revoked.statusCode).toBe(200);
  });

  it('rotating hands out a new secret, so it needs what issuing the key needs: a narrower key of the same owner is refused', async () => {
    const narrow = (await keys.service.create({ name: 'narrow', ownerId: admin, permissions: ['keys:read', 'keys:write'] }, { actor: 'system' })).key;
    const rotated = await t.app.inject({ method: 'POST', url: `/v1/keys/${adminWide.id}/rotate`, headers: as(narrow), payload: {} });
    expect(rotated.statusCode).toBe(403);
    expect(rotated.json()).toMatchObject({ code: 'privilege_escalation' });
    expect(rotated.body).not.toMatch(/wdn_/);
    // Nothing changed: no replacement, the old key works without a grace period running out.
    expect(await keys.verifier.verify(adminWide.key)).toMatchObject({ valid: true });
    expect((await keys.service.get(adminWide.id))?.replacedBy).toBeUndefined();
  });
});
