import { afterEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { basic, FORM, seedClient } from './oauth-helpers.js';

/**
 * A rotated-away API key stops at the end of its grace period. Introspection's `exp` (RFC 7662:
 * resource servers may cache an active answer until then) and `/v1/keys/verify`'s `expires_at`
 * (gateways cache it too) say when the key stops working: the earlier of its own expiry and the
 * end of its grace, never "no expiry" or the later date.
 */
describeEachDatabase('the end of an API key in its rotation grace period', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  it.each([
    ['a key that never expires', undefined],
    ['a key that expires in 90 days', 90 * 86_400_000],
  ])('is reported by introspection and by /v1/keys/verify (%s)', async (_label, expiresInMs) => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['tokens:introspect']);
    const apiKeys = t.context.apiKeys!;
    const created = await apiKeys.service.create(
      {
        name: 'ci',
        ownerId: c.ownerId,
        permissions: ['keys:read'],
        ...(expiresInMs === undefined ? {} : { expiresAt: Date.now() + expiresInMs }),
      },
      { actor: 'system' },
    );
    const gateway = await apiKeys.service.create(
      { name: 'gw', ownerId: c.ownerId, permissions: ['keys:verify'] },
      { actor: 'system' },
    );
    const before = Date.now();
    await apiKeys.service.rotate(created.record.id, { actor: 'system' }, { graceMs: 60_000 });
    const graceEnd = Date.now() + 60_000;

    const introspected = await t.app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { ...FORM, authorization: basic(c.clientId, c.secret) },
      payload: new URLSearchParams({ token: created.key }).toString(),
    });
    const body = introspected.json();
    expect(body.active).toBe(true);
    expect(typeof body.exp).toBe('number');
    expect(body.exp).toBeLessThanOrEqual(Math.ceil(graceEnd / 1000));
    expect(body.exp).toBeGreaterThanOrEqual(Math.floor((before + 60_000) / 1000));

    const verified = await t.app.inject({
      method: 'POST',
      url: '/v1/keys/verify',
      headers: { 'x-api-key': gateway.key },
      payload: { key: created.key },
    });
    expect(verified.json()).toMatchObject({ valid: true });
    const expiresAt = Date.parse(verified.json().expires_at);
    expect(expiresAt).toBeLessThanOrEqual(graceEnd);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 60_000);
  });

  it('reports the key own expiry when it comes before the end of the grace', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['tokens:introspect']);
    const apiKeys = t.context.apiKeys!;
    const expiresAt = Date.now() + 30_000;
    const created = await apiKeys.service.create(
      { name: 'ci', ownerId: c.ownerId, permissions: ['keys:read'], expiresAt },
      { actor: 'system' },
    );
    await apiKeys.service.rotate(created.record.id, { actor: 'system' }, { graceMs: 3_600_000 });
    const introspected = await t.app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { ...FORM, authorization: basic(c.clientId, c.secret) },
      payload: new URLSearchParams({ token: created.key }).toString(),
    });
    expect(introspected.json()).toMatchObject({ active: true, exp: Math.floor(expiresAt / 1000) });
  });
});
