import { pbkdf2Sync } from 'node:crypto';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import type { IdentityService } from '../../src/identity/identity-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { tapAudit } from '../helpers/audit-tap.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, holdNextVerification, identityOfApp, login, OTHER_PASSWORD, seedUser, STRONG_PASSWORD } from './identity-helpers.js';

const claimsOf = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
const system = { actor: 'system', ip: undefined, userAgent: undefined };

// A login reads the user (hash, flags) before its slow verification; a password change,
// deactivation or demotion may commit in between. Nothing the login then issues may outlive
// that change.
describeEachDatabase('a login racing a change of the user', (dialect) => {
  let t: TestApp;
  let audit: AuditEventInput[];
  beforeEach(async () => {
    // The held login keeps its hashing slot; the change made meanwhile needs a second one.
    t = await createTestApp({ dialect, env: { WARDEN_PASSWORD_HASH_CONCURRENCY: '2' } });
    audit = tapAudit(t);
  });
  afterEach(async () => t.close());

  const loginRequest = (email: string, password = STRONG_PASSWORD) => t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });
  /** A login with the old password, held after its verification while the owner changes the password, then let go. */
  const loginStraddlingPasswordChange = async (identity: IdentityService, email: string, ownerToken: string) => {
    const held = holdNextVerification(identity);
    const racing = loginRequest(email);
    await held.reached;
    const change = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/password',
      headers: bearer(ownerToken),
      payload: { current_password: STRONG_PASSWORD, new_password: OTHER_PASSWORD },
    });
    expect(change.statusCode).toBe(204);
    held.release();
    const raced = await racing;
    held.restore();
    return raced;
  };

  it('a login with the old password that straddles a password change is refused, and leaves no session', async () => {
    const identity = identityOfApp(t);
    const user = await seedUser(t, { email: 'victim@example.test' });
    const victim = await login(t.app, user.email);
    const raced = await loginStraddlingPasswordChange(identity, user.email, victim.access_token);
    // Exactly what a wrong password gets.
    expect(raced.statusCode).toBe(401);
    expect(raced.json()).toMatchObject({ code: 'invalid_credentials' });
    expect(await identity.sessions.listActive(user.id)).toEqual([]);
    const failed = audit.filter((e) => e.action === 'auth.login.failed');
    expect(failed.map((e) => e.details?.reason)).toEqual(['password_changed']);
    expect(audit.some((e) => e.action === 'auth.login.succeeded' && e.actor === user.id && audit.indexOf(e) > audit.indexOf(failed[0] as AuditEventInput))).toBe(false);
    // The new password works; the old one does not.
    expect((await loginRequest(user.email, OTHER_PASSWORD)).statusCode).toBe(200);
    expect((await loginRequest(user.email, STRONG_PASSWORD)).statusCode).toBe(401);
  });

  it('a login that straddles a deactivation is refused, and nothing of it works after a reactivation', async () => {
    const identity = identityOfApp(t);
    const user = await seedUser(t, { email: 'leaver@example.test' });
    const held = holdNextVerification(identity);
    const racing = loginRequest(user.email);
    await held.reached;
    await identity.userAdmin.update(user.id, { isActive: false }, system);
    held.release();
    const raced = await racing;
    held.restore();
    expect(raced.statusCode).toBe(401);
    expect(raced.json()).toMatchObject({ code: 'invalid_credentials' });
    expect(audit.filter((e) => e.action === 'auth.login.failed').map((e) => e.details?.reason)).toEqual(['inactive_user']);
    await identity.userAdmin.update(user.id, { isActive: true }, system);
    expect(await identity.sessions.listActive(user.id)).toEqual([]);
  });

  it('a login that straddles the deletion of its user is a 401 unknown_user, not a 500 from the session row', async () => {
    const identity = identityOfApp(t);
    const user = await seedUser(t, { email: 'leaving@example.test' });
    const held = holdNextVerification(identity);
    const racing = loginRequest(user.email);
    await held.reached;
    expect(await identity.userAdmin.delete(user.id, system)).toBe(true);
    held.release();
    const raced = await racing;
    held.restore();
    expect(raced.statusCode, raced.body).toBe(401);
    expect(raced.json()).toMatchObject({ code: 'invalid_credentials' });
    expect(audit.filter((e) => e.action === 'auth.login.failed').map((e) => e.details?.reason)).toEqual(['unknown_user']);
    expect(t.logs.filter((line) => (line.level as number) >= 50)).toEqual([]);
  });

  it('a login that straddles a password change never re-hashes the old password over the new one', async () => {
    const identity = identityOfApp(t);
    // An imported PBKDF2 hash: a successful login re-hashes it to argon2id.
    const salt = 'specsalt12345678';
    const django = `pbkdf2_sha256$600000$${salt}$${pbkdf2Sync(STRONG_PASSWORD, salt, 600000, 32, 'sha256').toString('base64')}`;
    const user = await identity.userAdmin.importWithHash({ email: 'legacy@example.test', passwordHash: django }, system);
    // The owner's session from before the import was upgraded: a token without a login.
    const session = await identity.sessions.create(user.id, { ip: '192.0.2.1', userAgent: 'owner' });
    const owner = await identity.issuer.issue({ userId: user.id, sessionId: session.sessionId });
    expect((await loginStraddlingPasswordChange(identity, user.email, owner.token)).statusCode).toBe(401);
    expect((await loginRequest(user.email, OTHER_PASSWORD)).statusCode).toBe(200);
    expect((await loginRequest(user.email, STRONG_PASSWORD)).statusCode).toBe(401);
  });

  it('the re-hash is compare-and-set on the hash that was verified', async () => {
    const identity = identityOfApp(t);
    const user = await seedUser(t, { email: 'cas@example.test' });
    const stored = await identity.users.passwordHashOf(user.id);
    expect(stored).toBeDefined();
    expect(await identity.users.rehashPassword(user.id, 'not-the-stored-hash', 'replacement')).toBe(false);
    expect(await identity.users.passwordHashOf(user.id)).toBe(stored);
    expect(await identity.users.rehashPassword(user.id, stored as string, 'replacement')).toBe(true);
    expect(await identity.users.passwordHashOf(user.id)).toBe('replacement');
  });

  it('an admin demoted during their own login gets no token with roles:["admin"]', async () => {
    const identity = identityOfApp(t);
    const admin = await seedUser(t, { email: 'admin2@example.test', isAdmin: true });
    const held = holdNextVerification(identity);
    const racing = loginRequest(admin.email);
    await held.reached;
    await identity.userAdmin.update(admin.id, { isAdmin: false }, system);
    held.release();
    const response = await racing;
    held.restore();
    // The login itself stands (the user may log in); only the role is gone.
    expect(response.statusCode).toBe(200);
    const token = (response.json() as { access_token: string }).access_token;
    expect(claimsOf(token).roles ?? []).not.toContain('admin');
    expect((await identity.verifier.verify(token)).valid).toBe(true);
  });

  it('an undisturbed login of an admin still carries the role (control)', async () => {
    const admin = await seedUser(t, { email: 'admin3@example.test', isAdmin: true });
    const tokens = await login(t.app, admin.email);
    expect(claimsOf(tokens.access_token).roles).toEqual(['admin']);
    expect(audit.filter((e) => e.action === 'auth.login.succeeded')).toHaveLength(1);
  });
});

// A refresh reads the user's status from a cache that another instance's change reaches only
// within its bounds; a demotion or deactivation may also commit, and write its revocation,
// between that read and the tokens. Nothing the refresh then issues may outlive the change.
describeEachDatabase('a refresh racing a change of the user', (dialect) => {
  let t: TestApp;
  let audit: AuditEventInput[];
  beforeEach(async () => {
    t = await createTestApp({ dialect });
    audit = tapAudit(t);
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await t.close();
  });

  const refresh = (refreshToken: string) => t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: refreshToken } });
  /** The change is committed (and its revocation already written) while the status cache still answers with the user as they were. */
  const changeBehindTheCache = async (userId: string, change: { is_admin?: number; is_active?: number }, before: { isAdmin: boolean }) => {
    const identity = identityOfApp(t);
    vi.spyOn(identity.userStatus, 'get').mockResolvedValue({ exists: true, isActive: true, isAdmin: before.isAdmin });
    await t.context.storage.db.updateTable('users').set(change).where('id', '=', userId).execute();
    await identity.auth.revokeIssuedTokens(userId);
  };

  it('an admin demoted meanwhile gets no token with roles:["admin"], and keeps the session', async () => {
    const admin = await seedUser(t, { email: 'admin4@example.test', isAdmin: true });
    const tokens = await login(t.app, admin.email);
    await changeBehindTheCache(admin.id, { is_admin: 0 }, { isAdmin: true });

    const response = await refresh(tokens.refresh_token);
    expect(response.statusCode).toBe(200);
    const renewed = response.json() as { access_token: string };
    expect(claimsOf(renewed.access_token).roles ?? []).not.toContain('admin');
    expect((await identityOfApp(t).verifier.verify(renewed.access_token)).valid).toBe(true);
  });

  it('a user deactivated meanwhile gets no tokens, and the session ends', async () => {
    const user = await seedUser(t, { email: 'leaving@example.test' });
    const tokens = await login(t.app, user.email);
    await changeBehindTheCache(user.id, { is_active: 0 }, { isAdmin: false });

    const response = await refresh(tokens.refresh_token);
    expect(response.json()).toMatchObject({ status: 401, code: 'refresh_token_invalid' });
    const session = await t.context.storage.db.selectFrom('auth_sessions').select(['revoked_at', 'revoked_reason']).where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(session.revoked_reason).toBe('user_deactivated');
    expect(audit.filter((e) => e.action === 'auth.token.refresh_failed').map((e) => e.details)).toEqual([{ reason: 'user_deactivated', session_ended: true }]);
  });

  it('a refresh that fails after its rotation committed can be retried with the same token: not taken for reuse', async () => {
    const user = await seedUser(t, { email: 'flaky@example.test' });
    const tokens = await login(t.app, user.email);
    vi.spyOn(identityOfApp(t).users, 'credentialState').mockRejectedValueOnce(new Error('connection terminated'));
    // A dropped database connection: answered as the outage it is (503 storage_unavailable).
    expect((await refresh(tokens.refresh_token)).json()).toMatchObject({ status: 503, code: 'storage_unavailable' });
    const retried = await refresh(tokens.refresh_token);
    expect(retried.statusCode).toBe(200);
    expect(audit.filter((e) => e.action === 'auth.refresh.reuse_detected')).toEqual([]);
    // The session goes on with the token the retry got.
    expect((await refresh((retried.json() as { refresh_token: string }).refresh_token)).statusCode).toBe(200);
  });

  it('an undisturbed refresh of an admin still carries the role (control)', async () => {
    const admin = await seedUser(t, { email: 'admin5@example.test', isAdmin: true });
    const tokens = await login(t.app, admin.email);
    const response = await refresh(tokens.refresh_token);
    expect(claimsOf((response.json() as { access_token: string }).access_token).roles).toEqual(['admin']);
  });
});
