import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuditLog } from '../../src/audit/audit-recorder.js';
import { verifyChain } from '../../src/audit/audit-verify.js';
import { GENESIS_HASH } from '../../src/audit/canonical-form.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { CHECKPOINT_KEY, sampleEvent, testAuditLog } from './helpers.js';

/**
 * A head reset to its untouched genesis shape (seq 0, zero hash, checkpoint 0, unsigned) while
 * checkpoints remain is not a new log: the next append pins it in an `unverified` mark chained
 * onto the newest stored checkpoint, so recording goes on (checkpoints included) instead of
 * colliding with the stored checkpoint numbers at the first periodic checkpoint.
 */
describeEachDatabase('audit genesis-shaped head reset with checkpoints left', (dialect) => {
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

  it('keeps recording (with an unverified mark) instead of failing every batch after the first checkpoint', async () => {
    for (let i = 0; i < 5; i += 1) await log.record(sampleEvent(i));
    await log.checkpoint();
    // Events emptied and the head put back to the genesis shape; the checkpoints are left.
    await storage.db.deleteFrom('audit_events').execute();
    await storage.db
      .updateTable('audit_chain_head')
      .set({ seq: 0, hash: GENESIS_HASH, checkpoint_ordinal: 0, checkpoint_signature: null, signature: null })
      .where('id', '=', 'head')
      .execute();

    await log.record(sampleEvent(10));
    clock += 61_000; // the next batch carries the periodic checkpoint
    const outcomes: string[] = [];
    for (let i = 11; i < 14; i += 1)
      outcomes.push(
        await log.record(sampleEvent(i)).then(
          () => 'ok',
          (e: { code?: string }) => String(e.code),
        ),
      );
    expect(outcomes).toEqual(['ok', 'ok', 'ok']);
    // And the reset stays visible.
    expect((await verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY })).valid).toBe(false);
  });
});
