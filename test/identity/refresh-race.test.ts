import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import { SessionStore } from '../../src/identity/session-store.js';
import { openDatabase, type Storage } from '../../src/storage/index.js';
import { instrumentedDb } from '../authz/fixtures.js';
import { createTestApp, TEST_SECRET_KEY, type TestApp } from '../helpers/app.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser } from './identity-helpers.js';

// Two refreshes of one token at the same time: whichever loses, the outcome must not depend on
// whether the database ran them one after the other (the loser sees a used token) or side by
// side (the loser's conditional UPDATE claims nothing). With leeway 0 both are reuse.
describeEachDatabase('refresh-token races', (dialect) => {
  describe('in the session store (staged: the loser has read the token unused before the winner claims it)', () => {
    let storage: Storage & { url: string };
    // A second connection for the winner: SQLite's single connection is busy with the held read.
    let other: Storage;
    const clock = 1_800_000_000_000;
    const client = { ip: '192.0.2.1', userAgent: 'test' };
    beforeEach(async () => {
      storage = await createTestStorage(dialect);
      other = openDatabase(storage.url, { poolSize: 2 });
      await storage.db
        .insertInto('users')
        .values({ id: 'u1', email: 'u1@example.test', email_lookup: 'x', name: null, password_hash: 'h', is_active: 1, is_admin: 0, created_at: clock, updated_at: clock, password_changed_at: clock })
        .execute();
    });
    afterEach(async () => {
      await other.close();
      await storage.close();
    });

    const sessionsOn = (db: Storage['db'], reuseLeewayMs: number) => new SessionStore(db, TEST_SECRET_KEY, { ttlMs: 86_400_000, now: () => clock, reuseLeewayMs });

    /** Runs the loser up to its read, lets the winner refresh completely, then lets the loser go on. */
    async function race(reuseLeewayMs: number) {
      const { refreshToken, sessionId } = await sessionsOn(storage.db, reuseLeewayMs).create('u1', client);
      const staged = instrumentedDb(storage.db);
      const held = staged.holdNextFrom('refresh_tokens');
      const losing = sessionsOn(staged.db, reuseLeewayMs).rotate(refreshToken, client);
      await held;
      const winner = await sessionsOn(other.db, reuseLeewayMs).rotate(refreshToken, client);
      staged.release();
      return { sessionId, winner, loser: await losing };
    }

    it('with leeway 0 the loser revokes the family, as a later reuse would', async () => {
      const { sessionId, winner, loser } = await race(0);
      expect(winner.ok).toBe(true);
      expect(loser).toEqual({ ok: false, code: 'refresh_token_reused', sessionId, userId: 'u1', concurrent: true });
      expect(await storage.db.selectFrom('auth_sessions').select('revoked_reason').execute()).toEqual([{ revoked_reason: 'reuse_detected' }]);
      // Whoever won (the owner or a thief) holds nothing that still works.
      if (winner.ok) expect(await sessionsOn(storage.db, 0).rotate(winner.refreshToken, client)).toMatchObject({ code: 'refresh_token_invalid', reason: 'session_revoked' });
    });

    it('with a leeway the loser is a quiet duplicate: refused, the family lives on with the winner', async () => {
      const { sessionId, winner, loser } = await race(2000);
      expect(loser).toEqual({ ok: false, code: 'refresh_token_invalid', reason: 'already_used', sessionId, userId: 'u1' });
      expect(await sessionsOn(storage.db, 2000).isActive(sessionId)).toBe(true);
      if (winner.ok) expect((await sessionsOn(storage.db, 2000).rotate(winner.refreshToken, client)).ok).toBe(true);
    });
  });

  describe('over HTTP', () => {
    let t: TestApp;
    let audit: AuditEventInput[];
    const start = async (env: Record<string, string> = {}): Promise<void> => {
      t = await createTestApp({ dialect, env });
      audit = [];
      const real = t.context.audit;
      t.context.audit = {
        record: async (event) => {
          audit.push(event);
          await real.record(event);
        },
      };
    };
    afterEach(async () => t.close());

    const refresh = (token: string) => t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: token } });

    it('with the default leeway 0, concurrent refreshes of one token leave no working session (reuse, audited)', async () => {
      await start();
      const user = await seedUser(t);
      // Two at a time: with more, a late one may find the family already ended (session_revoked).
      for (let round = 0; round < 5; round += 1) {
        const first = await login(t.app, user.email);
        const answers = await Promise.all([0, 1].map(() => refresh(first.refresh_token)));
        const winners = answers.filter((a) => a.statusCode === 200);
        expect(winners).toHaveLength(1);
        for (const loser of answers.filter((a) => a.statusCode !== 200)) expect(loser.json()).toMatchObject({ status: 401, code: 'refresh_token_reused' });
        const won = winners[0]?.json() as { access_token: string; refresh_token: string };
        expect((await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(won.access_token) })).json()).toMatchObject({ code: 'token_revoked' });
        expect((await refresh(won.refresh_token)).json()).toMatchObject({ code: 'refresh_token_invalid' });
      }
      const reuses = audit.filter((e) => e.action === 'auth.refresh.reuse_detected');
      expect(reuses).toHaveLength(5);
      for (const event of reuses) expect(event).toMatchObject({ actor: user.id, entity_type: 'session', outcome: 'denied', details: { family_revoked: true } });
    });

    it('with WARDEN_REFRESH_REUSE_LEEWAY_MS, the duplicates are refused quietly and the winner keeps its session', async () => {
      await start({ WARDEN_REFRESH_REUSE_LEEWAY_MS: '5000' });
      const user = await seedUser(t);
      const first = await login(t.app, user.email);
      const answers = await Promise.all(Array.from({ length: 4 }, () => refresh(first.refresh_token)));
      expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 401, 401, 401]);
      for (const loser of answers.filter((a) => a.statusCode !== 200)) expect(loser.json()).toMatchObject({ code: 'refresh_token_invalid' });
      const won = answers.find((a) => a.statusCode === 200)?.json() as { access_token: string; refresh_token: string };
      expect((await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(won.access_token) })).statusCode).toBe(200);
      expect((await refresh(won.refresh_token)).statusCode).toBe(200);
      expect(audit.filter((e) => e.action === 'auth.refresh.reuse_detected')).toEqual([]);
      expect(audit.filter((e) => e.action === 'auth.token.refresh_failed').map((e) => e.details)).toEqual([{ reason: 'already_used' }, { reason: 'already_used' }, { reason: 'already_used' }]);
    });
  });
});
