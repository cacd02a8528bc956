import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WardenError } from '../../src/errors/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, identityOfApp, login, OTHER_PASSWORD, seedUser, STRONG_PASSWORD } from './identity-helpers.js';

const CLIENT_ID = 'client-owned-by-the-user';

/** An app with a signed-in administrator, where every user owns one OAuth client (standing in for the OAuth domain's list). */
async function appWithAdmin(): Promise<{ t: TestApp; adminToken: string }> {
  const t = await createTestApp();
  const admin = await seedUser(t, { email: 'root@example.test', isAdmin: true });
  const adminToken = (await login(t.app, admin.email)).access_token;
  identityOfApp(t).registerOwnedClients(async () => [CLIENT_ID]);
  return { t, adminToken };
}

/**
 * A user change must not be undone by a failed announcement (Redis down): the change is
 * committed before it is announced, so its session/token revocation and its audit event have
 * to follow whatever the invalidation bus does.
 */
describe('user changes while the invalidation bus cannot publish', () => {
  let t: TestApp;
  let adminToken: string;
  beforeEach(async () => ({ t, adminToken } = await appWithAdmin()));
  afterEach(async () => {
    vi.restoreAllMocks();
    await t.close();
  });

  /** Makes every publish fail the way ioredis does when Redis is down. */
  const breakBus = () => vi.spyOn(t.context.invalidation, 'publish').mockRejectedValue(new Error('Connection is closed.'));
  const patch = (id: string, payload: Record<string, unknown>) => t.app.inject({ method: 'PATCH', url: `/v1/users/${id}`, headers: bearer(adminToken), payload });
  const me = (token: string) => t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) });
  const auditOf = async (id: string, action: string) =>
    (await t.context.storage.db.selectFrom('audit_events').select(['details', 'outcome']).where('entity_id', '=', id).where('action', '=', action).execute()).map((row) => ({
      outcome: row.outcome,
      details: row.details === null ? null : (JSON.parse(String(row.details)) as unknown),
    }));
  const markerFor = (subject: string) => identityOfApp(t).revocations.isRevoked({ jti: 'any', userId: subject, issuedAtMs: Date.now() - 1000 });

  it('deactivation answers 200, revokes sessions and tokens, and is audited; a later reactivation does not revive them', async () => {
    const user = await seedUser(t, { email: 'leaver@example.test' });
    const tokens = await login(t.app, user.email);
    expect((await me(tokens.access_token)).statusCode).toBe(200);
    const publish = breakBus();

    const response = await patch(user.id, { is_active: false });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ is_active: false });
    expect(publish).toHaveBeenCalledWith({ topic: 'user', id: user.id });

    const sessions = await t.context.storage.db.selectFrom('auth_sessions').select(['revoked_at', 'revoked_reason']).where('user_id', '=', user.id).execute();
    expect(sessions).not.toHaveLength(0);
    for (const session of sessions) expect(session).toMatchObject({ revoked_reason: 'user_deactivated' });
    for (const session of sessions) expect(session.revoked_at).not.toBeNull();
    expect((await me(tokens.access_token)).statusCode).toBe(401);
    expect(await markerFor(user.id)).toBe(true);
    expect(await markerFor(CLIENT_ID)).toBe(true);
    expect(await auditOf(user.id, 'user.deactivated')).toEqual([{ outcome: 'success', details: { fields: ['is_active'], changed: { is_active: false } } }]);
    expect(await auditOf(user.id, 'auth.logout')).toHaveLength(1);
    // The lost announcement is reported, without failing the change.
    expect(t.logs.some((line) => String(line.msg).startsWith('user change not announced') && line.user_id === user.id)).toBe(true);

    // Redis is back and the user is reactivated: the old credentials stay dead.
    publish.mockRestore();
    expect((await patch(user.id, { is_active: true })).statusCode).toBe(200);
    expect((await me(tokens.access_token)).json()).toMatchObject({ code: 'token_revoked' });
    const refresh = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: tokens.refresh_token } });
    expect(refresh.statusCode).toBe(401);
  });

  it('a demotion still revokes the issued access tokens and is audited', async () => {
    const second = await seedUser(t, { email: 'second@example.test', isAdmin: true });
    const tokens = await login(t.app, second.email);
    breakBus();

    const response = await patch(second.id, { is_admin: false });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ is_admin: false });
    expect((await me(tokens.access_token)).json()).toMatchObject({ code: 'token_revoked' });
    expect(await markerFor(second.id)).toBe(true);
    expect(await auditOf(second.id, 'user.updated')).toEqual([{ outcome: 'success', details: { fields: ['is_admin'], changed: { is_admin: false }, revoked: 'issued access' } }]);
  });

  it('a deletion answers 204, writes its revocation marker and is audited', async () => {
    const user = await seedUser(t, { email: 'gone@example.test' });
    const tokens = await login(t.app, user.email);
    breakBus();

    const response = await t.app.inject({ method: 'DELETE', url: `/v1/users/${user.id}`, headers: bearer(adminToken) });
    expect(response.statusCode).toBe(204);
    expect((await me(tokens.access_token)).json()).toMatchObject({ code: 'token_revoked' });
    expect(await markerFor(user.id)).toBe(true);
    expect(await auditOf(user.id, 'user.deleted')).toEqual([{ outcome: 'success', details: { keys_deleted: { ids: [], count: 0 }, clients_deleted: { ids: [], count: 0 } } }]);
  });
});

/**
 * When a revocation itself fails (the denylist store is unavailable), the caller gets the error,
 * but the change is committed and in force: its audit event must exist, saying the revocation
 * did not complete.
 */
describe('user changes while the revocation store is unavailable', () => {
  let t: TestApp;
  let adminToken: string;
  const unavailable = () => new WardenError('service_unavailable', 'The token denylist is temporarily unavailable; retry later');
  beforeEach(async () => ({ t, adminToken } = await appWithAdmin()));
  afterEach(async () => {
    vi.restoreAllMocks();
    await t.close();
  });

  const patch = (id: string, payload: Record<string, unknown>) => t.app.inject({ method: 'PATCH', url: `/v1/users/${id}`, headers: bearer(adminToken), payload });
  const auditDetails = async (id: string, action: string) =>
    (await t.context.storage.db.selectFrom('audit_events').select('details').where('entity_id', '=', id).where('action', '=', action).execute()).map((row) =>
      row.details === null ? null : (JSON.parse(String(row.details)) as unknown),
    );

  it('a deactivation whose revocation fails answers 503 and is still audited; sessions end and client markers are still attempted', async () => {
    const user = await seedUser(t, { email: 'leaver@example.test' });
    await login(t.app, user.email);
    const identity = identityOfApp(t);
    const original = identity.revocations.revokeUser.bind(identity.revocations);
    // The user's own marker fails; the client's must still be written.
    const revokeUser = vi.spyOn(identity.revocations, 'revokeUser').mockImplementation(async (subject, options) => {
      if (subject === user.id) throw unavailable();
      await original(subject, options);
    });

    const response = await patch(user.id, { is_active: false });
    expect(response.json()).toMatchObject({ status: 503, code: 'service_unavailable' });
    expect((await t.context.storage.db.selectFrom('users').select('is_active').where('id', '=', user.id).executeTakeFirstOrThrow()).is_active).toBeFalsy();
    expect(await auditDetails(user.id, 'user.deactivated')).toEqual([{ fields: ['is_active'], changed: { is_active: false }, revocation: 'failed' }]);
    const sessions = await t.context.storage.db.selectFrom('auth_sessions').select('revoked_at').where('user_id', '=', user.id).execute();
    for (const session of sessions) expect(session.revoked_at).not.toBeNull();
    expect(revokeUser).toHaveBeenCalledWith(CLIENT_ID, expect.anything());
    expect(await identity.revocations.isRevoked({ jti: 'any', userId: CLIENT_ID, issuedAtMs: Date.now() - 1000 })).toBe(true);
  });

  it('a demotion whose revocation fails answers 503 and is audited without claiming the tokens were revoked', async () => {
    const second = await seedUser(t, { email: 'second@example.test', isAdmin: true });
    vi.spyOn(identityOfApp(t).revocations, 'revokeUser').mockRejectedValue(unavailable());

    expect((await patch(second.id, { is_admin: false })).json()).toMatchObject({ status: 503, code: 'service_unavailable' });
    expect(await auditDetails(second.id, 'user.updated')).toEqual([{ fields: ['is_admin'], changed: { is_admin: false }, revocation: 'failed' }]);
  });

  it('a password change whose revocation fails answers 503 and is still audited: the new password is in force', async () => {
    const user = await seedUser(t, { email: 'changer@example.test' });
    const token = (await login(t.app, user.email)).access_token;
    vi.spyOn(identityOfApp(t).revocations, 'revokeUser').mockRejectedValue(unavailable());

    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/password',
      headers: bearer(token),
      payload: { current_password: STRONG_PASSWORD, new_password: OTHER_PASSWORD },
    });
    expect(response.json()).toMatchObject({ status: 503, code: 'service_unavailable' });
    vi.restoreAllMocks();
    await login(t.app, user.email, OTHER_PASSWORD);
    expect(await auditDetails(user.id, 'user.password_changed')).toEqual([{ revocation: 'failed' }]);
    // The caller's token still works for the logout-all that finishes the job.
    expect((await t.app.inject({ method: 'POST', url: '/v1/auth/logout-all', headers: bearer(token) })).statusCode).toBe(200);
  });

  it('a deletion whose revocation fails answers 503 and is still audited', async () => {
    const user = await seedUser(t, { email: 'gone@example.test' });
    vi.spyOn(identityOfApp(t).revocations, 'revokeUser').mockRejectedValue(unavailable());

    const response = await t.app.inject({ method: 'DELETE', url: `/v1/users/${user.id}`, headers: bearer(adminToken) });
    expect(response.json()).toMatchObject({ status: 503, code: 'service_unavailable' });
    expect(await auditDetails(user.id, 'user.deleted')).toEqual([{ ...{ keys_deleted: { ids: [], count: 0 }, clients_deleted: { ids: [], count: 0 } }, revocation: 'failed' }]);
  });

  /**
   * The 503 of a failed revocation invites a retry, but the change it reports is committed:
   * asking for it again changes nothing in the user row. What the failed marker left open must
   * be closed by the retry (a demotion) or before the user can use the tokens again (a reactivation).
   */
  describe('and then asked again, or undone', () => {
    const me = (token: string) => t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) });
    const isActive = async (id: string) => Boolean((await t.context.storage.db.selectFrom('users').select('is_active').where('id', '=', id).executeTakeFirstOrThrow()).is_active);
    /** Makes the denylist refuse every write until the returned function is called. */
    const breakDenylist = () => {
      const spy = vi.spyOn(identityOfApp(t).revocations, 'revokeUser').mockRejectedValue(unavailable());
      return () => spy.mockRestore();
    };

    it('reactivating the user first denies the tokens issued before, so an access token from before the deactivation stays dead', async () => {
      const user = await seedUser(t, { email: 'leaver@example.test' });
      const tokens = await login(t.app, user.email);
      const repair = breakDenylist();
      expect((await patch(user.id, { is_active: false })).statusCode).toBe(503);
      repair();
      // Refused while inactive (the status check), though no marker was written.
      expect((await me(tokens.access_token)).statusCode).toBe(401);

      expect((await patch(user.id, { is_active: true })).statusCode).toBe(200);
      expect((await me(tokens.access_token)).json()).toMatchObject({ code: 'token_revoked' });
      expect(await identityOfApp(t).revocations.isRevoked({ jti: 'any', userId: CLIENT_ID, issuedAtMs: Date.now() - 1000 })).toBe(true);
      // The user signs in again as usual.
      const fresh = await login(t.app, user.email);
      expect((await me(fresh.access_token)).statusCode).toBe(200);
    });

    it('a reactivation while the denylist is unavailable answers 503 and leaves the user inactive', async () => {
      const user = await seedUser(t, { email: 'dormant@example.test' });
      expect((await patch(user.id, { is_active: false })).statusCode).toBe(200);
      breakDenylist();

      expect((await patch(user.id, { is_active: true })).json()).toMatchObject({ status: 503, code: 'service_unavailable' });
      expect(await isActive(user.id)).toBe(false);
    });

    it('asking for the demotion again writes its marker: the administrator token is revoked, a token issued since stays valid', async () => {
      const second = await seedUser(t, { email: 'second@example.test', isAdmin: true });
      const adminTokens = await login(t.app, second.email);
      const repair = breakDenylist();
      expect((await patch(second.id, { is_admin: false })).statusCode).toBe(503);
      repair();
      const memberTokens = await login(t.app, second.email);
      // Warden itself refuses an "admin" token of a user who is no longer one, but nothing
      // marked it: services reading roles from the JWKS alone would still see an administrator.
      expect((await me(adminTokens.access_token)).json()).toMatchObject({ code: 'token_revoked' });

      const retry = await patch(second.id, { is_admin: false });
      expect(retry.statusCode).toBe(200);
      expect((await me(adminTokens.access_token)).json()).toMatchObject({ code: 'token_revoked' });
      expect((await me(memberTokens.access_token)).statusCode).toBe(200);
      const audited = await t.context.storage.db.selectFrom('audit_events').select('details').where('entity_id', '=', second.id).where('action', '=', 'user.updated').orderBy('seq').execute();
      expect(audited.map((row) => JSON.parse(String(row.details)) as unknown)).toEqual([
        { fields: ['is_admin'], changed: { is_admin: false }, revocation: 'failed' },
        { fields: ['is_admin'], revoked: 'issued access' },
      ]);
    });

    it('is_admin: false for a member whose last change is older than a token lifetime revokes nothing', async () => {
      const member = await seedUser(t, { email: 'member@example.test' });
      const tokens = await login(t.app, member.email);
      await t.context.storage.db.updateTable('users').set({ updated_at: Date.now() - 24 * 3600_000 }).where('id', '=', member.id).execute();

      expect((await patch(member.id, { is_admin: false })).statusCode).toBe(200);
      expect((await me(tokens.access_token)).statusCode).toBe(200);
    });
  });
});
