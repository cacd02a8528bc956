import { afterEach, beforeEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser, STRONG_PASSWORD } from '../identity/identity-helpers.js';

/**
 * A JSON body whose escapes make an unpaired UTF-16 surrogate (`"\ud800"`) is refused (400
 * malformed_json), as a body that is not UTF-8 is: no database stores such a string as sent
 * (PostgreSQL keeps one U+FFFD, SQLite the raw bytes), so what was checked and answered would
 * differ from what is read back, and the two databases would disagree.
 */
describeEachDatabase('a JSON body with an escaped lone surrogate', (dialect) => {
  let t: TestApp;
  let token: string;
  beforeEach(async () => {
    t = await createTestApp({ dialect });
    const admin = await seedUser(t, { email: 'root@example.test', isAdmin: true });
    token = (await login(t.app, admin.email)).access_token;
  });
  afterEach(async () => t.close());

  it('is refused with a 400 and creates nothing', async () => {
    const body = `{"email":"lone@example.test","password":"${STRONG_PASSWORD}","name":"A\\ud800B"}`;
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/users',
      body,
      headers: { ...bearer(token), 'content-type': 'application/json' },
    });
    const created = response.statusCode === 201 ? response.json<{ id: string; name: string }>() : undefined;
    if (created !== undefined) {
      // What the client was told, and what was stored instead.
      const stored = (await t.app.inject({ url: `/v1/users/${created.id}`, headers: bearer(token) })).json<{
        name: string;
      }>();
      expect.soft(stored.name, 'stored name differs from the one answered').toBe(created.name);
    }
    expect(response.statusCode).toBe(400);
    expect(['malformed_json', 'validation_failed']).toContain(response.json<{ code: string }>().code);
  });
});
