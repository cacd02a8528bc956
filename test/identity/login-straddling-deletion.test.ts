import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { tapAudit } from '../helpers/audit-tap.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { holdNextVerification, identityOfApp, seedUser, STRONG_PASSWORD } from './identity-helpers.js';

const system = { actor: 'system', ip: undefined, userAgent: undefined };

/**
 * A login whose user is deleted while its password is checked answers as for an unknown user:
 * 401 invalid_credentials, audited as auth.login.failed with reason unknown_user, and no error
 * log line; never a 500 from the session's foreign key.
 */
describeEachDatabase('a login racing the deletion of its user', (dialect) => {
  let t: TestApp;
  let audit: AuditEventInput[];
  beforeEach(async () => {
    t = await createTestApp({ dialect, env: { WARDEN_PASSWORD_HASH_CONCURRENCY: '2' } });
    audit = tapAudit(t);
  });
  afterEach(async () => t.close());

  it('answers 401 invalid_credentials, audited as auth.login.failed (unknown_user), like a wrong password', async () => {
    const identity = identityOfApp(t);
    const user = await seedUser(t, { email: 'leaving@example.test' });
    const held = holdNextVerification(identity);
    const racing = t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: user.email, password: STRONG_PASSWORD },
    });
    await held.reached;
    expect(await identity.userAdmin.delete(user.id, system)).toBe(true);
    held.release();
    const raced = await racing;
    held.restore();
    expect(raced.statusCode, raced.body).toBe(401);
    expect(raced.json()).toMatchObject({ code: 'invalid_credentials' });
    expect(audit.filter((e) => e.action === 'auth.login.failed').map((e) => e.details?.reason)).toEqual([
      'unknown_user',
    ]);
  });
});
