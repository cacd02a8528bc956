import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { tapAudit } from '../helpers/audit-tap.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { insertTestUser } from '../helpers/users.js';

/**
 * Revoking a key that is already revoked changes nothing: `revoked_at` stays the first
 * revocation's, and the trail does not show a second revocation by a second actor at a later
 * time. The repeat is recorded as one (`details.repeat`), so a retry after a failed audit write
 * still leaves a trace.
 */
describeEachDatabase('revoking an already revoked API key over HTTP', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp({ dialect });
  });
  afterEach(async () => t.close());

  it('answers without recording a second apikey.revoked event or moving revoked_at', async () => {
    const db = t.context.storage.db;
    const owner = await insertTestUser(db, { isAdmin: true });
    const service = (t.context.apiKeys as ApiKeys).service;
    const first = (
      await service.create(
        { name: 'first-responder', ownerId: owner, permissions: ['keys:*'] },
        { actor: 'system' },
      )
    ).key;
    const second = (
      await service.create(
        { name: 'second-caller', ownerId: owner, permissions: ['keys:*'] },
        { actor: 'system' },
      )
    ).key;
    const target = (
      await service.create({ name: 'leaked', ownerId: owner, permissions: [] }, { actor: 'system' })
    ).record;
    const events = tapAudit(t);

    const revoked = await t.app.inject({
      method: 'POST',
      url: `/v1/keys/${target.id}/revoke`,
      headers: { 'x-api-key': first },
    });
    expect(revoked.statusCode).toBe(200);
    const revokedAt = revoked.json<{ revoked_at: string }>().revoked_at;

    const again = await t.app.inject({
      method: 'DELETE',
      url: `/v1/keys/${target.id}`,
      headers: { 'x-api-key': second },
    });
    expect(again.statusCode).toBe(200);

    const revokedEvents = events.filter(
      (e) => e.action === 'apikey.revoked' && e.entity_id === target.id && e.outcome === 'success',
    );
    expect(revokedEvents.map((e) => e.details)).toEqual([
      { owner_id: owner, prefix: target.prefix },
      { owner_id: owner, prefix: target.prefix, repeat: true },
    ]);
    expect(again.json<{ revoked_at: string }>().revoked_at).toBe(revokedAt);
  });
});
