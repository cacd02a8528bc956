import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';

/**
 * DESIGN.md: request bodies are validated strictly, unknown fields rejected — on every /v1 route,
 * those that take no body too (logout-all, DELETE of a session or a user): a client's
 * `{"dry_run": true}` must not be ignored while the route acts. Without a body they still work.
 */
describe('bodies sent to /v1 routes that take none', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(async () => t.close());

  const activeSessions = async (userId: string) =>
    Number(
      (
        await t.context.storage.db
          .selectFrom('auth_sessions')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('user_id', '=', userId)
          .where('revoked_at', 'is', null)
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('POST /v1/auth/logout-all refuses a body with an unknown field and ends nothing', async () => {
    const user = await seedUser(t);
    const { access_token } = await login(t.app, user.email);
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/logout-all',
      headers: bearer(access_token),
      payload: { keep_current: true },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'validation_failed', field: 'body.keep_current' });
    expect(await activeSessions(user.id)).toBe(1);
    // Without a body (or an empty one) it still works.
    expect(
      (await t.app.inject({ method: 'POST', url: '/v1/auth/logout-all', headers: bearer(access_token) }))
        .statusCode,
    ).toBe(200);
  });

  it('DELETE /v1/auth/sessions/{id} refuses a body with an unknown field and ends nothing', async () => {
    const user = await seedUser(t);
    const first = await login(t.app, user.email);
    const second = await login(t.app, user.email);
    const sessions = (
      await t.app.inject({ url: '/v1/auth/sessions', headers: bearer(first.access_token) })
    ).json<{ data: { id: string; current: boolean }[] }>().data;
    const other = sessions.find((s) => !s.current)?.id as string;
    const response = await t.app.inject({
      method: 'DELETE',
      url: `/v1/auth/sessions/${other}`,
      headers: bearer(first.access_token),
      payload: { dry_run: true },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'validation_failed', field: 'body.dry_run' });
    expect(await activeSessions(user.id)).toBe(2);
    void second;
  });

  it('DELETE /v1/users/{id} refuses a body with an unknown field and deletes nothing', async () => {
    const admin = await seedUser(t, { isAdmin: true });
    const victim = await seedUser(t);
    const { access_token } = await login(t.app, admin.email);
    const response = await t.app.inject({
      method: 'DELETE',
      url: `/v1/users/${victim.id}`,
      headers: bearer(access_token),
      payload: { dry_run: true },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'validation_failed', field: 'body.dry_run' });
    expect(
      await t.context.storage.db
        .selectFrom('users')
        .select('id')
        .where('id', '=', victim.id)
        .executeTakeFirst(),
    ).toBeDefined();
  });
});
