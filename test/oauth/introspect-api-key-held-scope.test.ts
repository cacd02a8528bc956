import { afterEach, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import type { Principal } from '../../src/http/principal.js';
import { identityOf } from '../../src/identity/identity-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { seedUser } from '../identity/identity-helpers.js';
import { basic, FORM, seedClient, type SeededClient } from './oauth-helpers.js';

const ROOT = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'test' } satisfies Principal, auditActor: 'system' };

describeEachDatabase("introspecting an API key reports what it holds now, not its stored list (review R-OAUTH-1)", (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  const introspect = async (rs: SeededClient, token: string): Promise<Record<string, unknown>> => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { ...FORM, authorization: basic(rs.clientId, rs.secret) },
      payload: new URLSearchParams({ token }).toString(),
    });
    expect(res.statusCode).toBe(200);
    return res.json();
  };

  /** A non-admin owner holding `permissions` through a role of their own, and a key of theirs carrying them. */
  async function keyOfRoleHolder(permissions: readonly string[]): Promise<{ key: string; keyId: string; ownerId: string; role: string }> {
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    await identityOf(t.context).initialise();
    const owner = await seedUser(t);
    const role = `holder-${owner.id.slice(0, 8)}`;
    await authz.createRole(ROOT, { name: role, permissions: [...permissions] });
    await authz.assignRole(ROOT, { userId: owner.id, role });
    const issued = await (t.context.apiKeys as ApiKeys).service.create({ name: 'k', ownerId: owner.id, permissions: [...permissions] }, { actor: 'system' });
    return { key: issued.key, keyId: issued.record.id, ownerId: owner.id, role };
  }

  it('narrows scope to what the owner still holds, and answers inactive once nothing is left', async () => {
    t = await createTestApp({ dialect });
    const rs = await seedClient(t, ['tokens:introspect']);
    const holder = await keyOfRoleHolder(['secrets:read', 'secrets:write']);
    expect(await introspect(rs, holder.key)).toMatchObject({ active: true, token_type: 'api_key', sub: holder.ownerId, key_id: holder.keyId, scope: 'secrets:read secrets:write' });

    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    await authz.updateRole(ROOT, holder.role, { permissions: ['secrets:read'] });
    expect(await introspect(rs, holder.key)).toMatchObject({ active: true, scope: 'secrets:read' });

    await authz.removeRole(ROOT, { userId: holder.ownerId, role: holder.role });
    // Warden refuses the key everywhere now, so a resource server must not be told otherwise.
    expect(await t.context.authorize({ kind: 'api_key', subject: holder.ownerId, permissions: ['secrets:read'], credentialId: holder.keyId, keyId: holder.keyId }, 'secrets:read')).toBe(false);
    expect(await introspect(rs, holder.key)).toEqual({ active: false });
  });

  it("counts as a use of the key but does not record the resource server's address as where it was used", async () => {
      t = await createTestApp({ dialect });
      const rs = await seedClient(t, ['tokens:introspect']);
      const holder = await keyOfRoleHolder(['secrets:read']);
      const res = await t.app.inject({
        method: 'POST',
        url: '/oauth/introspect',
        headers: { ...FORM, authorization: basic(rs.clientId, rs.secret) },
        payload: new URLSearchParams({ token: holder.key }).toString(),
        remoteAddress: '10.9.8.7',
      });
      expect(res.json()).toMatchObject({ active: true });
      const apiKeys = t.context.apiKeys as ApiKeys;
      await apiKeys.usage.flush();
      const row = await t.context.storage.db
        .selectFrom('api_keys')
        .select(['usage_count', 'last_used_ip'])
        .where('id', '=', holder.keyId)
        .executeTakeFirstOrThrow();
      expect({ count: Number(row.usage_count), ip: row.last_used_ip }).toEqual({ count: 1, ip: null });
    });

    it('drops a wildcard the owner no longer covers in full rather than narrowing it', async () => {
    t = await createTestApp({ dialect });
    const rs = await seedClient(t, ['tokens:introspect']);
    const holder = await keyOfRoleHolder(['secrets:*', 'reports:read']);
    expect(await introspect(rs, holder.key)).toMatchObject({ active: true, scope: 'secrets:* reports:read' });
    await t.context.authz?.updateRole(ROOT, holder.role, { permissions: ['secrets:read', 'reports:read'] });
    expect(await introspect(rs, holder.key)).toMatchObject({ active: true, scope: 'reports:read' });
  });

  it('still reports a key that never carried a permission as active, with an empty scope', async () => {
    t = await createTestApp({ dialect });
    const rs = await seedClient(t, ['tokens:introspect']);
    const owner = await seedUser(t);
    const issued = await (t.context.apiKeys as ApiKeys).service.create({ name: 'bare', ownerId: owner.id, permissions: [] }, { actor: 'system' });
    expect(await introspect(rs, issued.key)).toMatchObject({ active: true, key_id: issued.record.id, scope: '' });
  });
});
