import { afterEach, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/audit-verify.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser, STRONG_PASSWORD } from '../identity/identity-helpers.js';

// The code paths of other domains that exist today write real, committed, chained rows.
describeEachDatabase('audit events recorded by the code paths that cause them', (dialect) => {
  let testApp: TestApp | undefined;
  afterEach(async () => {
    await testApp?.close();
    testApp = undefined;
  });

  const rows = (action: string) =>
    testApp!.context.storage.db.selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('seq').execute();

  it('user creation, login success and failure, refresh and logout are audited before the response', async () => {
    testApp = await createTestApp({ dialect });
    const { app } = testApp;
    const user = await seedUser(testApp, { email: 'audited@example.test' });
    expect(await rows('user.created')).toMatchObject([{ entity_id: user.id, outcome: 'success' }]);

    // Rows are read right after each response, without any flush: they were committed before it was sent.
    const tokens = await login(app, 'audited@example.test');
    expect(await rows('auth.login.succeeded')).toMatchObject([{ actor: user.id, outcome: 'success' }]);

    const wrong = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'audited@example.test', password: `${STRONG_PASSWORD}x` } });
    expect(wrong.statusCode).toBe(401);
    const unknown = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'nobody-here@example.test', password: STRONG_PASSWORD } });
    expect(unknown.statusCode).toBe(401);
    const failures = await rows('auth.login.failed');
    expect(failures).toHaveLength(2);
    // Unknown users are identified by a keyed hash, never by their raw e-mail; passwords never appear.
    const stored = JSON.stringify(await testApp.context.storage.db.selectFrom('audit_events').selectAll().execute());
    expect(stored).not.toContain('nobody-here@example.test');
    expect(stored).not.toContain(STRONG_PASSWORD);
    expect(stored).not.toContain(tokens.refresh_token);

    const refreshed = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: tokens.refresh_token } });
    expect(refreshed.statusCode).toBe(200);
    expect(await rows('auth.token.refreshed')).toHaveLength(1);
    const pair = refreshed.json<{ access_token: string; refresh_token: string }>();

    const logout = await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(pair.access_token), payload: { refresh_token: pair.refresh_token } });
    expect(logout.statusCode).toBeLessThan(300);
    expect(await rows('auth.logout')).toHaveLength(1);

    const report = await verifyChain(testApp.context.storage.db, { checkpointKey: testApp.context.auditLog!.checkpointKey });
    expect(report).toMatchObject({ valid: true });
    expect(report.checked_events).toBeGreaterThanOrEqual(6);
  });

  it('API key create/rotate/revoke and role create/update/assign/remove/delete are audited', async () => {
    testApp = await createTestApp({ dialect });
    const { context } = testApp;
    const admin = await seedUser(testApp, { isAdmin: true });
    const keys = context.apiKeys!.service;
    const issued = await keys.create({ name: 'ci', ownerId: admin.id, permissions: ['audit:read'] }, { actor: admin.id });
    const rotated = await keys.rotate(issued.record.id, { actor: admin.id });
    await keys.revoke(rotated.record.id, { actor: admin.id });
    for (const action of ['apikey.created', 'apikey.rotated']) expect(await rows(action)).toHaveLength(1);
    // The revoke also ended the rotated-out key's grace period: one event per key.
    expect(await rows('apikey.revoked')).toHaveLength(2);

    const authz = context.authz!;
    const actor = { principal: { kind: 'user' as const, subject: admin.id, permissions: [], credentialId: 'test' } };
    await authz.createRole(actor, { name: 'auditor', permissions: ['audit:read'] });
    await authz.updateRole(actor, 'auditor', { permissions: ['audit:read', 'keys:read'] });
    await authz.assignRole(actor, { userId: admin.id, role: 'auditor' });
    await authz.removeRole(actor, { userId: admin.id, role: 'auditor' });
    await authz.deleteRole(actor, 'auditor');
    for (const action of ['role.created', 'role.updated', 'permission.granted', 'membership.added', 'membership.removed', 'role.deleted']) {
      expect((await rows(action)).length, action).toBeGreaterThanOrEqual(1);
    }
    // The plain key is returned once to its creator and never stored in the audit log.
    const stored = JSON.stringify(await context.storage.db.selectFrom('audit_events').selectAll().execute());
    expect(stored).not.toContain(issued.key);
    expect(stored).not.toContain(rotated.key);
    expect((await verifyChain(context.storage.db, { checkpointKey: context.auditLog!.checkpointKey })).valid).toBe(true);
  });
});
