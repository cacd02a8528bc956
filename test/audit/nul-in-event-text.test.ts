import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuditLog } from '../../src/audit/audit-recorder.js';
import { verifyChain } from '../../src/audit/audit-verify.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { CHECKPOINT_KEY, sampleEvent, testAuditLog } from './helpers.js';

/**
 * U+0000 in an event's text is stored as U+FFFD on both databases (PostgreSQL refuses NUL in
 * text), before the event is hashed. Group commit writes a batch in one transaction, so one
 * such event would otherwise fail every other caller's event that shared its 2 ms.
 */
describeEachDatabase('one event cannot take its batch down', (dialect) => {
  let storage: Storage & { url: string };
  let log: AuditLog;
  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    log = testAuditLog(storage);
  });
  afterEach(async () => {
    await log.close().catch(() => undefined);
    await storage.close();
  });

  it('an event queued beside one with U+0000 in a column is committed, on both databases', async () => {
    const results = await Promise.allSettled([
      log.record(sampleEvent(1, { entity_id: 'a\u0000b' })),
      log.record(sampleEvent(2, { entity_id: 'innocent' })),
    ]);
    expect(results[1]?.status).toBe('fulfilled');
    const stored = await storage.db.selectFrom('audit_events').select('entity_id').where('entity_id', '=', 'innocent').execute();
    expect(stored).toHaveLength(1);
    expect(await verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY })).toMatchObject({ valid: true });
  });

  it('an event with U+0000 in a column is stored with U+FFFD in its place, on both databases', async () => {
    await log.record(sampleEvent(1, { entity_id: 'a\u0000b', user_agent: 'ua\u0000x' }));
    const row = await storage.db.selectFrom('audit_events').select(['entity_id', 'user_agent']).executeTakeFirstOrThrow();
    expect(row).toEqual({ entity_id: 'a\uFFFDb', user_agent: 'ua\uFFFDx' });
    expect(await verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY })).toMatchObject({ valid: true, checked_events: 1 });
  });
});
