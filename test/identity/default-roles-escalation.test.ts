import { afterEach, beforeEach, expect, it } from 'vitest';
import { insertUser } from '../authz/fixtures.js';
import { testUserAuthenticator } from '../authz/test-authenticator.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { tapAudit } from '../helpers/audit-tap.js';
import { describeEachDatabase } from '../helpers/databases.js';

/**
 * Whoever creates a user over HTTP picks its password, so could use whatever WARDEN_DEFAULT_ROLES
 * gives the new user. POST /v1/users therefore needs its caller to hold every permission of the
 * default roles: a users:write holder without them gets 403 privilege_escalation (recorded as a
 * denied user.created) and nothing is created. A caller holding them creates the user, and the
 * default memberships are recorded under the caller's name.
 */
describeEachDatabase('default roles and the creator of a user', (dialect) => {
  let t: TestApp;
  let editor: string;
  const as = (user: string): Record<string, string> => ({ 'x-test-user': user });
  const root = {
    principal: { kind: 'client' as const, subject: 'system', permissions: ['*:*'], credentialId: 'test' },
  };
  const createUser = (caller: string, email: string) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/users',
      headers: as(caller),
      payload: { email, password: 'correct horse battery staple 9' },
    });

  beforeEach(async () => {
    t = await createTestApp({ dialect, env: { WARDEN_DEFAULT_ROLES: 'auditor,secadmin' } });
    t.context.authenticators.push(testUserAuthenticator);
    const authz = t.context.authz!;
    await authz.createRole(root, { name: 'auditor', permissions: ['audit:read'] });
    await authz.createRole(root, { name: 'secadmin', permissions: ['users:admin'] });
    await authz.createRole(root, { name: 'helpdesk', permissions: ['users:write'] });
    editor = await insertUser(t.context.storage.db);
    await authz.assignRole(root, { userId: editor, role: 'helpdesk' });
  });
  afterEach(async () => t.close());

  it('refuses a caller who does not hold what the default roles grant, and creates nothing', async () => {
    const events = tapAudit(t);
    const response = await createUser(editor, 'puppet@example.test');
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({
      code: 'privilege_escalation',
      permissions: ['audit:read', 'users:admin'],
    });
    expect(
      await t.context.storage.db.selectFrom('users').select('id').where('email', 'like', 'puppet%').execute(),
    ).toEqual([]);
    expect(events).toContainEqual(
      expect.objectContaining({
        action: 'user.created',
        outcome: 'denied',
        actor: editor,
        details: expect.objectContaining({
          reason: 'privilege_escalation',
          missing: ['audit:read', 'users:admin'],
        }),
      }),
    );
  });

  it('lets a caller who holds them create the user, and records the memberships under its name', async () => {
    const authz = t.context.authz!;
    await authz.assignRole(root, { userId: editor, role: 'auditor' });
    await authz.assignRole(root, { userId: editor, role: 'secadmin' });
    const events = tapAudit(t);
    const response = await createUser(editor, 'colleague@example.test');
    expect(response.statusCode).toBe(201);
    const created = response.json<{ id: string }>().id;
    expect(await authz.check(created, 'audit:read')).toBe(true);
    const added = events.filter((e) => e.action === 'membership.added');
    expect(added.map((e) => [e.actor, e.entity_id, (e.details as { role: string }).role])).toEqual([
      [editor, created, 'auditor'],
      [editor, created, 'secadmin'],
    ]);
  });
});
