import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import type { ApiKeyRecord } from '../../src/apikeys/api-key-store.js';
import { heldPermissions } from '../../src/apikeys/held-permissions.js';
import type { Authorizer } from '../../src/http/auth-guard.js';
import type { Principal } from '../../src/http/principal.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { insertUser } from './fixtures.js';

const ROOT = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'test' } satisfies Principal, auditActor: 'system' };

describeEachDatabase('POST /v1/keys/verify reports the permissions a key holds now (review R-OAUTH-1)', (dialect) => {
  let t: TestApp;
  let gateway: string;
  beforeEach(async () => {
    t = await createTestApp({ dialect });
    const admin = await insertUser(t.context.storage.db, { admin: true });
    gateway = (await (t.context.apiKeys as ApiKeys).service.create({ name: 'gw', ownerId: admin, permissions: ['keys:verify'] }, { actor: 'system' })).key;
  });
  afterEach(async () => t.close());

  const verify = async (payload: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/keys/verify', headers: { 'x-api-key': gateway }, payload });
    expect(res.statusCode).toBe(200);
    return res.json();
  };

  /** A non-admin owner holding `permissions` through a role of their own, and a key of theirs carrying them. */
  async function keyOfRoleHolder(permissions: readonly string[]): Promise<{ key: string; ownerId: string; role: string }> {
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    const ownerId = await insertUser(t.context.storage.db);
    const role = `holder-${ownerId.slice(0, 8)}`;
    await authz.createRole(ROOT, { name: role, permissions: [...permissions] });
    await authz.assignRole(ROOT, { userId: ownerId, role });
    const { key } = await (t.context.apiKeys as ApiKeys).service.create({ name: 'k', ownerId, permissions: [...permissions] }, { actor: 'system' });
    return { key, ownerId, role };
  }

  it("narrows `permissions` as the owner is demoted, dropping a wildcard not covered in full; the key stays valid", async () => {
    const holder = await keyOfRoleHolder(['secrets:*', 'reports:read']);
    expect(await verify({ key: holder.key })).toMatchObject({ valid: true, owner_id: holder.ownerId, permissions: ['secrets:*', 'reports:read'] });
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    await authz.updateRole(ROOT, holder.role, { permissions: ['secrets:read', 'reports:read'] });
    expect(await verify({ key: holder.key })).toMatchObject({ valid: true, permissions: ['reports:read'] });
    // A requested permission is still checked on its own: the owner holds secrets:read.
    expect(await verify({ key: holder.key, permissions: ['secrets:read'] })).toMatchObject({ valid: true, permissions: ['reports:read'] });
    await authz.removeRole(ROOT, { userId: holder.ownerId, role: holder.role });
    expect(await verify({ key: holder.key })).toMatchObject({ valid: true, permissions: [] });
    expect(await verify({ key: holder.key, permissions: ['reports:read'] })).toMatchObject({ valid: false, code: 'insufficient_permissions', permissions: [] });
  });
});

describe('heldPermissions', () => {
  const key = { id: 'k1', ownerId: 'u1', permissions: ['a:read', 'b:*', 'c:write'] } as unknown as ApiKeyRecord;
  const holds = new Set(['a:read', 'c:write']);

  it('answers synchronously when the authorizer does, so the verify route awaits nothing then', () => {
    const seen: Principal[] = [];
    const authorize: Authorizer = (principal, permission) => {
      seen.push(principal);
      return holds.has(permission);
    };
    expect(heldPermissions(authorize, key)).toEqual(['a:read', 'c:write']);
    // The principal is the one the guard builds for the key: its list, on behalf of its owner.
    expect(seen[0]).toEqual({ kind: 'api_key', subject: 'u1', permissions: key.permissions, credentialId: 'k1', keyId: 'k1' });
  });

  it('falls back to a promise, in the stored order, once an answer has to be awaited', async () => {
    let calls = 0;
    const authorize: Authorizer = (_principal, permission) => (calls++ === 1 ? Promise.resolve(holds.has(permission)) : holds.has(permission));
    const held = heldPermissions(authorize, key);
    expect(held).toBeInstanceOf(Promise);
    expect(await held).toEqual(['a:read', 'c:write']);
    const allAsync: Authorizer = async (_principal, permission) => holds.has(permission) || permission === 'b:*';
    expect(await heldPermissions(allAsync, key)).toEqual(['a:read', 'b:*', 'c:write']);
  });
});
