import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import type { Principal } from '../../src/http/principal.js';
import type { User } from '../../src/identity/user-store.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, identityOfApp, login, seedUser } from './identity-helpers.js';

// A user editor (users:read, users:write, users:delete, no users:admin) can neither make
// administrators nor take their accounts away: the black-box finding F3.
describeEachDatabase('administrators are protected from user editors', (dialect) => {
  let t: TestApp;
  let audit: AuditEventInput[];
  let root: User;
  let rootToken: string;
  let helpdeskToken: string;
  let victim: User;

  const root$ = (): { principal: Principal } => ({ principal: { kind: 'user', subject: root.id, permissions: ['*:*'], credentialId: 'test' } });
  const authz = () => {
    const service = t.context.authz;
    if (service === undefined) throw new Error('authz is not wired');
    return service;
  };
  const patch = (id: string, payload: Record<string, unknown>, token = helpdeskToken) =>
    t.app.inject({ method: 'PATCH', url: `/v1/users/${id}`, headers: bearer(token), payload });
  const remove = (id: string, token = helpdeskToken) => t.app.inject({ method: 'DELETE', url: `/v1/users/${id}`, headers: bearer(token) });
  const stored = async (id: string) => identityOfApp(t).users.findById(id);
  const denied = (action: string, id: string) => audit.filter((e) => e.action === action && e.entity_id === id && e.outcome === 'denied');

  beforeEach(async () => {
    t = await createTestApp({ dialect });
    audit = [];
    const real = t.context.audit;
    t.context.audit = {
      record: async (event) => {
        audit.push(event);
        await real.record(event);
      },
    };
    root = await seedUser(t, { isAdmin: true });
    rootToken = (await login(t.app, root.email)).access_token;
    await authz().createRole(root$(), { name: 'helpdesk', permissions: ['users:read', 'users:write', 'users:delete'] });
    const helpdesk = await seedUser(t);
    await authz().assignRole(root$(), { userId: helpdesk.id, role: 'helpdesk' });
    helpdeskToken = (await login(t.app, helpdesk.email)).access_token;
    victim = await seedUser(t, { isAdmin: true });
  });
  afterEach(async () => t.close());

  it('refuses is_admin (the control), deactivating and deleting an administrator: 403 privilege_escalation, audited as denied', async () => {
    const victimToken = (await login(t.app, victim.email)).access_token;
    audit.length = 0;
    expect((await patch(victim.id, { is_admin: false })).json()).toMatchObject({ status: 403, code: 'privilege_escalation' });
    expect(denied('user.updated', victim.id)).toEqual([
      expect.objectContaining({ details: { reason: 'privilege_escalation', missing: ['users:admin'], fields: ['is_admin'] } }),
    ]);

    expect((await patch(victim.id, { is_active: false })).json()).toMatchObject({ status: 403, code: 'privilege_escalation' });
    expect((await remove(victim.id)).json()).toMatchObject({ status: 403, code: 'privilege_escalation' });
    expect(await stored(victim.id)).toMatchObject({ isActive: true, isAdmin: true });
    // Nothing happened to the administrator's sessions and tokens either.
    expect((await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(victimToken) })).statusCode).toBe(200);
    expect(denied('user.deactivated', victim.id)).toEqual([
      expect.objectContaining({ details: { reason: 'privilege_escalation', missing: ['users:admin'], fields: ['is_active'] } }),
    ]);
    expect(denied('user.deleted', victim.id)).toEqual([expect.objectContaining({ entity_type: 'user', details: { reason: 'privilege_escalation', missing: ['users:admin'] } })]);
    expect(audit.filter((e) => e.outcome === 'success')).toEqual([]);
  });

  it('refuses reactivating an administrator that someone holding users:admin deactivated', async () => {
    expect((await patch(victim.id, { is_active: false }, rootToken)).statusCode).toBe(200);
    expect((await patch(victim.id, { is_active: true })).json()).toMatchObject({ status: 403, code: 'privilege_escalation' });
    expect(await stored(victim.id)).toMatchObject({ isActive: false });
    expect(denied('user.updated', victim.id)).toHaveLength(1);
  });

  it('lets the editor deactivate, reactivate, rename and delete a user who is not an administrator', async () => {
    const plain = await seedUser(t);
    expect((await patch(plain.id, { is_active: false })).json()).toMatchObject({ is_active: false });
    expect((await patch(plain.id, { is_active: true, name: 'Pat' })).json()).toMatchObject({ is_active: true, name: 'Pat' });
    expect((await remove(plain.id)).statusCode).toBe(204);
    // Renaming an administrator takes nothing away.
    expect((await patch(victim.id, { name: 'Vic' })).json()).toMatchObject({ name: 'Vic', is_admin: true });
    expect(audit.filter((e) => e.outcome === 'denied')).toEqual([]);
  });

  it('counts a global role granting users:admin as an administrator, active or not (a scoped one does not)', async () => {
    const roleAdmin = await seedUser(t);
    await authz().assignRole(root$(), { userId: roleAdmin.id, role: 'admin' });
    expect((await patch(roleAdmin.id, { is_active: false })).json()).toMatchObject({ code: 'privilege_escalation' });
    expect((await remove(roleAdmin.id)).json()).toMatchObject({ code: 'privilege_escalation' });
    expect((await patch(roleAdmin.id, { is_active: false }, rootToken)).statusCode).toBe(200);
    expect((await patch(roleAdmin.id, { is_active: true })).json()).toMatchObject({ code: 'privilege_escalation' });

    await authz().createRole(root$(), { name: 'user-admins', permissions: ['users:*'] });
    const viaWildcard = await seedUser(t);
    await authz().assignRole(root$(), { userId: viaWildcard.id, role: 'user-admins' });
    expect((await patch(viaWildcard.id, { is_active: false })).json()).toMatchObject({ code: 'privilege_escalation' });

    const tenantAdmin = await seedUser(t);
    await authz().assignRole(root$(), { userId: tenantAdmin.id, role: 'admin', scope: 'tenant-1' });
    expect((await patch(tenantAdmin.id, { is_active: false })).statusCode).toBe(200);
  });

  it('lets a caller holding users:admin (the flag, or through a role) deactivate, reactivate and delete an administrator', async () => {
    expect((await patch(victim.id, { is_active: false }, rootToken)).json()).toMatchObject({ is_active: false });
    expect((await patch(victim.id, { is_active: true }, rootToken)).json()).toMatchObject({ is_active: true });

    await authz().createRole(root$(), { name: 'admin-manager', permissions: ['users:read', 'users:write', 'users:delete', 'users:admin'] });
    const manager = await seedUser(t);
    await authz().assignRole(root$(), { userId: manager.id, role: 'admin-manager' });
    const managerToken = (await login(t.app, manager.email)).access_token;
    expect((await patch(victim.id, { is_active: false }, managerToken)).json()).toMatchObject({ is_active: false });
    expect((await remove(victim.id, managerToken)).statusCode).toBe(204);
    expect(await stored(victim.id)).toBeUndefined();
    expect(audit.filter((e) => e.outcome === 'denied')).toEqual([]);
  });

  it('still answers 404 for an unknown user', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await patch(unknown, { is_active: false })).statusCode).toBe(404);
    expect((await remove(unknown)).statusCode).toBe(404);
  });
});
