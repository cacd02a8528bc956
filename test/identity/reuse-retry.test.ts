import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import { WardenError } from '../../src/errors/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { tapAudit } from '../helpers/audit-tap.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, identityOfApp, login, seedUser } from './identity-helpers.js';

/**
 * A reuse ends the session in the database, then writes the session marker that denies the
 * family's access tokens, then audits. When the marker (or the audit) fails, the retry — or the
 * thief's next try — presents a used token to a session already ended for reuse: that is reuse
 * still, and re-asserts the marker and records `auth.refresh.reuse_detected` (details.repeat),
 * as a logout's retry re-asserts its marker (docs/identity.md). Once every access token of the
 * family has expired there is nothing left to deny: a plain refused refresh.
 */
describeEachDatabase('refresh-token reuse retried after its revocation marker failed', (dialect) => {
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

  it('a retried reuse still denies the family’s access tokens and records auth.refresh.reuse_detected', async () => {
    const user = await seedUser(t);
    const first = await login(t.app, user.email);
    // The thief rotates the stolen refresh token first and holds a live access token.
    const thief = (
      await t.app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refresh_token: first.refresh_token },
      })
    ).json<{ access_token: string }>();
    const me = (token: string) => t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) });
    expect((await me(thief.access_token)).statusCode).toBe(200);

    vi.spyOn(identityOfApp(t).revocations, 'revokeSession').mockRejectedValueOnce(
      new WardenError('service_unavailable', 'The token denylist is temporarily unavailable; retry later'),
    );
    const ownerRefresh = () =>
      t.app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refresh_token: first.refresh_token },
      });
    // The owner presents the already-used token: reuse, but the marker write fails.
    expect((await ownerRefresh()).statusCode).toBe(503);
    // The owner's client retries, as a 503 invites.
    await ownerRefresh();

    // The family's access tokens (the thief's) must now be denied …
    expect((await me(thief.access_token)).json()).toMatchObject({ status: 401, code: 'token_revoked' });
    // … and the theft recorded.
    expect(audit.find((e) => e.action === 'auth.refresh.reuse_detected')).toMatchObject({
      actor: user.id,
      outcome: 'denied',
      details: { family_revoked: true, repeat: true },
    });
  });

  it('once every access token of the family has expired, a used token again is a plain refused refresh', async () => {
    const start = Date.now();
    await t.close();
    // Faked before the app is built so that its clock reads this Date.
    vi.useFakeTimers({ toFake: ['Date'], now: start });
    try {
      t = await createTestApp({ dialect });
      audit = tapAudit(t);
      const user = await seedUser(t);
      const first = await login(t.app, user.email);
      const refresh = () =>
        t.app.inject({
          method: 'POST',
          url: '/v1/auth/refresh',
          payload: { refresh_token: first.refresh_token },
        });
      expect((await refresh()).statusCode).toBe(200);
      expect((await refresh()).json()).toMatchObject({ code: 'refresh_token_reused' });
      vi.setSystemTime(start + (t.context.settings.accessTokenTtlSeconds + t.context.settings.clockSkewSeconds + 1) * 1000);
      expect((await refresh()).json()).toMatchObject({ status: 401, code: 'refresh_token_invalid' });
      expect(audit.filter((e) => e.action === 'auth.refresh.reuse_detected')).toHaveLength(1);
      expect(audit.at(-1)).toMatchObject({
        action: 'auth.token.refresh_failed',
        outcome: 'denied',
        details: { reason: 'session_revoked' },
      });
    } finally {
      vi.useRealTimers();
    }
  });
});
