import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { WardenError } from '../../src/errors/index.js';
import type { DialectName } from '../../src/storage/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, identityOfApp, login, seedUser } from './identity-helpers.js';

/**
 * Ending a session commits in the database first, then writes the marker that denies the
 * session's access tokens. When that write fails (denylist down), the caller gets 503 with
 * the session already ended; the retry that 503 invites must write the marker, or the
 * session's access tokens keep working until they expire.
 */
describeEachDatabase('ending a session again after its revocation marker failed', (dialect: DialectName) => {
  let t: TestApp;
  const unavailable = () => new WardenError('service_unavailable', 'The token denylist is temporarily unavailable; retry later');
  beforeEach(async () => {
    t = await createTestApp({ dialect });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await t.close();
  });

  const me = (token: string) => t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) });
  /** Signs in, then refreshes once: two live access tokens of one session. */
  async function sessionWithTwoTokens(email: string) {
    const user = await seedUser(t, { email });
    const first = await login(t.app, user.email);
    const second = (await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: first.refresh_token } })).json<{ access_token: string; refresh_token: string }>();
    return { earlier: first.access_token, current: second.access_token, refreshToken: second.refresh_token };
  }

  it('a retried logout denies the access tokens the session issued before', async () => {
    const tokens = await sessionWithTwoTokens('leaving@example.test');
    const marker = vi.spyOn(identityOfApp(t).revocations, 'revokeSession').mockRejectedValueOnce(unavailable());
    const logout = () => t.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(tokens.current), payload: { refresh_token: tokens.refreshToken } });

    expect((await logout()).json()).toMatchObject({ status: 503, code: 'service_unavailable' });
    // The session is ended, but without its marker the earlier token still works.
    expect((await me(tokens.earlier)).statusCode).toBe(200);

    expect((await logout()).statusCode).toBe(204);
    expect(marker).toHaveBeenCalledTimes(2);
    expect((await me(tokens.earlier)).json()).toMatchObject({ status: 401, code: 'token_revoked' });
  });

  it('a retried DELETE /v1/auth/sessions/{id} writes the marker too, though the session had already ended (204, recorded as a repeat)', async () => {
    const tokens = await sessionWithTwoTokens('device@example.test');
    const other = await login(t.app, 'device@example.test');
    const sessions = (await t.app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: bearer(other.access_token) })).json<{ data: { id: string; current: boolean }[] }>();
    const target = sessions.data.find((s) => !s.current);
    expect(target).toBeDefined();
    vi.spyOn(identityOfApp(t).revocations, 'revokeSession').mockRejectedValueOnce(unavailable());
    const end = () => t.app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${target?.id}`, headers: bearer(other.access_token) });

    expect((await end()).statusCode).toBe(503);
    expect((await me(tokens.current)).statusCode).toBe(200);
    expect((await end()).statusCode).toBe(204);
    expect((await me(tokens.current)).json()).toMatchObject({ code: 'token_revoked' });
    expect((await me(other.access_token)).statusCode).toBe(200);
  });

  it("another user's ended session is neither found nor marked", async () => {
    const victim = await sessionWithTwoTokens('victim@example.test');
    const sessionId = JSON.parse(Buffer.from(victim.current.split('.')[1] ?? '', 'base64url').toString('utf8')).sid as string;
    const victimTokens = await login(t.app, 'victim@example.test');
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${sessionId}`, headers: bearer(victimTokens.access_token) })).statusCode).toBe(204);
    const marker = vi.spyOn(identityOfApp(t).revocations, 'revokeSession');

    const attacker = await seedUser(t, { email: 'attacker@example.test' });
    const attackerTokens = await login(t.app, attacker.email);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${sessionId}`, headers: bearer(attackerTokens.access_token) })).statusCode).toBe(404);
    expect(marker).not.toHaveBeenCalled();
  });
});
