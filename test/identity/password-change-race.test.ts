import { afterEach, beforeEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, holdNextVerification, identityOfApp, login, OTHER_PASSWORD, seedUser, STRONG_PASSWORD } from './identity-helpers.js';

const ATTACKER_PASSWORD = 'granite-meadow-silently-48';

/**
 * POST /v1/auth/password stores the new hash only over the hash the current password was
 * verified against (compare-and-set), as a login's re-hash does. A change verified against a
 * password that another change replaced meanwhile is refused as a wrong current password and
 * audited, so whoever knew the old password cannot undo the owner's change by racing it.
 */
describeEachDatabase('a password change racing another password change', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    // The held change keeps its hashing slot; the other one needs a second.
    t = await createTestApp({ dialect, env: { WARDEN_PASSWORD_HASH_CONCURRENCY: '2' } });
  });
  afterEach(async () => t.close());

  const change = (token: string, current: string, next: string) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/password', headers: bearer(token), payload: { current_password: current, new_password: next } });
  const loginStatus = async (email: string, password: string) =>
    (await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } })).statusCode;

  it('a change verified against the old password that straddles the owner\'s change is refused, and the owner\'s new password stands', async () => {
    const user = await seedUser(t, { email: 'victim@example.test' });
    // Someone else knows the old password and holds a token; the owner is changing the password to lock them out.
    const intruder = await login(t.app, user.email);
    const owner = await login(t.app, user.email);
    const held = holdNextVerification(identityOfApp(t));
    const racing = change(intruder.access_token, STRONG_PASSWORD, ATTACKER_PASSWORD);
    await held.reached;
    expect((await change(owner.access_token, STRONG_PASSWORD, OTHER_PASSWORD)).statusCode).toBe(204);
    held.release();
    const raced = await racing;
    held.restore();
    // As a wrong current password: the password it verified was no longer the current one.
    expect(raced.statusCode).toBe(401);
    expect(await loginStatus(user.email, OTHER_PASSWORD)).toBe(200);
    expect(await loginStatus(user.email, ATTACKER_PASSWORD)).toBe(401);
    const failed = await t.context.storage.db.selectFrom('audit_events').select(['actor', 'outcome', 'details']).where('action', '=', 'auth.password_change.failed').execute();
    expect(failed).toEqual([{ actor: user.id, outcome: 'failure', details: JSON.stringify({ reason: 'password_replaced' }) }]);
  });
});
