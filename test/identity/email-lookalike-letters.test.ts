import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, login, seedUser, STRONG_PASSWORD } from './identity-helpers.js';

/**
 * docs/identity.md: a new or changed address that would render like another is refused with 400
 * naming why. Beside the mixed scripts already refused, these spellings stay distinct after NFKC
 * yet render as an existing account: Latin-script phonetic and click letters, and a script that
 * a fixed list of look-alike scripts missed (Coptic). An address in plain Latin (African alphabets' ɔ ɛ ʋ ɓ ɗ included), or wholly in
 * one other script, is still accepted.
 */
describe('email addresses with letters that render as plain Latin ones', () => {
  let t: TestApp;
  let adminToken: string;
  beforeEach(async () => {
    t = await createTestApp();
    const admin = await seedUser(t, { email: 'root@example.test', isAdmin: true });
    adminToken = (await login(t.app, admin.email)).access_token;
    for (const email of ['greg@example.test', 'jo@example.test', 'leo@example.test', 'ann@example.test'])
      await seedUser(t, { email });
  });
  afterEach(async () => t.close());

  const userCount = async () =>
    Number(
      (
        await t.context.storage.db
          .selectFrom('users')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it.each([
    ['\u0261reg@example.test', 'U+0261 LATIN SMALL LETTER SCRIPT G renders as g'],
    ['j\u2c9f@example.test', 'U+2C9F COPTIC SMALL LETTER O renders as o (Latin mixed with Coptic)'],
    ['\u01c0eo@example.test', 'U+01C0 LATIN LETTER DENTAL CLICK renders as l'],
    ['\u0251nn@example.test', 'U+0251 LATIN SMALL LETTER ALPHA renders as a'],
    ['jo@examp\u01c0e.test', 'U+01C0 in the domain renders as l'],
  ])('refuses %s, which renders like an existing account (%s), and creates nothing', async (email) => {
    const before = await userCount();
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/users',
      headers: bearer(adminToken),
      payload: { email, password: STRONG_PASSWORD },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'validation_failed', field: 'email' });
    expect(await userCount()).toBe(before);
  });

  it.each([
    'ana@example.test',
    'jürgen@example.test',
    'иван@пример.test',
    'ⲙⲁⲣⲕ@example.test',
    'kɔfi@example.test',
    'ɛsi.mensah@example.test',
    'eʋɛ@example.test',
    'ɗan.ɓala@example.test',
  ])('still accepts %s', async (email) => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/users',
      headers: bearer(adminToken),
      payload: { email, password: STRONG_PASSWORD },
    });
    expect(response.statusCode, response.body).toBe(201);
  });
});
