import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { insertUser } from './fixtures.js';
import { tapAudit } from '../helpers/audit-tap.js';

// A revoked key stays revoked whatever its enabled flag; answering 200 to enabling one (and
// setting the flag) said otherwise.
describeEachDatabase('a revoked key can be neither enabled nor disabled', (dialect) => {
  let t: TestApp;
  let keys: ApiKeys;
  let owner: string;
  let operator: Record<string, string>;
  let audited: AuditEventInput[];

  beforeEach(async () => {
    t = await createTestApp({ dialect });
    keys = t.context.apiKeys as ApiKeys;
    const admin = await insertUser(t.context.storage.db, { admin: true });
    operator = { 'x-api-key': (await keys.service.create({ name: 'root', ownerId: admin, permissions: ['*:*'] }, { actor: 'system' })).key };
    owner = await insertUser(t.context.storage.db);
    audited = tapAudit(t);
  });
  afterEach(async () => t.close());

  const patch = (id: string, enabled: boolean) => t.app.inject({ method: 'PATCH', url: `/v1/keys/${id}`, headers: operator, payload: { enabled } });
  const updates = () => audited.filter((e) => e.action === 'apikey.updated');

  it('answers 409 conflict to enabling or disabling a revoked key, changes nothing and records no update', async () => {
    const enabled = await keys.service.create({ name: 'enabled', ownerId: owner, permissions: [] }, { actor: 'system' });
    const disabled = await keys.service.create({ name: 'disabled', ownerId: owner, permissions: [] }, { actor: 'system' });
    await keys.service.setEnabled(disabled.record.id, false, { actor: 'system' });
    for (const issued of [enabled, disabled]) await keys.service.revoke(issued.record.id, { actor: 'system' });
    const before = await Promise.all([enabled, disabled].map(async (k) => keys.service.get(k.record.id)));
    audited.length = 0;

    for (const [issued, flag] of [
      [enabled, true],
      [enabled, false],
      [disabled, true],
      [disabled, false],
    ] as const) {
      const res = await patch(issued.record.id, flag);
      expect(res.statusCode, `${issued.record.name} → enabled: ${flag}`).toBe(409);
      expect(res.json()).toMatchObject({ code: 'conflict', detail: 'The key is revoked; a revoked key cannot be enabled or disabled' });
    }
    expect(await Promise.all([enabled, disabled].map(async (k) => keys.service.get(k.record.id)))).toEqual(before);
    expect(updates()).toEqual([]);
    expect(await keys.verifier.verify(enabled.key)).toMatchObject({ valid: false, code: 'revoked' });
  });

  it('counts a rotated key as revoked once its grace period is over, but not during it', async () => {
    const rotatedAtOnce = await keys.service.create({ name: 'at-once', ownerId: owner, permissions: [] }, { actor: 'system' });
    await keys.service.rotate(rotatedAtOnce.record.id, { actor: 'system' }, { graceMs: 0 });
    expect((await patch(rotatedAtOnce.record.id, false)).json()).toMatchObject({ status: 409, code: 'conflict' });

    // Still working for an hour: disabling it cuts the grace period short, as it always did.
    const rotating = await keys.service.create({ name: 'rotating', ownerId: owner, permissions: [] }, { actor: 'system' });
    await keys.service.rotate(rotating.record.id, { actor: 'system' }, { graceMs: 3_600_000 });
    audited.length = 0;
    const res = await patch(rotating.record.id, false);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'disabled' });
    expect(updates()).toEqual([expect.objectContaining({ outcome: 'success', entity_id: rotating.record.id })]);
  });
});
