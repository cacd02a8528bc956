import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import { tapAudit } from '../helpers/audit-tap.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser } from './identity-helpers.js';

/**
 * A change of `is_admin` or `is_active` is recorded with the flag's new value
 * (`details.changed`), so "who made X an administrator, who gave the account back" can be read
 * from the audit log, and a re-send of the same value is told apart from a change.
 */
describeEachDatabase('the audit event of a change of is_admin / is_active', (dialect) => {
  let t: TestApp;
  let adminToken: string;
  let events: AuditEventInput[];
  beforeEach(async () => {
    t = await createTestApp({ dialect });
    const admin = await seedUser(t, { isAdmin: true });
    adminToken = (await login(t.app, admin.email)).access_token;
    events = tapAudit(t);
  });
  afterEach(async () => t.close());

  const patch = (id: string, payload: Record<string, unknown>) =>
    t.app.inject({ method: 'PATCH', url: `/v1/users/${id}`, headers: bearer(adminToken), payload });
  const lastUserEvent = (id: string) =>
    events.filter((e) => e.entity_type === 'user' && e.entity_id === id).at(-1);

  it('a promotion to administrator says so (not just that is_admin was sent)', async () => {
    const user = await seedUser(t);
    expect((await patch(user.id, { is_admin: true })).statusCode).toBe(200);
    const promotion = lastUserEvent(user.id);
    // Now: {action: 'user.updated', details: {fields: ['is_admin']}} — no value.
    expect(JSON.stringify(promotion?.details ?? {}), JSON.stringify(promotion)).toMatch(/"is_admin":true/);
  });

  it('a promotion and a no-op re-send of is_admin: true are told apart', async () => {
    const user = await seedUser(t, { isAdmin: true });
    expect((await patch(user.id, { is_admin: true })).statusCode).toBe(200);
    const noop = lastUserEvent(user.id);
    const other = await seedUser(t);
    expect((await patch(other.id, { is_admin: true })).statusCode).toBe(200);
    const promotion = lastUserEvent(other.id);
    expect([promotion?.action, promotion?.details]).not.toEqual([noop?.action, noop?.details]);
  });

  it('a reactivation says so', async () => {
    const user = await seedUser(t);
    expect((await patch(user.id, { is_active: false })).statusCode).toBe(200);
    expect(lastUserEvent(user.id)?.action).toBe('user.deactivated');
    expect((await patch(user.id, { is_active: true })).statusCode).toBe(200);
    const reactivation = lastUserEvent(user.id);
    const says =
      (reactivation?.action as string | undefined) === 'user.reactivated' ||
      /"is_active":true/.test(JSON.stringify(reactivation?.details ?? {}));
    expect(says, JSON.stringify(reactivation)).toBe(true);
  });
});
