import { afterEach, describe, expect, it } from 'vitest';
import { redactDetails } from '../../src/audit/redact-details.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { seedUser } from '../identity/identity-helpers.js';

/**
 * Details over 8 KiB lose their bulk, never their grant lists: a role or key padded with 99 long
 * dummy permissions must still show the `*:*` that came with them ("who granted what to whom"
 * is what the log is for). Short scalar fields stay; free text goes.
 */
describeEachDatabase('permission grants in oversized details', (dialect) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const padding = Array.from({ length: 99 }, (_, i) => `r${String(i).padStart(2, '0')}${'x'.repeat(60)}:a${'y'.repeat(62)}`);
  const detailsOf = async (action: string) =>
    (await t!.context.storage.db.selectFrom('audit_events').select('details').where('action', '=', action).orderBy('seq', 'desc').executeTakeFirstOrThrow()).details ?? '';

  it('role.created still names *:* when 99 long permissions come with it', async () => {
    t = await createTestApp({ dialect });
    const admin = await seedUser(t, { isAdmin: true });
    const actor = { principal: { kind: 'user' as const, subject: admin.id, permissions: [], credentialId: 'test' } };
    await t.context.authz!.createRole(actor, { name: 'innocuous', permissions: [...padding, '*:*'] });
    const details = await detailsOf('role.created');
    expect(details).toContain('*:*');
  });

  it('apikey.created still names *:* when 99 long permissions come with it', async () => {
    t = await createTestApp({ dialect });
    const admin = await seedUser(t, { isAdmin: true });
    await t.context.apiKeys!.service.create({ name: 'ci', ownerId: admin.id, permissions: [...padding, '*:*'] }, { actor: admin.id });
    const details = await detailsOf('apikey.created');
    expect(details).toContain('*:*');
  });
});

describe('redactDetails of oversized details', () => {
  it('keeps grant lists and short values, drops the bulk, and says so', () => {
    const stored = JSON.parse(redactDetails({ permissions: ['*:*'], reason: 'privilege_escalation', note: 'x'.repeat(9000), nested: { a: 1 } }, 'role.created') ?? '');
    expect(stored).toEqual({ permissions: ['*:*'], reason: 'privilege_escalation', truncated: true, original_bytes: expect.any(Number) });
    expect(stored.original_bytes).toBeGreaterThan(9000);
  });

  it('trims a grant list too long even for that (a role inheriting padded roles) to its wildcards and what fits, counting what went', () => {
    const padded = Array.from({ length: 400 }, (_, i) => `r${i}${'x'.repeat(100)}:read`);
    const text = redactDetails({ permissions: [...padded, '*:*', 'reports:*'] }, 'permission.granted') ?? '';
    const stored = JSON.parse(text);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(32_768);
    expect(stored.permissions.slice(0, 2)).toEqual(['*:*', 'reports:*']);
    expect(stored.permissions.length + stored.permissions_dropped).toBe(402);
    expect(stored).toMatchObject({ truncated: true, original_bytes: expect.any(Number) });
  });

  it('leaves details under the bound as they are', () => {
    expect(JSON.parse(redactDetails({ permissions: ['a:b'], note: 'short' }, 'role.created') ?? '')).toEqual({ permissions: ['a:b'], note: 'short' });
  });
});
