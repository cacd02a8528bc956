import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';

// docs/errors.md: a `validation_failed` answer names the field it is about in `field` (the
// route's place, `body.x`, or a domain service's field name, `x`), so a client can mark the form
// input. docs/oauth.md: a past or leap-second `expires_at` is "400 validation_failed naming the field".
describe('validation_failed answers of the key and client routes name their field', () => {
  let t: TestApp | undefined;
  afterEach(async () => t?.close());

  async function adminApp(): Promise<{
    app: TestApp['app'];
    headers: Record<string, string>;
    adminId: string;
  }> {
    t = await createTestApp();
    const admin = await seedUser(t, { isAdmin: true, email: 'field-admin@example.test' });
    return {
      app: t.app,
      headers: bearer((await login(t.app, 'field-admin@example.test')).access_token),
      adminId: admin.id,
    };
  }

  it('POST /v1/clients with a past expires_at names expires_at', async () => {
    const { app, headers } = await adminApp();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/clients',
      headers,
      payload: { name: 'c', scopes: ['x:read'], expires_at: '2020-01-01T00:00:00Z' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      code: 'validation_failed',
      field: expect.stringMatching(/(^|\.)expires_at$/),
    });
  });

  it('POST /v1/clients with a leap-second expires_at names expires_at', async () => {
    const { app, headers } = await adminApp();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/clients',
      headers,
      payload: { name: 'c', scopes: ['x:read'], expires_at: '2030-06-30T23:59:60Z' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      code: 'validation_failed',
      field: expect.stringMatching(/(^|\.)expires_at$/),
    });
  });

  it('POST /v1/clients with a scope that is not resource:action names scopes', async () => {
    const { app, headers } = await adminApp();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/clients',
      headers,
      payload: { name: 'c', scopes: ['reports'] },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      code: 'validation_failed',
      field: expect.stringMatching(/(^|\.)scopes(\.\d+)?$/),
    });
  });

  it('POST /v1/keys with a leap-second expires_at names expires_at (as a past one already does)', async () => {
    const { app, headers, adminId } = await adminApp();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/keys',
      headers,
      payload: { name: 'k', owner_id: adminId, permissions: ['x:read'], expires_at: '2030-06-30T23:59:60Z' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      code: 'validation_failed',
      field: expect.stringMatching(/(^|\.)expires_at$/),
    });
  });
});
