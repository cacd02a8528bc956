import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Principal } from '../../src/http/principal.js';
import { identityOf } from '../../src/identity/identity-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { seedUser } from '../identity/identity-helpers.js';

const ROOT = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'test' } satisfies Principal, auditActor: 'system' };

/**
 * A grant whose audit write failed after it committed (the caller got 503 audit_unavailable) is
 * in force. Its retry finds the membership held and records `membership.added` again, marked
 * `details.repeat`, so the grant is on record and the trail does not show a second grant.
 */
describeEachDatabase('a membership grant retried after its audit write failed', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp({ dialect });
    await identityOf(t.context).initialise();
  });
  afterEach(async () => {
    await t.close();
  });

  const db = () => t.context.storage.db;
  // The head row renamed: the next append finds no head and fails, like any database blip.
  const auditDown = () => db().updateTable('audit_chain_head').set({ id: 'away' }).where('id', '=', 'head').execute();
  const auditUp = () => db().updateTable('audit_chain_head').set({ id: 'head' }).where('id', '=', 'away').execute();
  const events = (action: string, entityId: string) =>
    db().selectFrom('audit_events').select(['action', 'details']).where('action', '=', action).where('entity_id', '=', entityId).execute();

  it('making a user admin: the 503 leaves the membership in force, and the retry records it as a repeat', async () => {
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    const user = (await seedUser(t)).id;
    await auditDown();
    await expect(authz.assignRole(ROOT, { userId: user, role: 'admin' })).rejects.toMatchObject({ code: 'audit_unavailable' });
    await auditUp();
    // The caller retries, as a 503 invites.
    await authz.assignRole(ROOT, { userId: user, role: 'admin' });
    const holds = (await authz.memberships(user)).some((m) => m.role === 'admin');
    expect(holds).toBe(true);
    const recorded = await events('membership.added', user);
    expect(recorded).toHaveLength(1);
    expect(JSON.parse(recorded[0]!.details ?? '{}')).toMatchObject({ role: 'admin', repeat: true });
  });
});
