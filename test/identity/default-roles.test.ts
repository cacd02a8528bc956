import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { seedUser } from './identity-helpers.js';

describe('default roles for new users (least privilege unless configured)', () => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  it('gives a new user no role and no permission by default', async () => {
    t = await createTestApp();
    const user = await seedUser(t);
    expect(await t.context.authz!.effectivePermissions(user.id)).toEqual([]);
    expect(await t.context.authz!.memberships(user.id)).toEqual([]);
  });

  it('assigns the configured roles, audited as membership.added by system', async () => {
    t = await createTestApp({ env: { WARDEN_DEFAULT_ROLES: 'reader' } });
    const user = await seedUser(t);
    expect((await t.context.authz!.memberships(user.id)).map((m) => m.role)).toEqual(['reader']);
    expect(await t.context.authz!.check(user.id, 'keys:read')).toBe(true);
    expect(await t.context.authz!.check(user.id, 'keys:write')).toBe(false);
    const events = await t.context.storage.db.selectFrom('audit_events').select(['action', 'actor']).where('entity_id', '=', user.id).execute();
    expect(events).toEqual(expect.arrayContaining([{ action: 'membership.added', actor: 'system' }]));
  });

  it('keeps the user (without the role) when a configured role does not exist', async () => {
    t = await createTestApp({ env: { WARDEN_DEFAULT_ROLES: 'no-such-role' } });
    const user = await seedUser(t);
    expect(await t.context.authz!.memberships(user.id)).toEqual([]);
    expect(t.logs.some((l) => l.msg === 'could not assign a default role to a new user')).toBe(true);
  });
});
