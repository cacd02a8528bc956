import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import type { IdentityService } from '../../src/identity/identity-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { tapAudit } from '../helpers/audit-tap.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { holdNextUserRead, identityOfApp, login, seedUser } from './identity-helpers.js';

const claimsOf = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
const actor = (name: string) => ({ actor: name, ip: undefined, userAgent: undefined });

/**
 * What a user update audits and revokes is its own write's difference: the store reads the user
 * just before and just after the write, in its transaction, with the row locked. A change by
 * another request that commits while this one is on its way is neither counted as this
 * request's nor hides this request's own change. The tests hold the update after its first read.
 */
describeEachDatabase('user updates racing each other', (dialect) => {
  let t: TestApp;
  let identity: IdentityService;
  let audit: AuditEventInput[];
  beforeEach(async () => {
    t = await createTestApp({ dialect });
    identity = identityOfApp(t);
    audit = tapAudit(t);
  });
  afterEach(async () => t.close());

  it('a demotion whose read predates a concurrent promotion still audits the demotion and denies the admin tokens issued meanwhile', async () => {
    const user = await seedUser(t, { email: 'target@example.test' });
    const held = holdNextUserRead(identity);
    const demoting = identity.userAdmin.update(user.id, { isAdmin: false }, actor('admin-b'));
    await held.reached;
    // Another administrator promotes the user; the user signs in and gets an admin token.
    await identity.userAdmin.update(user.id, { isAdmin: true }, actor('admin-a'));
    const tokens = await login(t.app, user.email);
    const claims = claimsOf(tokens.access_token);
    expect(claims.roles).toEqual(['admin']);
    held.release();
    await demoting;
    // The demotion is what stands.
    expect((await identity.users.findById(user.id))?.isAdmin).toBe(false);
    // docs/identity.md: clearing is_admin revokes every access token issued until then, audited
    // as `revoked: "issued access"` on user.updated, and "who unmade X an administrator" is answerable.
    const byB = audit.filter((e) => e.action === 'user.updated' && e.actor === 'admin-b');
    expect(byB).toHaveLength(1);
    expect(byB[0]?.details).toMatchObject({ changed: { is_admin: false }, revoked: 'issued access' });
    expect(
      await identity.revocations.isRevoked({ jti: claims.jti as string, userId: user.id, issuedAtMs: claims.iat_ms as number, sessionId: claims.sid as string }),
    ).toBe(true);
  });

  it('a rename whose read predates a concurrent deactivation is not audited as the deactivation (nor does it repeat its revocations)', async () => {
    const user = await seedUser(t, { email: 'renamed@example.test' });
    const held = holdNextUserRead(identity);
    const renaming = identity.userAdmin.update(user.id, { name: 'New Name' }, actor('editor'));
    await held.reached;
    await identity.userAdmin.update(user.id, { isActive: false }, actor('admin-a'));
    held.release();
    await renaming;
    expect((await identity.users.findById(user.id))?.isActive).toBe(false);
    // Exactly one deactivation, by the one who deactivated; the editor only renamed.
    expect(audit.filter((e) => e.action === 'user.deactivated').map((e) => e.actor)).toEqual(['admin-a']);
    const byEditor = audit.filter((e) => e.actor === 'editor' && e.entity_id === user.id);
    expect(byEditor.map((e) => e.action)).toEqual(['user.updated']);
    expect(byEditor[0]?.details).not.toHaveProperty('changed');
    // The editor's request ended nobody's sessions: one logout-all, the deactivation's.
    expect(audit.filter((e) => e.action === 'auth.logout').map((e) => e.actor)).toEqual(['admin-a']);
  });

  it('a rename whose read predates a concurrent promotion is not audited as making the user an administrator', async () => {
    const user = await seedUser(t, { email: 'promoted@example.test' });
    const held = holdNextUserRead(identity);
    const renaming = identity.userAdmin.update(user.id, { name: 'New Name' }, actor('editor'));
    await held.reached;
    await identity.userAdmin.update(user.id, { isAdmin: true }, actor('admin-a'));
    held.release();
    await renaming;
    const promotions = audit.filter((e) => (e.details as { changed?: { is_admin?: boolean } } | undefined)?.changed?.is_admin === true);
    expect(promotions.map((e) => e.actor)).toEqual(['admin-a']);
  });
});
