import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import type { AuditLog } from '../../src/audit/audit-recorder.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { testAuditLog } from './helpers.js';

/**
 * Sampling records the first event of each kind from each address in a window. When that
 * event's commit fails (a database blip), the window is not spent: the next event of the key is
 * recorded, and it counts the lost one and those suppressed meanwhile in `suppressed_since_last`.
 */
describeEachDatabase('audit sampling after a failed commit', (dialect) => {
  let storage: Storage & { url: string };
  let log: AuditLog;
  let clock: number;
  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    clock = Date.parse('2026-01-01T00:00:00Z');
    log = testAuditLog(storage, { now: () => clock });
  });
  afterEach(async () => {
    await log.close().catch(() => undefined);
    await storage.close();
  });

  const headAway = () =>
    storage.db.updateTable('audit_chain_head').set({ id: 'away' }).where('id', '=', 'head').execute();
  const headBack = () =>
    storage.db.updateTable('audit_chain_head').set({ id: 'head' }).where('id', '=', 'away').execute();
  const stored = async (action: string) =>
    (
      await storage.db
        .selectFrom('audit_events')
        .select('details')
        .where('action', '=', action)
        .orderBy('seq')
        .execute()
    ).map((row) => JSON.parse(row.details ?? 'null') as Record<string, unknown>);

  const unknownKey: AuditEventInput = {
    action: 'apikey.verification_denied',
    actor: 'anonymous',
    entity_type: 'api_key',
    outcome: 'denied',
    ip: '203.0.113.9',
    details: { code: 'not_found', via: 'credential' },
  };

  it('records the next refused credential of the same key when the first one could not be committed', async () => {
    await headAway();
    await expect(log.record(unknownKey)).rejects.toMatchObject({ code: 'audit_unavailable' });
    await headBack();
    clock += 1000;
    await log.record(unknownKey);
    clock += 1000;
    await log.record(unknownKey); // within the window of the recorded one: counted, not stored
    const rows = await stored('apikey.verification_denied');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ suppressed_since_last: 1 });
  });

  it('carries the count of events suppressed before the lost one, and after it', async () => {
    await log.record(unknownKey);
    clock += 1000;
    await log.record(unknownKey);
    await log.record(unknownKey);
    clock += 60_000;
    await headAway();
    await expect(log.record(unknownKey)).rejects.toMatchObject({ code: 'audit_unavailable' }); // carried 2
    await headBack();
    clock += 1000;
    await log.record(unknownKey);
    const rows = await stored('apikey.verification_denied');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ suppressed_since_last: 3 });
  });

  it('same for rate-limit blocks', async () => {
    const block: AuditEventInput = {
      action: 'ratelimit.blocked',
      actor: 'anonymous',
      outcome: 'denied',
      ip: '203.0.113.9',
      details: { route: '/v1/x' },
    };
    await headAway();
    await expect(log.record(block)).rejects.toMatchObject({ code: 'audit_unavailable' });
    await headBack();
    clock += 1000;
    await log.record(block);
    expect(await stored('ratelimit.blocked')).toHaveLength(1);
  });
});
