import { afterEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { seedUser } from '../identity/identity-helpers.js';

/**
 * A role update's permission.granted lists the role's effective new grants, inherited ones
 * included, which no schema bounds (20 inherited roles of 100 permissions): inheriting three
 * padded roles with one granting `*:*` must not hide the `*:*` either.
 */
describeEachDatabase('permission grants gained through inheritance, in oversized details', (dialect) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const padding = (tag: string) =>
    Array.from(
      { length: 100 },
      (_, i) => `${tag}${String(i).padStart(2, '0')}${'x'.repeat(58)}:a${'y'.repeat(62)}`,
    );

  it('permission.granted still names *:* when the role inherits padded roles together with it', async () => {
    t = await createTestApp({ dialect });
    const admin = await seedUser(t, { isAdmin: true });
    const actor = {
      principal: { kind: 'user' as const, subject: admin.id, permissions: [], credentialId: 'test' },
    };
    const authz = t.context.authz!;
    for (const tag of ['pa', 'pb', 'pc'])
      await authz.createRole(actor, { name: `helper-${tag}`, permissions: padding(tag) });
    await authz.createRole(actor, { name: 'helper-misc', permissions: ['*:*'] });
    await authz.createRole(actor, { name: 'innocuous', permissions: ['reports:read'] });
    await authz.updateRole(actor, 'innocuous', {
      inherits: ['helper-pa', 'helper-pb', 'helper-pc', 'helper-misc'],
    });

    const row = await t.context.storage.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'permission.granted')
      .where('entity_id', '=', 'innocuous')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    expect(row.details ?? '').toContain('*:*');
  });
});
