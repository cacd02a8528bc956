import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { insertUser } from './fixtures.js';
import { testUserAuthenticator } from './test-authenticator.js';

describeEachDatabase('authorization HTTP API', (dialect) => {
  let t: TestApp;
  let admin: string;
  const as = (user: string, extra: Record<string, string> = {}): Record<string, string> => ({ 'x-test-user': user, ...extra });

  beforeEach(async () => {
    t = await createTestApp({ dialect });
    t.context.authenticators.push(testUserAuthenticator);
    admin = await insertUser(t.context.storage.db, { isAdmin: true });
  });
  afterEach(async () => t.close());

  it('creates, lists, gets, updates and deletes a role', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/v1/roles', headers: as(admin), payload: { name: 'ops', description: 'Operations', permissions: ['keys:*'], inherits: ['reader'] } });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ name: 'ops', description: 'Operations', permissions: ['keys:*'], inherits: ['reader'], builtin: false });
    const list = await t.app.inject({ method: 'GET', url: '/v1/roles', headers: as(admin) });
    expect(list.json<{ data: { name: string }[] }>().data.map((r) => r.name)).toEqual(['admin', 'member', 'ops', 'reader']);
    const patched = await t.app.inject({ method: 'PATCH', url: '/v1/roles/ops', headers: as(admin), payload: { permissions: ['keys:read'], description: null } });
    expect(patched.json()).toMatchObject({ permissions: ['keys:read'], description: null });
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/roles/ops', headers: as(admin) })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: '/v1/roles/ops', headers: as(admin) })).statusCode).toBe(404);
  });

  it('refuses invalid names, unknown fields and control characters with 400', async () => {
    for (const name of ["x'; DROP TABLE roles;--", '<script>', 'a b', 'x'.repeat(65), 'tab\t']) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/roles', headers: as(admin), payload: { name, permissions: [] } });
      expect(res.statusCode, name).toBe(400);
    }
    const extra = await t.app.inject({ method: 'POST', url: '/v1/roles', headers: as(admin), payload: { name: 'ok', permissions: [], is_builtin: true } });
    expect(extra.statusCode).toBe(400);
    const badPermission = await t.app.inject({ method: 'POST', url: '/v1/roles', headers: as(admin), payload: { name: 'ok', permissions: ['keys'] } });
    expect(badPermission.json()).toMatchObject({ code: 'validation_failed' });
    const cycle = await t.app.inject({ method: 'PATCH', url: '/v1/roles/reader', headers: as(admin), payload: { inherits: ['member'] } });
    expect(cycle.json()).toMatchObject({ status: 400, code: 'role_cycle' });
  });

  it('a subject with NUL or control characters is refused with 400 (not a database error)', async () => {
    for (const subject of ['a\u0000b', 'tab\there', 'nl\n']) {
      const check = await t.app.inject({ method: 'POST', url: '/v1/authz/check', headers: as(admin), payload: { subject, permission: 'keys:read' } });
      expect(check.statusCode, JSON.stringify(subject)).toBe(400);
      expect(check.json()).toMatchObject({ code: 'validation_failed' });
      const batch = await t.app.inject({ method: 'POST', url: '/v1/authz/check/batch', headers: as(admin), payload: { checks: [{ subject, permission: 'keys:read' }] } });
      expect(batch.statusCode, JSON.stringify(subject)).toBe(400);
    }
    const odd = await t.app.inject({ method: 'POST', url: '/v1/authz/check', headers: as(admin), payload: { subject: "x' OR 1=1 --", permission: 'keys:read' } });
    expect(odd.json()).toEqual({ allowed: false });
  });

  it('a check of something that is not a permission is 400 naming the field, not allowed: false', async () => {
    const subject = await insertUser(t.context.storage.db);
    for (const permission of ['reports', 'read', 'a:b:c', "keys:read' OR 1=1"]) {
      const check = await t.app.inject({ method: 'POST', url: '/v1/authz/check', headers: as(admin), payload: { subject, permission } });
      expect(check.json(), permission).toMatchObject({ status: 400, code: 'validation_failed', field: 'body.permission' });
    }
    const batch = await t.app.inject({
      method: 'POST',
      url: '/v1/authz/check/batch',
      headers: as(admin),
      payload: { checks: [{ subject, permission: 'keys:read' }, { subject, permission: 'reports' }] },
    });
    expect(batch.json()).toMatchObject({ status: 400, code: 'validation_failed', field: 'body.checks.1.permission' });
  });

  it('a batch answers its checks in order, at most 8 at a time (each may be a database load)', async () => {
    const subjects = await Promise.all(Array.from({ length: 5 }, () => insertUser(t.context.storage.db)));
    const authz = t.context.authz!;
    let running = 0;
    let most = 0;
    const check = authz.check.bind(authz);
    vi.spyOn(authz, 'check').mockImplementation(async (...args) => {
      running += 1;
      most = Math.max(most, running);
      try {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return await check(...args);
      } finally {
        running -= 1;
      }
    });
    const checks = Array.from({ length: 40 }, (_, i) => ({ subject: subjects[i % 5] as string, permission: i === 7 ? 'users:read' : 'keys:delete', scope: `tenant-${i}` }));
    const batch = await t.app.inject({ method: 'POST', url: '/v1/authz/check/batch', headers: as(admin), payload: { checks } });
    const results = batch.json<{ results: { scope: string; allowed: boolean }[] }>().results;
    expect(results.map((r) => r.scope)).toEqual(checks.map((c) => c.scope));
    expect(results.every((r) => !r.allowed)).toBe(true);
    expect(most).toBe(8);
    vi.restoreAllMocks();
  });

  it('a users:write holder cannot grant itself admin (403 privilege_escalation) and nothing changes', async () => {
    const manager = await insertUser(t.context.storage.db);
    await t.app.inject({ method: 'POST', url: '/v1/roles', headers: as(admin), payload: { name: 'user-manager', permissions: ['users:write', 'users:read'] } });
    await t.app.inject({ method: 'PUT', url: `/v1/users/${manager}/roles/user-manager`, headers: as(admin) });
    const attempt = await t.app.inject({ method: 'PUT', url: `/v1/users/${manager}/roles/admin`, headers: as(manager) });
    expect(attempt.statusCode).toBe(403);
    expect(attempt.json()).toMatchObject({ code: 'privilege_escalation' });
    const scoped = await t.app.inject({ method: 'PUT', url: `/v1/users/${manager}/roles/admin?scope=tenant-1`, headers: as(manager) });
    expect(scoped.json()).toMatchObject({ code: 'privilege_escalation' });
    const perms = await t.app.inject({ method: 'GET', url: `/v1/users/${manager}/permissions`, headers: as(manager) });
    expect(perms.json<{ permissions: { permission: string }[] }>().permissions.map((p) => p.permission)).toEqual(['users:write', 'users:read']);
    // Without users:write at all the guard refuses first.
    const nobody = await insertUser(t.context.storage.db);
    const denied = await t.app.inject({ method: 'PUT', url: `/v1/users/${nobody}/roles/reader`, headers: as(nobody) });
    expect(denied.json()).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('an API key cannot be created with more than its owner holds', async () => {
    const owner = await insertUser(t.context.storage.db);
    await t.app.inject({ method: 'PUT', url: `/v1/users/${owner}/roles/reader`, headers: as(admin) });
    const wide = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: as(admin), payload: { name: 'k', owner_id: owner, permissions: ['keys:write'] } });
    expect(wide.statusCode).toBe(403);
    expect(wide.json()).toMatchObject({ code: 'privilege_escalation' });
    const narrow = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: as(admin), payload: { name: 'k', owner_id: owner, permissions: ['keys:read'] } });
    expect(narrow.statusCode).toBe(201);
    // …nor more than its creator holds: a member (keys:write) minting a *:* key of their own…
    const member = await insertUser(t.context.storage.db);
    await t.app.inject({ method: 'PUT', url: `/v1/users/${member}/roles/member`, headers: as(admin) });
    const own = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: as(member), payload: { name: 'k', owner_id: member, permissions: ['*:*'] } });
    expect(own.statusCode).toBe(403);
    expect(own.json()).toMatchObject({ code: 'privilege_escalation' });
    // …and a member cannot mint keys for someone else at all (that needs users:write).
    const minted = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: as(member), payload: { name: 'k', owner_id: admin, permissions: ['*:*'] } });
    expect(minted.statusCode).toBe(403);
    expect(minted.json()).toMatchObject({ code: 'forbidden' });
  });

  it('scoped memberships: admin in one tenant, reader in another; effective permissions say where each came from', async () => {
    const user = await insertUser(t.context.storage.db);
    expect((await t.app.inject({ method: 'PUT', url: `/v1/users/${user}/roles/admin?scope=acme`, headers: as(admin) })).statusCode).toBe(201);
    expect((await t.app.inject({ method: 'PUT', url: `/v1/users/${user}/roles/admin?scope=acme`, headers: as(admin) })).statusCode).toBe(200);
    await t.app.inject({ method: 'PUT', url: `/v1/users/${user}/roles/member?scope=globex`, headers: as(admin) });
    const check = async (permission: string, scope?: string): Promise<boolean> => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/authz/check', headers: as(admin), payload: { subject: user, permission, ...(scope === undefined ? {} : { scope }) } });
      return res.json<{ allowed: boolean }>().allowed;
    };
    expect(await check('users:delete', 'acme')).toBe(true);
    expect(await check('users:delete', 'globex')).toBe(false);
    expect(await check('users:read', 'globex')).toBe(true);
    expect(await check('users:read')).toBe(false);
    const batch = await t.app.inject({
      method: 'POST',
      url: '/v1/authz/check/batch',
      headers: as(admin),
      payload: { checks: [{ subject: user, permission: 'keys:write', scope: 'globex' }, { subject: user, permission: 'keys:delete', scope: 'globex' }] },
    });
    expect(batch.json<{ results: { allowed: boolean }[] }>().results.map((r) => r.allowed)).toEqual([true, false]);
    const perms = await t.app.inject({ method: 'GET', url: `/v1/users/${user}/permissions?scope=globex`, headers: as(admin) });
    expect(perms.json()).toEqual({
      user_id: user,
      scope: 'globex',
      permissions: [
        { permission: 'keys:write', sources: [{ source: 'membership', role: 'member', via: ['member'], scope: 'globex' }] },
        { permission: '*:read', sources: [{ source: 'membership', role: 'reader', via: ['member', 'reader'], scope: 'globex' }] },
      ],
    });
    const roles = await t.app.inject({ method: 'GET', url: `/v1/users/${user}/roles`, headers: as(admin) });
    expect(roles.json<{ data: unknown[] }>().data).toHaveLength(2);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${user}/roles/admin?scope=acme`, headers: as(admin) })).statusCode).toBe(204);
    expect(await check('users:delete', 'acme')).toBe(false);
  });

  it('a revoked role stops the guard at once; a restricted token is narrowed', async () => {
    const user = await insertUser(t.context.storage.db);
    await t.app.inject({ method: 'PUT', url: `/v1/users/${user}/roles/reader`, headers: as(admin) });
    expect((await t.app.inject({ method: 'GET', url: '/v1/roles', headers: as(user) })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/v1/roles', headers: as(user, { 'x-test-token-permissions': 'keys:read' }) })).statusCode).toBe(403);
    await t.app.inject({ method: 'DELETE', url: `/v1/users/${user}/roles/reader`, headers: as(admin) });
    expect((await t.app.inject({ method: 'GET', url: '/v1/roles', headers: as(user) })).statusCode).toBe(403);
  });

  it('writes audit events through context.audit', async () => {
    const events: string[] = [];
    t.context.audit = { record: async (e) => void events.push(`${e.action}:${e.outcome}`) };
    const user = await insertUser(t.context.storage.db);
    await t.app.inject({ method: 'POST', url: '/v1/roles', headers: as(admin), payload: { name: 'ops', permissions: ['keys:read'] } });
    await t.app.inject({ method: 'PUT', url: `/v1/users/${user}/roles/ops`, headers: as(admin) });
    await t.app.inject({ method: 'PUT', url: `/v1/users/${user}/roles/admin`, headers: as(user) });
    expect(events).toEqual(['role.created:success', 'membership.added:success']);
  });
});
