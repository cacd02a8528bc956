import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, login, seedUser, STRONG_PASSWORD } from './identity-helpers.js';

/**
 * docs/errors.md: a refusal names the field it is about in `field`. A weak `new_password` on
 * POST /v1/auth/password names `new_password`, the field the body has, so a client marks the
 * right input; nothing changes.
 */
describe('a weak new password on password change', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(async () => t.close());

  it('names new_password, the field the body has, and changes nothing', async () => {
    const user = await seedUser(t);
    const { access_token } = await login(t.app, user.email);
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/password',
      headers: bearer(access_token),
      payload: { current_password: STRONG_PASSWORD, new_password: 'short' },
    });
    expect(response.statusCode).toBe(400);
    const body = response.json<{ code: string; field: string }>();
    expect(body.code).toBe('weak_password');
    expect(body.field).toBe('new_password');
    expect((await login(t.app, user.email)).access_token).toBeTypeOf('string');
  });
});
