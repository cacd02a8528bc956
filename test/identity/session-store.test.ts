import { afterEach, beforeEach, expect, it } from 'vitest';
import { SessionStore } from '../../src/identity/session-store.js';
import type { Storage } from '../../src/storage/index.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { instrumentedDb } from '../authz/fixtures.js';
import { instrumentedDb as resultHolder } from '../apikeys/fixtures.js';
import { UpdateQueryNode } from 'kysely';
import { createPlaintextFieldCipher } from '../../src/crypto/field-cipher.js';
import { UserStore } from '../../src/identity/user-store.js';

describeEachDatabase('refresh-token families', (dialect) => {
  let storage: Storage;
  let clock: number;
  const client = { ip: '192.0.2.1', userAgent: 'test' };
  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    clock = 1_800_000_000_000;
    await storage.db
      .insertInto('users')
      .values({ id: 'u1', email: 'u1@example.test', email_lookup: 'x', name: null, password_hash: 'h', is_active: 1, is_admin: 0, created_at: clock, updated_at: clock, password_changed_at: clock })
      .execute();
  });
  afterEach(async () => storage.close());

  const store = (reuseLeewayMs = 0) => new SessionStore(storage.db, TEST_SECRET_KEY, { ttlMs: 7 * 86_400_000, now: () => clock, reuseLeewayMs });

  // Staged on PostgreSQL: SQLite's single connection cannot run the revocation while the read is held.
  it.runIf(dialect === 'postgres')('refuses a refresh that read its session just before a logout-all committed: no new token outlives the revocation', async () => {
    const staged = instrumentedDb(storage.db);
    const racing = new SessionStore(staged.db, TEST_SECRET_KEY, { ttlMs: 7 * 86_400_000, now: () => clock });
    const { refreshToken } = await store().create('u1', client);
    const held = staged.holdNextFrom('refresh_tokens');
    const refreshing = racing.rotate(refreshToken, { ip: '203.0.113.50', userAgent: 'racer' });
    await held; // it has read the session as active
    expect(await store().revokeAllForUser('u1', 'password_changed')).toHaveLength(1);
    staged.release();
    expect(await refreshing).toMatchObject({ ok: false, code: 'refresh_token_invalid', reason: 'session_revoked' });
    // Nothing was issued or claimed in the revoked session, and it kept its last known address.
    expect(await storage.db.selectFrom('refresh_tokens').select('used_at').execute()).toEqual([{ used_at: null }]);
    expect(await storage.db.selectFrom('auth_sessions').select(['ip', 'revoked_reason']).execute()).toEqual([{ ip: client.ip, revoked_reason: 'password_changed' }]);
  });

  it.runIf(dialect === 'postgres')('a refresh and a deletion of its user in flight together both finish (no lock-order deadlock)', async () => {
    const staged = resultHolder(storage.db);
    const racing = new SessionStore(staged.db, TEST_SECRET_KEY, { ttlMs: 7 * 86_400_000, now: () => clock });
    const { refreshToken } = await store().create('u1', client);
    // Held right after the refresh has locked its session row, before it claims the token.
    const held = staged.holdNextResult((query) => UpdateQueryNode.is(query));
    const refreshing = racing.rotate(refreshToken, client);
    await held;
    const deleting = new UserStore(storage.db, createPlaintextFieldCipher(TEST_SECRET_KEY), () => clock).deleteWithCredentials('u1');
    await new Promise((resolve) => setTimeout(resolve, 300)); // the deletion now waits for the session lock
    staged.release();
    const [rotated, deleted] = await Promise.allSettled([refreshing, deleting]);
    expect(rotated).toMatchObject({ status: 'fulfilled', value: { ok: true } });
    expect(deleted).toEqual({ status: 'fulfilled', value: { apiKeys: [], oauthClients: [] } });
    expect(await storage.db.selectFrom('refresh_tokens').select('token_hash').execute()).toEqual([]);
  });

  it('stores only a keyed hash of the token (256 random bits)', async () => {
    const { refreshToken } = await store().create('u1', client);
    expect(Buffer.from(refreshToken.slice(4), 'base64url')).toHaveLength(32);
    const rows = await storage.db.selectFrom('refresh_tokens').select('token_hash').execute();
    expect(rows.map((r) => r.token_hash)).not.toContain(refreshToken);
    expect(JSON.stringify(rows)).not.toContain(refreshToken.slice(4));
  });

  it('expires the family at its absolute end: refreshing never extends it', async () => {
    const sessions = store();
    const created = await sessions.create('u1', client);
    const { sessionId } = created;
    let { refreshToken } = created;
    clock += 6 * 86_400_000;
    const rotated = await sessions.rotate(refreshToken, client);
    expect(rotated.ok).toBe(true);
    refreshToken = rotated.ok ? rotated.refreshToken : '';
    clock += 86_400_000;
    expect(await sessions.rotate(refreshToken, client)).toEqual({ ok: false, code: 'refresh_token_invalid', reason: 'expired', sessionId, userId: 'u1' });
  });

  it('with a reuse leeway, a duplicate within the leeway is refused without revoking; after it, reuse revokes the family', async () => {
    const sessions = store(2000);
    const { refreshToken, sessionId } = await sessions.create('u1', client);
    const first = await sessions.rotate(refreshToken, client);
    expect(first.ok).toBe(true);
    clock += 1000;
    expect(await sessions.rotate(refreshToken, client)).toEqual({ ok: false, code: 'refresh_token_invalid', reason: 'already_used', sessionId, userId: 'u1' });
    expect(await sessions.isActive(sessionId)).toBe(true);
    clock += 5000;
    expect(await sessions.rotate(refreshToken, client)).toMatchObject({ ok: false, code: 'refresh_token_reused', sessionId });
    expect(await sessions.isActive(sessionId)).toBe(false);
    if (first.ok) expect(await sessions.rotate(first.refreshToken, client)).toEqual({ ok: false, code: 'refresh_token_invalid', reason: 'session_revoked', sessionId, userId: 'u1' });
  });

  it('lets exactly one of many concurrent rotations of one token win (leeway, so no family revocation)', async () => {
    const sessions = store(60_000);
    const { refreshToken } = await sessions.create('u1', client);
    const results = await Promise.all(Array.from({ length: 5 }, () => sessions.rotate(refreshToken, client)));
    const winners = results.filter((r) => r.ok);
    expect(winners).toHaveLength(1);
    const winner = winners[0];
    if (winner?.ok) expect((await sessions.rotate(winner.refreshToken, client)).ok).toBe(true);
  });

  it('keeps a User-Agent redacted, on login and on refresh: a token pasted there reaches neither the table nor the session list', async () => {
    const leaked = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlLXZhbHVlLWhlcmU';
    const { refreshToken } = await store().create('u1', { ip: client.ip, userAgent: `curl/8.5.0 token=${leaked}` });
    const stored = async () => (await storage.db.selectFrom('auth_sessions').select('user_agent').executeTakeFirstOrThrow()).user_agent ?? '';
    expect(await stored()).toMatch(/^curl\/8\.5\.0 /);
    expect(await stored()).not.toContain(leaked);
    expect(await store().rotate(refreshToken, { ip: client.ip, userAgent: `Mozilla/5.0 Chrome/120.0.0.0 ${leaked}` })).toMatchObject({ ok: true });
    expect(await stored()).toMatch(/^Mozilla\/5\.0 Chrome\/120\.0\.0\.0 /);
    expect(await stored()).not.toContain(leaked);
    expect(JSON.stringify(await store().listActive('u1'))).not.toContain(leaked);
  });

  it('takes back a rotation whose new token never left: the presented token works again, the new one never will', async () => {
    const { refreshToken } = await store().create('u1', client);
    const rotated = await store().rotate(refreshToken, client);
    if (!rotated.ok) throw new Error('the rotation was refused');
    expect(await store().undoRotation(refreshToken, rotated.refreshToken)).toBe(true);
    expect(await store().rotate(rotated.refreshToken, client)).toMatchObject({ ok: false, reason: 'unknown_token' });
    expect(await store().rotate(refreshToken, client)).toMatchObject({ ok: true });
    // Nothing to take back once the new token was used (it reached someone).
    const again = await store().rotate((await store().create('u1', client)).refreshToken, client);
    if (!again.ok) throw new Error('the rotation was refused');
    expect(await store().rotate(again.refreshToken, client)).toMatchObject({ ok: true });
    expect(await store().undoRotation('wrt_whatever', again.refreshToken)).toBe(false);
  });

  it('deletes expired refresh tokens, and sessions expired longer than the keep period', async () => {
    const { refreshToken } = await store().create('u1', client);
    await store().rotate(refreshToken, client);
    const live = await store().create('u1', client);
    // The first family ends (7 days); the second was created later and lives on.
    await storage.db.updateTable('auth_sessions').set({ expires_at: clock - 1 }).where('id', '!=', live.sessionId).execute();
    await storage.db.updateTable('refresh_tokens').set({ expires_at: clock - 1 }).where('session_id', '!=', live.sessionId).execute();
    expect(await store().deleteExpired(clock, 86_400_000)).toEqual({ tokens: 2, sessions: 0 });
    expect(await store().deleteExpired(clock + 86_400_000, 86_400_000)).toEqual({ tokens: 0, sessions: 1 });
    expect((await storage.db.selectFrom('auth_sessions').select('id').execute()).map((r) => r.id)).toEqual([live.sessionId]);
    expect(await store().rotate(live.refreshToken, client)).toMatchObject({ ok: true });
  });

  it('refuses garbage without touching the database', async () => {
    expect(await store().rotate('not-a-token', client)).toEqual({ ok: false, code: 'refresh_token_invalid', reason: 'unknown_token' });
    expect(await store().rotate(`wrt_${'A'.repeat(43)}`, client)).toEqual({ ok: false, code: 'refresh_token_invalid', reason: 'unknown_token' });
  });
});
